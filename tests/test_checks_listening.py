"""Issue 14: active_listening on restatements and look-alikes no pattern was written for.

A restatement describes the customer's situation with a concrete detail, in the agent's words;
it is not about the remedy, the future, a general process or people in general (docs/checks.md,
"active_listening"). Sentences here are written for the tests, not taken from the development
or held-out sets.
"""
from __future__ import annotations

import pytest

from bot.checks import assess_reply

LAPTOP = ("I paid extra for at-home service and my laptop has crashed every day since it arrived. "
          "I've called three times and nobody ever called back.")
INTERNET = ("My broadband has been dropping out for a week and I work from home. I lost two client calls, "
            "and the engineer booked for Tuesday never came.")
DINNER = "It was our anniversary. We waited fifty minutes for our mains, they came out cold, and the waiter was rude."
PARCEL = "The tracking says my parcel was delivered on Monday. I checked the porch, the neighbours and the mailroom. Nothing."
BILL = "There's a support add-on on my bill for 12.99 a month that I never ordered. I want it removed."
PHOTOS = "I can't get my new phone working and all my photos are still on the old one. Please don't lose them."


def _listening(reply: str, customer: str) -> dict:
    return assess_reply(reply, customer_message=customer)["active_listening"]


@pytest.mark.parametrize(
    "customer, reply, detail",
    [
        # the situation as the subject, judged by the predicate
        (DINNER, "An anniversary meal that arrived cold after fifty minutes is a miserable way to spend the evening.", "cold"),
        (LAPTOP, "A laptop crashing every day since it arrived, plus three callbacks nobody made, is not what you paid for.", "callbacks"),
        (INTERNET, "Losing client calls all week because the line keeps dropping would wear anyone down.", "client calls"),
        (BILL, "Being billed every month for an add-on you never ordered would annoy anybody.", "billed"),
        (INTERNET, "A week of dropouts and an engineer who never came on Tuesday must be maddening.", "Tuesday"),
        # the clause an apology or an empathy phrase closes
        (PARCEL, "Porch, neighbours and the mailroom all checked and still no parcel, I'm so sorry.", "the mailroom"),
        (DINNER, "Cold mains after a fifty minute wait on your anniversary, that's awful.", "anniversary"),
        (LAPTOP, "Paid extra for home service and three calls with no callback, I'd be furious too.", "callback"),
        # chat register
        (LAPTOP, "3 calls and not 1 callback, thats rubbish sry", "callback"),
        # 'when' opening a clause of a checking question asks nothing
        (INTERNET, "So when you took Tuesday morning off, the engineer never turned up?", "the engineer"),
        # a date in a failure told in the past is one of its details
        ("A chat agent promised me in March that the add-on would go. It's still on my bill.",
         "The chat agent in March should have taken it off and didn't.", "March"),
    ],
)
def test_restatements_without_a_frame_are_found_and_quote_their_detail(customer, reply, detail):
    out = _listening(reply, customer)
    assert out["found"] is True, out
    assert any(detail.lower() in quote.lower() for quote in out["evidence"]), out["evidence"]


@pytest.mark.parametrize(
    "customer, reply",
    [
        # reassurance about the remedy
        (PHOTOS, "Your photos are perfectly safe on the old phone, and nothing we do will touch them."),
        (PHOTOS, "Your photos will stay right where they are on the old phone until they're copied."),
        (PHOTOS, "Your photos stay exactly where they are while we set up the new phone."),
        # a claim about people in general, to a customer who apologised
        (PHOTOS, "Please don't apologise, these setup menus confuse almost everyone."),
        # how a process works
        (PARCEL, "The tracking only updates when the driver scans the parcel at the door."),
        # the agent's plan in chat, with 'I'll' typed without its apostrophe
        (INTERNET, "ill book an engineer for thurs 8-12 and text u the slot by 3"),
        (BILL, "il refund the 12.99 to ur card by fri"),
        # an offer, and the remedy already done
        (DINNER, "A full refund of the meal, or dinner for two on us, whichever you prefer."),
        (BILL, "Good news: the charge is gone, and the 12.99 is on its way back."),
        # a verbless segment with a time the customer never gave is the agent's slot, no echo
        (INTERNET, "A technician at your home on Thursday morning, or a new router by courier."),
        # a definition is still general, even with a customer's word in it
        (PHOTOS, "A backup is a copy of your photos kept somewhere safe."),
        (PHOTOS + " It keeps asking about an eSIM.", "The eSIM is a SIM card inside the phone, so there's no plastic card to lose."),
        (PHOTOS, "Restoring photos from the old phone needs both phones on the same Wi-Fi, or nothing happens."),
    ],
)
def test_remedies_processes_and_general_claims_are_no_restatement(customer, reply):
    assert _listening(reply, customer)["found"] is False


