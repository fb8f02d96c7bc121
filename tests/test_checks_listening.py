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
