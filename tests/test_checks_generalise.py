"""Issue 14: checks that hold on phrasing nobody tuned them on.

The learned defensive layer (bot/checks/defensive_stance.py), apologies without 'sorry', next
steps with a time window or chat spellings. Sentences here are written for the tests, not taken
from the held-out set.
"""
from __future__ import annotations

import json

import pytest

from bot.checks import assess_reply, defensive
from bot.checks.defensive_stance import MODEL_PATH, clause_features, load_model
from bot.nlp import get_nlp


def _defensive(reply: str, **kw) -> dict:
    return assess_reply(reply, **kw)["defensive"]


def test_the_model_file_says_where_it_came_from_and_loads():
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert "checks_dev.jsonl" in data["_source"] and "train_defensive" in data["_source"]
    model = load_model()
    assert model is not None and model.kinds and "bias" in model.weights


@pytest.mark.parametrize(
    "reply",
    [
        "Most of our customers manage the set-up on their own.",
        "Honestly, the old phone was probably the issue all along.",
        "The waiter was only following the kitchen's instructions that night.",
        "Frankly that part of the process is not down to me.",
    ],
)
def test_learned_layer_catches_defences_no_pattern_names_and_quotes_the_clause(reply):
    doc = get_nlp()(reply)
    assert not defensive.flagged(doc, None)  # the lexicon alone misses it
    verdict = _defensive(reply)
    assert verdict["found"] is True
    assert verdict["evidence"] == [reply]
    assert all(e in reply for e in verdict["evidence"])
    assert verdict["kind"]  # the kind of defence is named
    assert verdict["tip"] and "take ownership" in verdict["tip"]


@pytest.mark.parametrize(
    "reply",
    [
        "I'm so sorry the engineer never came. I've booked a new visit for Friday between 8 and 10.",
        "Please don't apologise, you've every reason to be upset.",
        "Our engineers work weekdays from 8 till 6. Which morning suits you?",
        "Hi Tomasz, thanks for waiting. What does the router light show right now?",
    ],
)
def test_learned_layer_leaves_owned_and_neutral_replies_alone(reply):
    assert _defensive(reply)["found"] is False


@pytest.mark.parametrize(
    "reply",
    [
        # a limit stated and worked round in the same or the next sentence is no wall
        "We can't send anyone out on a Sunday, but I can book you the first visit on Monday at 8.",
        "The blue model is sold out until March, I'm afraid, so I've reserved the grey one for you.",
        "Saturday slots are all gone, I'm afraid. I can get an engineer to you Monday at 8.",
        # reassurance to a customer who apologised or worried, siding with them against a letter
        "Don't be sorry at all, you asked exactly the right thing.",
        "No, none of your contacts will be lost, the new phone copies them over.",
        "Honestly, that letter would confuse anybody. I'll read it through with you now.",
    ],
)
def test_limits_worked_round_and_reassurance_are_not_defences(reply):
    assert _defensive(reply)["found"] is False


@pytest.mark.parametrize(
    "reply",
    [
        "We can't send anyone out on a Sunday, those are the rules.",
        "to be fair u did tick the box saying youd read the terms",
        "I'm sorry, but the chef has cooked that dish the same way for ten years.",
        "The technician says he rang the bell twice, so he must have been there.",
        # 'I can see ...' is no offer: the wall stands
        "We can't refund a meal that was eaten. I can see why you're upset though.",
    ],
)
def test_walls_blame_and_records_without_an_offer_are_defences(reply):
    verdict = _defensive(reply)
    assert verdict["found"] is True and verdict["kind"]
    assert all(e in reply for e in verdict["evidence"])


def test_the_parse_features_say_whether_the_agent_acts_around_a_negation():
    doc = get_nlp()("We don't open on Sundays. I'll call you on Monday at 9.")
    first, second = list(doc.sents)
    assert {"neg", "offer_next", "neg_offer"} <= set(clause_features(first))
    assert "offer_here" in clause_features(second)
    wall = get_nlp()("We don't open on Sundays, that's the rule.")
    assert not {"offer_here", "offer_next", "neg_offer"} & set(clause_features(next(iter(wall.sents))))


def test_a_learned_verdict_names_the_clause_not_the_whole_reply():
    reply = "Thanks for your patience. Most of our customers manage the set-up on their own."
    verdict = _defensive(reply)
    assert verdict["found"] is True
    assert verdict["evidence"] == ["Most of our customers manage the set-up on their own."]