def test_the_tip_for_a_reassurance_still_reads_as_a_sentence():
    out = _listening("Your photos are perfectly safe on the old phone.", PHOTOS)
    tip = out["tip"]
    assert tip and tip[0].isupper() and tip.rstrip("'").endswith(("?", "."))
    assert "Restate" in tip


def test_a_reaction_on_its_own_is_empty_empathy_with_a_tip():
    out = _listening("Honestly, I'd be furious too.", LAPTOP)
    assert out["found"] is False
    assert out["evidence"] == ["I'd be furious too"]
    assert out["tip"].startswith("'I'd be furious too' on its own doesn't show you listened")


def test_a_verbless_echo_of_the_customers_own_deadline_still_listens():
    customer = "It's my son's birthday present and the party is on Sunday."
    out = _listening("The present for your son's party on Sunday.", customer)
    assert out["found"] is True and "your son's party" in out["evidence"]


# Round 9's kinds (issue 14): an apology or owned failure that names what went wrong restates;
# an apology for the agent's own delay, for a pronoun, or for the occasion only does not.
# New sentences, not the round's lines.
TV = ("The engineer was meant to fit my TV bracket on Friday and nobody came. "
      "The driver then left the box with my neighbour, who was away.")
GIFT = "The voucher code for my sister's gift never came, and the shop said to ask you."


@pytest.mark.parametrize(
    "customer, reply, detail",
    [
        # the past event an apology governs, even when its verb reads like a promise ('sent', 'left')
        (TV, "I'm so sorry the driver left the box with your neighbour.", "the driver"),
        (GIFT, "I'm sorry the shop sent you to us with no voucher code.", "the shop"),
        # the clause joined to a closing apology by 'and', with two details and the failure anywhere
        (TV, "Friday's engineer and a box with an absent neighbour, and I'm sorry nobody checked.", "Friday"),
        # what ought to have happened, told in the past of someone else
        (GIFT, "the shop shouldve emailed u the voucher code with the gift, sorry about that", "the voucher code"),
        # the customer as the object of what nobody did
        (TV, "nobody rang u about the engineer and the whole of friday went, im sorry", "the engineer"),
        # what is done to the customer judged wrong with 'shouldn't' is no advice
        (TV, "You shouldn't be made to take another Friday off for the bracket - I'm sorry.", "Friday"),
    ],
)
def test_an_apology_or_owned_failure_naming_what_went_wrong_restates(customer, reply, detail):
    out = _listening(reply, customer)
    assert out["found"] is True, out
    assert any(detail.lower() in quote.lower() for quote in out["evidence"]), out["evidence"]


@pytest.mark.parametrize(
    "customer, reply",
    [
        # the agent's own delay
        (TV, "Sorry for the wait. Which room is the bracket going in?"),
        # an apology for a pronoun, then an excuse after the comma
        (TV, "sorry about that, our drivers are agency staff and dont know the area"),
        # the occasion named, only that it went badly
        (TV, "I'm sorry your Friday didn't go the way it was meant to."),
        (GIFT, "I'm sorry your sister's gift wasn't what it should have been."),
        # the customer's account hedged as their opinion
        (TV, "A missed Friday visit you say nobody told you about - let me check the notes."),
        # 'so' joining a purpose to the agent's sentence, with a timetable
        (TV, "I'll book a new visit so the engineer can fit the bracket, which usually takes 2 hours."),
        # an empathy phrase followed by a reassurance about the remedy
        (GIFT, "I understand, and you won't lose the voucher or the gift."),
        # a frame followed by a free slot: a time is the plan's
        (TV, "Understood - Thursday 1 to 5 is open if that suits you."),
    ],
)
def test_own_delays_pronouns_occasions_hedges_and_plans_are_no_restatement(customer, reply):
    out = _listening(reply, customer)
    assert out["found"] is False, out
    assert out["tip"] and out["tip"].lstrip("'")[0].isupper() and out["tip"].rstrip("'").endswith((".", "?"))
