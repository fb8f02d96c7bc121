"""A customer for a scenario without hand-written lines (bot/scenario_composer.py): composed from
the persona's phrasing and the facts, passing the same rules; hand-written lines win."""
from __future__ import annotations

import pytest

from bot import simulation
from bot.scenario_composer import templates, with_composed_lines
from bot.scenarios import MIN_VARIANTS, PERSONAS, SITUATIONS, parse_document
from tests.test_scenario_store import new_document


def test_the_templates_cover_every_situation_and_persona():
    data = templates()
    assert list(data["replies"]) == list(SITUATIONS)
    for group in [*data["replies"].values(), data["unanswerable"], data["reminders"]]:
        for persona in PERSONAS:
            assert len(group[persona]) >= MIN_VARIANTS


def test_composed_lines_pass_the_rules_and_name_the_case():
    scenario, problems = parse_document(new_document())
    assert problems == []
    # Every composed unanswerable line names the case (the rule would refuse it otherwise).
    assert all("laptop" in line or "restarted" in line or "vela" in line.lower()
               for persona in PERSONAS for line in scenario.unanswerable.for_persona(persona))
    assert not any("{" in line for s in SITUATIONS for p in PERSONAS for line in scenario.lines(s, p))


def test_hand_written_lines_win_and_other_situations_are_composed():
    document = new_document()
    mine = ["You're blaming me? Unbelievable.", "My fault? Really?", "I did nothing wrong with the laptop."]
    document["replies"] = {"after_blame": {"angry": mine}}
    scenario, problems = parse_document(document)
    assert problems == []
    assert scenario.lines("after_blame", "angry") == mine
    assert scenario.lines("after_blame", "dispassionate") == [
        line.format(topic="laptop") for line in templates()["replies"]["after_blame"]["dispassionate"]
    ]


def test_too_few_hand_written_lines_are_still_an_error():
    document = new_document()
    document["replies"] = {"after_blame": {"angry": ["Only one line."]}}
    _, problems = parse_document(document)
    assert ("replies.after_blame.angry", "ensure this value has at least 3 items") in problems


def test_a_document_without_facts_is_left_as_it_is():
    assert with_composed_lines({"id": "x"}) == {"id": "x"}
    _, problems = parse_document({"id": "x"})
    fields = {field.split(".")[0] for field, _ in problems}
    assert "facts" in fields and not fields & {"replies", "unanswerable", "reminders"}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_composed_customer_holds_a_conversation(persona, monkeypatch):
    """A whole conversation with a scenario of no written lines: every answer is a composed line."""
    from bot import scenarios

    scenario, _ = parse_document(new_document())
    monkeypatch.setattr(scenarios, "resolve", lambda ref, version=None, engine=None: (scenario, None))
    monkeypatch.setattr(simulation, "resolve", lambda ref, version=None, engine=None: (scenario, None))
    monkeypatch.setattr(simulation, "scenario_of", lambda state: scenario)
    state = simulation.start_session("gym_membership_cancel", persona, "coach")
    answers = []
    for reply in ("Hello, I'm sorry about this.", "What colour is the laptop?", "It's your fault really."):
        result = simulation.take_turn(state, reply)
        answers.append(result.customer_text)
        if result.ended:
            break
    assert all(answers) and len(set(answers)) == len(answers)
    # The question the facts cannot answer gets a composed line about the case.
    assert any(line in answers[1] for line in scenario.unanswerable.for_persona(persona)), answers[1]
