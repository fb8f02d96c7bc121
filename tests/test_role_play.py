"""The simulated customer over the REST protocol, in every scenario and both personas.

A skilled trainee (greets, restates with the customer's details, apologises, gives a timed
next step, thanks) resolves every scenario; a defensive one is left; the mood moves the way a
person's would after each kind of reply; a broken promise is remembered and scored.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from bot.rasa_client import END_COMMAND, RasaRestClient, start_command
from bot.scenarios import PERSONAS, list_scenarios

pytestmark = pytest.mark.e2e
texts, payloads = RasaRestClient.texts, RasaRestClient.payloads
SCRIPTS = yaml.safe_load((Path(__file__).parent / "data" / "role_play_scripts.yml").read_text(encoding="utf-8"))
SCENARIOS = {s.id: s for s in list_scenarios()}


def test_every_scenario_has_a_skilled_script():
    assert set(SCRIPTS["skilled"]) == set(SCENARIOS)


def skilled_lines(scenario_id):
    first = SCENARIOS[scenario_id].customer.name.split()[0]
    script = SCRIPTS["skilled"][scenario_id]
    return [
        f"Hi {first}, thank you for getting in touch, and I'm so sorry about all of this.",
        script["restate"],
        script["plan"],
        f"Thank you for your patience, {first}.",
    ]


def play(assistant, scenario_id, persona, lines, mode="coach"):
    client = RasaRestClient(assistant["rasa_url"], sender=f"roleplay-{uuid.uuid4().hex[:10]}", var_dir=assistant["settings"].var_dir)
    opening = client.send(start_command(scenario_id, persona, mode))
    (started,) = payloads(opening, "session_started")
    moods, said, card = [started["mood"]], list(texts(opening)), None
    for line in lines:
        answer = client.send(line)
        said.extend(texts(answer))
        feedback = payloads(answer, "feedback")
        if feedback:
            moods.append(feedback[0]["mood"])
        cards = payloads(answer, "scorecard")
        if cards:
            card = cards[0]
            break
    if card is None:
        (card,) = payloads(client.send(END_COMMAND), "scorecard")
    return started, moods, said, card


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("scenario_id", sorted(SCENARIOS))
def test_a_skilled_trainee_resolves_every_scenario(assistant, scenario_id, persona):
    started, moods, said, card = play(assistant, scenario_id, persona, skilled_lines(scenario_id))
    assert card["outcome"] == "resolved", (card["criteria"], said)
    assert card["passed"] is True, card["criteria"]
    assert moods[-1] > moods[0]
    assert len(said) == len(set(said)), "the customer repeated a line"


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("scenario_id", sorted(SCENARIOS))
def test_a_defensive_trainee_is_left_in_every_scenario(assistant, scenario_id, persona):
    started, moods, said, card = play(assistant, scenario_id, persona, SCRIPTS["defensive"])
    assert card["outcome"] in ("churned", "escalated"), (card["outcome"], said)
    assert card["passed"] is False
    assert not card["criteria"]["no_defensive"]["met"]
    assert moods[-1] < moods[0]
    assert len(said) == len(set(said)), "the customer repeated a line"


@pytest.mark.parametrize(
    "reply, direction",
    [
        ("I'm so sorry about the crashes and the calls nobody returned.", +1),
        ("So your Vela 15 crashes with a blue screen every day and nobody called you back?", +1),
        ("I'll book a technician for tomorrow at 9 am and call you by 5 pm today.", +1),
        ("That wasn't my fault.", -1),
        ("Calm down, it's company policy.", -1),
        ("ok", -1),
    ],
)
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_mood_moves_the_expected_way_after_each_kind_of_reply(assistant, persona, reply, direction):
    _, moods, _, _ = play(assistant, "laptop_at_home_service", persona, [reply])
    assert (moods[1] - moods[0]) * direction > 0, moods


def test_blame_angers_the_angry_persona_more():
    # Pure simulation: the same reply, both personas, mood change compared.
    from bot import conversation

    changes = {}
    for persona in PERSONAS:
        state = conversation.start(None, {"scenario": "laptop_at_home_service", "persona": persona, "mode": "coach"}).state
        # From the same mood, so neither change is cut off at 0.
        state["mood"] = state["mood_curve"][0] = before = 60
        conversation.reply(state, "That wasn't my fault, you must have dropped it.")
        changes[persona] = state["mood"] - before
    assert changes["angry"] < changes["dispassionate"] < 0


def test_a_broken_promise_is_remembered_quoted_and_scored(assistant):
    # Calm enough not to leave, not calm enough to accept the plan at once.
    lines = [
        "I'm sorry.",
        "I'll call you by 5 pm today.",
        "Actually I can't call you today after all.",
    ]
    started, moods, said, card = play(assistant, "laptop_at_home_service", "angry", lines)
    assert "I'll call you by 5 pm today" in said[-1], said[-1]
    assert moods[3] < moods[2]
    kept = card["criteria"]["kept_promises"]
    assert kept["met"] is False and "turn 3" in kept["explanation"] and "can't call you today" in kept["explanation"]


def test_questions_about_details_are_answered_from_the_scenario_facts(assistant):
    _, _, said, _ = play(assistant, "unexplained_bill_charge", "dispassionate", ["How much is the charge?"])
    assert "14 dollars" in said[-1]


def test_ignoring_the_customers_question_angers_them():
    from bot import conversation

    moods = {}
    for reply in ("Our systems are very reliable in general.", "The technician is booked for tomorrow at 9 am."):
        state = conversation.start(None, {"scenario": "laptop_at_home_service", "persona": "dispassionate", "mode": "coach"}).state
        state["last_customer_text"] = "Who is going to send a technician, and when?"
        before = state["mood"]
        conversation.reply(state, reply)
        moods[reply] = (state["mood"] - before, state["turns"][-1]["events"])
    ignored, answered = moods.values()
    assert "ignored_question" in ignored[1] and ignored[0] < 0
    assert "ignored_question" not in answered[1]
