"""Issue 14, after round 9: what the parse says about a defence's turn.

A concession turned against the complaint ('though', 'to be fair'), a question about the
customer's own handling, an accusation reported in order to condemn it, an availability limit
followed by the earliest slot, a disowning 'not us'. Sentences here are written for the tests,
not taken from the development or any held-out set.
"""
from __future__ import annotations

import pytest

from bot.checks import assess_reply, defensive
from bot.checks.defensive_stance import clause_features, clauses, offers_action
from bot.nlp import get_nlp


def _labels(reply: str) -> list:
    return [m.label for m in defensive.flagged(get_nlp()(reply), None)]


def _defensive(reply: str) -> dict:
    return assess_reply(reply)["defensive"]


@pytest.mark.parametrize(
    "reply",
    [
        "Saying you should have read the terms was rude of him, and I apologise.",
        "I'm sorry anyone suggested it was your fault.",
        "I shouldn't have said you should have checked the box, that was wrong of me.",
    ],
)
def test_an_accusation_reported_to_condemn_it_is_no_blame(reply):
    assert "BLAME" not in _labels(reply)


@pytest.mark.parametrize(
    "reply",
    ["You should have read the terms.", "Sorry, but that was your fault.", "I'm sorry, but you should have checked the box."],
)
def test_the_same_blame_said_outright_is_still_flagged(reply):
    assert "BLAME" in _labels(reply)


def test_a_question_for_information_is_not_a_question_about_the_customers_memory():
    assert _labels("Do you remember the order number?") == []
    assert _labels("Did you remember to charge it first?") == ["BLAME"]


def test_a_refund_timetable_is_not_a_deferral():
    assert _labels("Refunds usually show within five days.") == []
    assert "STONEWALL" in _labels("Parcels usually turn up within a day or two.")


def test_a_limit_followed_by_the_earliest_slot_is_worked_round():
    assert _defensive("We're fully booked on Friday, so the earliest I have is Monday at 10.")["found"] is False
    assert _defensive("We're fully booked on Friday.")["found"] is True


def test_disowning_the_failure_is_not_excused_by_an_action():
    verdict = _defensive("I'll chase it today, as that's the airline's mistake, not ours.")
    assert verdict["found"] is True and verdict["kind"] == "deflection"


@pytest.mark.parametrize(
    ("sentence", "offers"),
    [
        ("want me to book it?", True),
        ("Would you like me to hold one for you?", True),
        ("If it happens again just give us a call.", True),
        ("The earliest slot is Thursday.", True),
        ("We can't prove it either way.", False),
        ("We'll need you to send the receipt.", False),
    ],
)
def test_offers_read_from_the_parse(sentence, offers):
    sent = clauses(get_nlp()(sentence))[0]
    assert offers_action(sent) is offers


def test_a_question_about_the_customers_handling_and_a_concession_are_features():
    asked = clause_features(clauses(get_nlp()("did you plug it in properly?"))[0])
    assert {"q_you", "q_you_did", "q_you_adv"} <= set(asked)
    plain = clause_features(clauses(get_nlp()("What colour is the light?"))[0])
    assert not {"q_you", "q_you_did", "q_you_adv"} & set(plain)
    conceded = clause_features(clauses(get_nlp()("Chargers do fail now and then tho."))[0])
    assert "concessive" in conceded and "concessive_subj:N:charger" in conceded


@pytest.mark.parametrize(
    "reply",
    [
        "Batteries do drain quicker in the cold though.",
        "did u charge it overnight like the guide says tho?",
        "In fairness, a few pence a month is hardly going to break the bank.",
    ],
)
def test_the_learned_layer_reads_a_turn_against_the_customer(reply):
    verdict = _defensive(reply)
    assert verdict["found"] is True, verdict
    assert verdict["evidence"] and all(e in reply for e in verdict["evidence"])


@pytest.mark.parametrize(
    "reply",
    [
        "Though it was our error, I've already put the refund through.",
        "The activation takes an hour, which is why there's no signal yet - it'll come on by itself.",
        "it shouldn't drop again, but if it does just message us and we'll look at it",
    ],
)
def test_a_concession_or_an_explanation_that_helps_is_left_alone(reply):
    assert _defensive(reply)["found"] is False
