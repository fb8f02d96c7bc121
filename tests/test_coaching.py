"""Coaching feedback: one focus with a judged example, praise, and tips only where they help."""
from __future__ import annotations

import pytest

from bot import conversation, session_history
from bot.checks import CHECK_NAMES
from bot.coaching.examples import build_example, judge, scenario_problems
from bot.coaching.rules import focus_order, rules
from bot.coaching.sentences import problem
from bot.scenarios import PERSONAS, SCENARIO_DIR, get_scenario, list_scenarios, load_scenario_file

# Examples the feedback showed trainees before (issue 11). None may ever come out again.
BROKEN_EXAMPLES = [
    "So your Yes has been a problem since ... — have I got that right?",
    "So your idea has been a problem since ... — have I got that right?",
    "So your honestly has been a problem since ... — have I got that right?",
    "So your coming out has been a problem since ... — have I got that right?",
    "I'm sorry you're done being patient.",
    "I'm sorry fourth time you're calling about the same thing.",
]
EVERY_CHECK = [*CHECK_NAMES, "broken_promise"]
SCENARIO_IDS = [s.id for s in list_scenarios()]


@pytest.mark.parametrize("text", BROKEN_EXAMPLES)
def test_broken_examples_are_rejected_as_sentences(text):
    """The examples quoted in issue 11 fail the well-formedness judge."""
    assert problem(text) is not None


@pytest.mark.parametrize("text", [
    "I'm sorry you were charged twice for an add-on you never ordered.",
    "Hi Dana, thank you for calling.",
    "So your laptop has crashed every day since 6 March. Is that right?",
])
def test_good_sentences_pass(text):
    assert problem(text) is None


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_example_passes_its_own_check_and_is_not_defensive(scenario_id, persona):
    scenario = get_scenario(scenario_id)
    for opening in scenario.opening.for_persona(persona)[:1]:
        for check in EVERY_CHECK:
            example = build_example(check, scenario=scenario, customer_message=opening)
            assert example, f"no example for {check} in {scenario_id}"
            assert judge(example, check, scenario=scenario, customer_message=opening) is None
            assert example not in BROKEN_EXAMPLES
            assert "..." not in example and "…" not in example


def test_billing_examples_fit_the_scenario():
    """In the unexplained-charge scenario the next-step example said "I'll book a technician"."""
    scenario = get_scenario("unexplained_bill_charge")
    for check in EVERY_CHECK:
        example = build_example(check, scenario=scenario, customer_message=scenario.opening.angry[0])
        assert "technician" not in example


def test_an_example_shown_before_is_tried_last():
    scenario = get_scenario("laptop_at_home_service")
    first = build_example("apology", scenario=scenario, customer_message=scenario.opening.angry[0])
    second = build_example("apology", scenario=scenario, customer_message=scenario.opening.angry[0], shown_before=[first])
    assert second and second != first


def test_a_model_reply_that_fails_its_check_is_reported(tmp_path):
    path = tmp_path / "laptop_at_home_service.yml"
    scenario = get_scenario("laptop_at_home_service")
    raw = open(SCENARIO_DIR / "laptop_at_home_service.yml", encoding="utf-8").read()
    raw = raw.replace(scenario.model_replies.plan, "We'll see what can be done.")
    path.write_text(raw, encoding="utf-8")
    problems = scenario_problems(load_scenario_file(path))
    assert any("model_replies.plan" in p and "next step" in p for p in problems), problems


def play(scenario_id, replies, persona="angry"):
    """Feedback payloads for `replies`, with the slot as the action server leaves it after each
    turn: the turn stored in our database and dropped from the state (bot.session_history)."""
    answer = conversation.start(None, {"scenario": scenario_id, "persona": persona, "mode": "coach"})
    state = answer.state
    feedback = []
    for text in replies:
        answer = conversation.reply(state, text)
        state = answer.state
        if state.get("turns"):
            state["stored_turns"] = state["turns"][-1]["turn"]
            state = session_history.compact(state)
        feedback.extend(m["custom"] for m in answer.messages if m.get("custom", {}).get("type") == "feedback")
    return feedback


def test_feedback_payload_has_focus_praise_and_checks():
    (fb,) = play("laptop_at_home_service", ["Hello Dana, I'm so sorry about this."])
    assert list(fb) == ["type", "turn", "focus", "praise", "checks", "mood", "mood_change"]
    assert set(fb["focus"]) == {"check", "tip", "example"}
    assert fb["focus"]["check"] == "active_listening"
    praised = {p["check"]: p for p in fb["praise"]}
    assert {"greeting", "apology", "name_use"} <= set(praised)
    assert praised["greeting"]["evidence"] == ["Hello Dana"]
    for name, verdict in fb["checks"].items():
        if verdict["found"] and name not in ("defensive", "jargon", "broken_promise"):
            assert verdict["tip"] is None, name


def test_defensive_is_the_focus_whatever_the_stage():
    fbs = play("unexplained_bill_charge", ["Hi Priya, I'm sorry about this.", "That wasn't my fault."])
    focus = fbs[1]["focus"]
    assert focus["check"] == "defensive"
    assert focus["tip"] == "'That wasn't my fault' reads as a denial; take ownership instead."
    assert "Priya" in focus["example"] and "refund the 28 dollars" in focus["example"]


def test_no_apology_or_name_tip_after_they_were_given():
    """An apology tip right after an apology and a name tip after "Hello Dana" (issue 11)."""
    fbs = play("laptop_at_home_service", [
        "Hello Dana, I'm so sorry about all of this.",
        "So your Vela 15 crashes with a blue screen every day and nobody called you back?",
    ])
    second = fbs[1]["checks"]
    assert second["apology"]["tip"] is None
    assert second["name_use"]["tip"] is None
    assert second["greeting"]["tip"] is None
    assert fbs[1]["focus"]["check"] == "next_step"


