"""Coaching in the browser: on a phone, after three replies, the customer, the mood and one
focused tip are in view without scrolling past a list of checks; "My history" lists the
session and opens it."""
from __future__ import annotations

import pytest

from tests.test_chat_browser import (  # noqa: F401  (engine and contexts are fixtures)
    GREET, PHONE, RESTATE, WAIT, contexts, engine, finish, send, signed_in_page, start,
)

pytestmark = pytest.mark.e2e
VAGUE = "I'll look into it for you."


def in_view(page, selector):
    """The element's box lies inside the viewport (fully)."""
    return page.evaluate(
        """sel => { const r = document.querySelector(sel).getBoundingClientRect();
                    return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }""",
        selector,
    )


def test_on_a_phone_three_replies_leave_customer_mood_and_one_tip_in_view(assistant, engine, contexts):
    page = signed_in_page(assistant, engine, contexts, PHONE)
    start(page, mode="coach")
    for reply in (GREET, RESTATE, VAGUE):
        send(page, reply)
    assert page.locator("#scorecard").is_hidden(), "three replies without a plan do not end the conversation"
    page.locator("#log .msg-trainee").last.locator(".feedback").wait_for(timeout=WAIT)
    assert page.evaluate("window.scrollY") > 0, "three replies scroll the page"
    # The customer and the mood stay on screen.
    assert in_view(page, "#mood-meter") and in_view(page, "#chat-subtitle")
    assert "Dana" in page.locator("#chat-subtitle").inner_text()
    # One focused tip per reply, the newest in view; every check folded away.
    last = page.locator("#log .msg-trainee").last.locator(".feedback")
    assert last.locator(".fb-focus").count() == 1
    # In view means below the sticky customer-and-mood bar and above the bottom of the screen.
    focus = page.evaluate(
        """() => { const all = document.querySelectorAll('#log .msg-trainee .fb-focus');
                   const r = all[all.length - 1].getBoundingClientRect();
                   const head = document.querySelector('.chat-head').getBoundingClientRect();
                   return {top: r.top, bottom: r.bottom, head: head.bottom, h: window.innerHeight}; }"""
    )
    assert focus["head"] <= focus["top"] and focus["bottom"] <= focus["h"], focus
    assert "Next" in last.locator(".fb-focus").inner_text()
    assert page.locator("details.fb-all[open]").count() == 0
    assert page.locator(".feedback-list").first.is_hidden()
    page.screenshot(path=str(assistant["settings"].var_dir / "coaching-phone-3-replies.png"))
    # Unfolding shows every verdict.
    last.locator("details.fb-all summary").click()
    assert last.locator(".feedback-list li").count() >= 5


def test_history_lists_the_session_and_opens_it(assistant, engine, contexts):
    page = signed_in_page(assistant, engine, contexts)
    start(page, mode="coach")
    send(page, GREET)
    finish(page)
    page.click("text=My history")
    page.wait_for_selector("#history-table", timeout=WAIT)
    rows = page.locator("#history-table tbody tr")
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "Laptop crashes daily" in text and "Coach" in text and "Ended by you" in text
    rows.first.locator("a").click()
    page.wait_for_selector("#criteria-table", timeout=WAIT)
    body = page.locator("main").inner_text()
    assert GREET in body and "Next:" in body and "not applicable" in body
