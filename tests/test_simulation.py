"""The simulated customer and the scorecard, played without Rasa."""
import pytest

from bot import conversation
from bot.scenarios import PERSONAS

SKILLED = [
    "Hi Dana, thank you for calling, and I'm so sorry about all of this.",
    "So your Vela laptop has crashed with a blue screen every day since it arrived, and nobody called you back after three calls?",
    "I'll book a technician to come to your home tomorrow morning, and I'll call you by 5 pm today to confirm the time.",
    "Thank you for your patience, Dana.",
]
DEFENSIVE = [
    "That wasn't my fault, I only started here last week.",
    "Nobody else has had a problem with that laptop. You must have installed something.",
    "Calm down. There's nothing I can do, it's company policy.",
    "You should have read the terms before you bought it.",
]


def play(lines, persona="angry", scenario="laptop_at_home_service"):
    answer = conversation.start(None, {"scenario": scenario, "persona": persona, "mode": "coach"})
    state, said = answer.state, [answer.messages[0]["text"]]
    for line in lines:
        answer = conversation.reply(state, line)
        said.extend(m["text"] for m in answer.messages if "text" in m)
        if state["outcome"]:
            break
    card = [m["custom"] for m in answer.messages if m.get("custom", {}).get("type") == "scorecard"]
    return state, said, (card[0] if card else conversation.end(state).messages[0]["custom"])


@pytest.mark.parametrize("persona", PERSONAS)
def test_skilled_trainee_resolves_and_passes(persona):
    state, _, card = play(SKILLED, persona)
    assert card["outcome"] == "resolved"
    assert card["passed"] is True, card["criteria"]
    assert card["criteria"]["apology"]["met"] and "turn 1" in card["criteria"]["apology"]["explanation"]
    assert state["mood_curve"][-1] > state["mood_curve"][0]


@pytest.mark.parametrize("persona", PERSONAS)
def test_defensive_trainee_is_left(persona):
    state, said, card = play(DEFENSIVE, persona)
    assert card["outcome"] in ("churned", "escalated")
    assert card["passed"] is False
    assert not card["criteria"]["no_defensive"]["met"]
    assert "Lost at turn 1" in card["criteria"]["no_defensive"]["explanation"]
    assert state["mood_curve"][-1] < state["mood_curve"][0]


@pytest.mark.parametrize(
    "reply, direction",
    [
        ("I'm so sorry about the crashes and the calls nobody returned.", +1),
        ("That wasn't my fault.", -1),
        ("Calm down, it's company policy.", -1),
        ("ok", -1),
    ],
)
def test_mood_moves_with_the_kind_of_reply(reply, direction):
    answer = conversation.start(None, {"scenario": "laptop_at_home_service", "persona": "dispassionate"})
    state = answer.state
    before = state["mood"]
    conversation.reply(state, reply)
    assert (state["mood"] - before) * direction > 0


def test_angry_persona_reacts_more_strongly_to_blame():
    drops = {}
    for persona in PERSONAS:
        state = conversation.start(None, {"scenario": "laptop_at_home_service", "persona": persona}).state
        # The same starting mood for both, away from the floor, so only sensitivity differs.
        state["mood"] = before = 60
        conversation.reply(state, "That's not my department.")
        drops[persona] = before - state["mood"]
    assert drops["angry"] > drops["dispassionate"] > 0


def test_customer_never_repeats_a_line():
    filler = ["ok", "right", "I see", "hmm", "let me check", "one moment", "sure", "alright", "noted", "fine", "yes"]
    state, said, _ = play(filler, "dispassionate")
    assert len(said) == len(set(said)), said


def test_repeated_canned_line_is_called_out():
    state = conversation.start(None, {"scenario": "laptop_at_home_service", "persona": "dispassionate"}).state
    conversation.reply(state, "I understand.")
    conversation.reply(state, "I understand.")
    assert state["turns"][-1]["situation"] == "after_repeat"
    assert "repeat" in state["turns"][-1]["events"]


def test_detail_question_is_answered_from_the_scenario():
    state = conversation.start(None, {"scenario": "laptop_at_home_service", "persona": "dispassionate"}).state
    answer = conversation.reply(state, "When did you buy the laptop, and when did it arrive?")
    assert "March" in answer.messages[0]["text"]


def test_turn_limit_ends_the_conversation():
    state = conversation.start(None, {"scenario": "laptop_at_home_service", "persona": "dispassionate"}).state
    for number in range(40):
        conversation.reply(state, f"Let me see, step {number}.")
        if state["outcome"]:
            break
    assert state["outcome"] in ("churned", "escalated")
    assert state["turn"] <= 12


@pytest.mark.parametrize("choices, code", [
    ({"scenario": "laptop_at_home_service", "persona": "happy"}, "bad_input"),
    ({"scenario": "laptop_at_home_service", "mode": "exam"}, "bad_input"),
    ({"scenario": None}, "unknown_scenario"),
])
def test_bad_start_choices_are_explained(choices, code):
    answer = conversation.start(None, choices)
    assert answer.state is None
    assert answer.messages[0]["custom"]["code"] == code