def test_an_explanation_acted_on_is_not_a_learned_defence():
    # the same excuse with a fix in its sentence, or with the failure owned, is an explanation
    assert _defensive("The courier lost it, so I've just sent a replacement by express.")["found"] is False
    assert _defensive("That's on us. Our warehouse team were short-staffed that week.")["found"] is False


def test_fast_clause_score_equals_the_sum_over_its_features():
    from bot.checks.defensive_stance import clauses

    model = load_model()
    doc = get_nlp()("sry but ur router is the problem tbh. we dont cover that, its in the terms.")
    for span in clauses(doc):
        assert model.score_clause(span) == pytest.approx(model.score(clause_features(span)))


def test_features_come_from_the_parse_without_a_second_parse():
    doc = get_nlp()("You should have ordered sooner.")
    feats = clause_features(next(iter(doc.sents)))
    assert "subj:you" in feats and "modal:should" in feats and "subj_modal:you|should" in feats


@pytest.mark.parametrize(
    "reply",
    ["We got this one wrong and I feel awful about it.", "My mistake entirely, I read the wrong account.",
     "im gutted this happened to u", "Please forgive us, that should never have happened."],
)
def test_regret_without_sorry_is_an_apology(reply):
    assert assess_reply(reply)["apology"]["found"] is True


@pytest.mark.parametrize("reply", ["It was not my mistake.", "You must feel awful.", "There's no need to forgive anyone."])
def test_no_apology_without_first_person_regret(reply):
    assert assess_reply(reply)["apology"]["found"] is False


@pytest.mark.parametrize(
    "reply",
    ["Expect the courier between 9 and 11 tomorrow.", "will ring u tmrw am with the slot", "ur refund goes out 2day",
     "You can expect an email from me this afternoon."],
)
def test_next_step_with_a_time_window_or_chat_spellings(reply):
    assert assess_reply(reply)["next_step"]["found"] is True


@pytest.mark.parametrize("reply", ["Expect delays this week.", "Will do, thanks!", "Will you call me tomorrow?",
                                   "If it drops again, expect a call from us tomorrow."])
def test_no_next_step_without_a_delivery_or_a_promise(reply):
    assert assess_reply(reply)["next_step"]["found"] is False


def test_chat_spellings_are_read_as_words_and_quoted_as_typed():
    reply = "sry abt that dana, ill have it sorted - will call u tmrw b4 10am"
    out = assess_reply(reply, customer_name="Dana Whitfield")
    assert out["apology"]["found"] is True and out["apology"]["evidence"][0].startswith("sry")
    assert out["next_step"]["found"] is True
    assert all(e in reply for check in out.values() for e in check["evidence"])


@pytest.mark.parametrize("reply", ["The U.S. store ships it.", "Your UR-12 router is on its way.", "Take an umbrella."])
def test_chat_spellings_leave_other_words_alone(reply):
    from bot.checks._text import clean

    assert clean(reply).text == reply


@pytest.mark.parametrize(
    "reply",
    ["engineer booked for fri 2-4pm", "removing it now and refunding both months today",
     "A new camera is being sent by express tonight.", "The 320-dollar quote is cancelled as of now."],
)
def test_next_step_in_chat_shorthand_and_the_present_passive(reply):
    assert assess_reply(reply)["next_step"]["found"] is True


@pytest.mark.parametrize(
    "reply",
    ["Refunds go back to the original card and usually show in 3 to 5 working days.",
     "so the camera, ordered on the 5th, tracking says delivered but it never reached you.",
     "The engineer booked for Tuesday never came."],
)
def test_no_next_step_in_a_timetable_or_a_record(reply):
    assert assess_reply(reply)["next_step"]["found"] is False


def test_a_detail_used_in_a_learned_defence_is_no_restatement():
    """'Other Nimbus X2 owners haven't reported charging faults ...': the customer's details,
    used against them; no pattern names it, the learned layer does."""
    customer = "My new Nimbus X2 stopped charging after two days and you refused the warranty."
    reply = "Other Nimbus X2 owners haven't reported charging faults, so it's unlikely to be a manufacturing issue."
    out = assess_reply(reply, customer_message=customer)
    assert out["defensive"]["found"] is True
    assert out["active_listening"]["found"] is False


def test_a_learned_verdict_names_its_kind_in_a_sentence():
    verdict = _defensive("Frankly that part of the process is not down to me.")
    lex = json.loads((MODEL_PATH.parent.parent / "lexicons" / "defensive.json").read_text(encoding="utf-8"))
    assert verdict["tip"].startswith("'Frankly that part of the process is not down to me' reads as ")
    assert any(f" reads as {phrase}; take ownership instead: '" in verdict["tip"] for phrase in lex["kind_phrases"].values())