def test_plans_come_before_closing_and_closing_after_a_plan():
    fbs = play("unexplained_bill_charge", [
        "Hi Priya, I'm sorry you were charged for an add-on you never ordered.",
        "So the add-on was charged in April and again in May, even after the chat said it would be removed?",
        "I'll remove the add-on today and refund the 28 dollars by Friday.",
    ])
    assert fbs[1]["focus"]["check"] == "next_step"
    assert fbs[2]["focus"] is None or fbs[2]["focus"]["check"] == "thanks"


def test_no_tip_carries_an_example_or_a_fragment():
    """"Good start with 'to confirm'" and e.g. clauses built from the customer's words (issue 11)."""
    fbs = play("laptop_at_home_service", ["To confirm, yes.", "I understand.", "Ok."])
    for fb in fbs:
        for verdict in fb["checks"].values():
            tip = verdict["tip"] or ""
            assert "Good start" not in tip and "e.g." not in tip and "..." not in tip, tip


def test_focus_order_puts_defensive_first_in_every_stage():
    for stage in ("opening", "listening", "planning", "closing"):
        assert focus_order(stage)[:2] == list(rules().first_always)


# ---- the scorecard: what never came up is not applicable, never free points ----

from bot.scoring import build_scorecard, load_rubric  # noqa: E402


def _turn(number, **found):
    checks = {name: {"found": name in found, "evidence": [found[name]] if name in found else [], "tip": None}
              for name in EVERY_CHECK}
    return {"turn": number, "reply": "x", "checks": checks}


def _card(turns, outcome="churned"):
    return build_scorecard({"session_id": "s", "scenario": "x", "persona": "angry", "mode": "coach",
                            "outcome": outcome, "turns": turns, "mood_curve": [20]})


def test_criteria_that_never_came_up_are_not_applicable_and_out_of_the_total():
    """"Kept every promise made 5/5 (met) — None of the 4 replies had it" and free points after
    two replies (issue 11)."""
    card = _card([_turn(1, greeting="Hi Dana", apology="sorry"), _turn(2)])
    for name in ("kept_promises", "no_jargon", "no_defensive"):
        c = card["criteria"][name]
        assert c["applicable"] is False and c["met"] is None and c["points"] == 0
        assert c["explanation"].startswith("Not applicable")
    assert card["applicable_weight"] == 100 - 5 - 3 - 15
    assert card["points"] == 6 + 15
    assert card["score"] == round(100 * 21 / 77)


def test_a_broken_criterion_always_applies():
    card = _card([_turn(1, defensive="not my fault")])
    assert card["criteria"]["no_defensive"]["applicable"] is True
    assert card["criteria"]["no_defensive"]["met"] is False


def test_a_promise_makes_kept_promises_applicable():
    card = _card([_turn(1), _turn(2), _turn(3, next_step="I'll call you by 5 pm")])
    kept = card["criteria"]["kept_promises"]
    assert kept["applicable"] and kept["met"] and kept["points"] == 5
    # Says what was kept, not "None of the 3 replies had it".
    assert kept["explanation"] == "No reply went back on a promise (all 3 replies)."
    assert card["criteria"]["no_jargon"]["applicable"]


def test_criteria_come_in_the_rubric_order():
    card = _card([_turn(1)])
    assert list(card["criteria"]) == [c.name for c in load_rubric().criteria]
    assert list(card["criteria"])[:3] == ["greeting", "name_use", "active_listening"]


def test_a_restatement_that_asks_for_confirmation_gets_no_closed_question_tip():
    (fb,) = play("laptop_at_home_service", ["So your laptop crashes with a blue screen every day and three calls went unanswered?"])
    assert fb["checks"]["active_listening"]["found"]
    assert fb["checks"]["probing_question"]["tip"] is None


def test_a_first_reply_that_listens_and_apologises_is_pointed_at_the_plan():
    (fb,) = play("laptop_at_home_service", [
        "Hello Dana, I'm so sorry your Vela 15 crashes with a blue screen every day and nobody called you back."
    ])
    assert fb["focus"]["check"] == "next_step"
    assert fb["focus"]["example"].startswith("I'll book a technician")


def test_a_remedy_that_is_not_a_verb_phrase_is_named(tmp_path):
    from bot.errors import ScenarioFileError

    source = open(SCENARIO_DIR / "unexplained_bill_charge.yml", encoding="utf-8").read()
    path = tmp_path / "unexplained_bill_charge.yml"
    path.write_text(source.replace('remedy: "remove the add-on', 'remedy: "We remove the add-on'), encoding="utf-8")
    with pytest.raises(ScenarioFileError, match="remedy"):
        load_scenario_file(path)


def test_the_scenarios_check_command_judges_model_replies(tmp_path, capsys):
    from bot.__main__ import scenarios

    source = open(SCENARIO_DIR / "restaurant_bad_visit.yml", encoding="utf-8").read()
    scenario = get_scenario("restaurant_bad_visit")
    (tmp_path / "restaurant_bad_visit.yml").write_text(
        source.replace(scenario.model_replies.apology, "I'm sorry you feel that way."), encoding="utf-8")
    import io
    out = io.StringIO()
    assert scenarios(as_json=False, check=True, directory=tmp_path, stdout=out) == 1
    assert "model_replies.apology" in out.getvalue()
