"""The trainer pages in headless Chromium (Debian's package), on a conversation that a trainee
really played through the web app, the Rasa server and the action server."""
from __future__ import annotations

import re
import uuid
from typing import Any, Dict, List

import pytest
import requests

from bot import db

pytestmark = pytest.mark.e2e
PASSWORD = "trainer browser test password"
REPLIES = [
    "Hi Dana, I'm so sorry your laptop keeps crashing <b>every day</b>.",
    "I'll book a technician for tomorrow at 9 am and call you by 5 pm today to confirm.",
]


def _csrf(http: requests.Session, url: str) -> str:
    page = http.get(url, timeout=30)
    page.raise_for_status()
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _post_json(http: requests.Session, url: str, body: Dict[str, Any]) -> List[Dict[str, Any]]:
    response = http.post(url, json=body, timeout=90)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def _payloads(messages: List[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    return [m["payload"] for m in messages if m.get("kind") == "custom" and m["payload"].get("type") == kind]


@pytest.fixture(scope="module")
def played(assistant) -> Dict[str, Any]:
    """A trainer and a trainee of their own, and one conversation the trainee played for real."""
    tag = uuid.uuid4().hex[:10]
    engine = db.make_engine(assistant["database_url"])
    with db.session_scope(engine) as session:
        trainer = db.create_user(session=session, email=f"trainer-{tag}@example.test", name=f"Tom Trainer {tag}",
                                 password=PASSWORD, role="trainer")
        trainee = db.create_user(session=session, email=f"trainee-{tag}@example.test", name=f"Tara Trainee {tag}",
                                 password=PASSWORD)
    web = assistant["web_url"]
    http = requests.Session()
    signed_in = http.post(f"{web}/signin", data={
        "csrf_token": _csrf(http, f"{web}/signin"), "email": trainee.email, "password": PASSWORD}, timeout=30)
    assert signed_in.status_code == 200 and "/signin" not in signed_in.url, signed_in.text[:500]
    opening = _post_json(http, f"{web}/api/session",
                         {"scenario": "laptop_at_home_service", "persona": "angry", "mode": "coach"})
    (started,) = _payloads(opening, "session_started")
    feedback = []
    ended = False
    for text in REPLIES:
        messages = _post_json(http, f"{web}/api/message", {"text": text})
        feedback.extend(_payloads(messages, "feedback"))
        ended = ended or bool(_payloads(messages, "scorecard"))
        if ended:
            break
    if not ended:
        assert _payloads(_post_json(http, f"{web}/api/end", {}), "scorecard")
    assert feedback, "the assistant gave no feedback"
    first_checks = feedback[0]["checks"]
    assert first_checks["apology"]["found"], first_checks["apology"]
    with db.session_scope(engine) as session:
        stored = db.get_transcript(session=session, session_id=started["session_id"])
        assert stored is not None and stored.user.id == trainee.id
        assert stored.turns[0].checks == first_checks
    yield {
        "trainer": trainer, "trainee": trainee, "session_id": started["session_id"], "checks": first_checks,
        "web": web, "engine": engine,
    }
    engine.dispose()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def _agreement_row(page, check: str) -> Dict[str, str]:
    row = page.locator(f'#agreement-table tr[data-check="{check}"]')
    return {cell: row.locator(f"td.{cell}").inner_text().strip() for cell in ("n", "agreement", "kappa", "cells")}


def test_trainer_finds_reviews_and_overrules_a_real_session(played, page, assistant):
    web = played["web"]
    page.goto(f"{web}/trainer/")
    assert "/signin" in page.url
    page.fill("#email", played["trainer"].email)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    # The landing page starts with the review queue; the filters are folded away below it.
    page.wait_for_selector("#review-queue")
    assert page.locator("nav.site-nav a", has_text="Review").count() == 1

    # The agreement page before the review, reached from the list page's link.
    page.click("text=How often trainers agree with each check")
    page.wait_for_selector("#agreement-table")
    before = _agreement_row(page, "apology")

    # Find the session by filters: this trainee, this scenario, with an apology found.
    page.goto(f"{web}/trainer/")
    page.click(".filters-box > summary")
    page.select_option("#f-trainee", str(played["trainee"].id))
    page.select_option("#f-scenario", "laptop_at_home_service")
    page.select_option("#f-flagged", "apology")
    page.click("#apply-filters")
    page.wait_for_selector("#sessions-table")
    assert f"trainee={played['trainee'].id}" in page.url and "flagged=apology" in page.url
    rows = page.locator("#sessions-table tbody tr")
    assert rows.count() == 1
    assert played["trainee"].name in rows.first.inner_text()
    # Every cell links to the transcript; the first link is the one in the tab order.
    rows.first.locator("a").first.click()
    page.wait_for_url(f"**/trainer/sessions/{played['session_id']}")

    # The trainee's words, escaped, with the apology's evidence highlighted in green.
    reply = page.locator("#turn-1 .trainee-text")
    assert "<b>every day</b>" in reply.inner_text()
    assert reply.locator("b").count() == 0
    good = [m.lower() for m in reply.locator("mark.good").all_inner_texts()]
    evidence = [e.lower() for e in played["checks"]["apology"]["evidence"]]
    assert any(e in "".join(good) for e in evidence), (good, evidence)
    # Each reply shows its verdicts as badges; the full table of checks opens on demand.
    assert page.locator("#turn-1 .badges li[data-check=apology]").inner_text().startswith("✓ Apology")
    page.click("#checks-details-1 > summary")
    assert page.locator("#checks-1 tr[data-check=apology] .verdict").first.inner_text().strip().endswith("Found")
    assert page.locator("svg.mood-svg desc").text_content().startswith("The customer's mood")
    assert page.locator("#criteria-table tbody tr").count() >= 6

    # Overrule the apology on reply 1, keyboard first: open the form, then fill it.
    page.focus("#ov-1 summary")
    page.keyboard.press("Enter")
    page.select_option("#ov-1-check", "apology")
    page.check("#ov-1 input[name=found][value=no]")
    reason = "Sorry came with an excuse, so it does not count as a genuine apology."
    page.fill("#ov-1-reason", reason)
    page.click("#ov-1 button[type=submit]")
    page.wait_for_selector(".review-saved")
    assert "now “not found”" in page.locator(".review-saved").inner_text()
    page.click("#checks-details-1 > summary")
    trainer_cell = page.locator("#checks-1 tr[data-check=apology] td.trainer-verdict").inner_text()
    assert reason in trainer_cell and played["trainer"].name in trainer_cell and "Not found" in trainer_cell

    # The agreement page counts the new verdict: one more reviewed, one more "machine only".
    page.click("text=Back to the session list")
    page.click("text=How often trainers agree with each check")
    page.wait_for_selector("#agreement-table")
    after = _agreement_row(page, "apology")
    assert int(after["n"]) == int(before["n"]) + 1
    before_cells = [int(x) for x in before["cells"].split(" / ")]
    after_cells = [int(x) for x in after["cells"].split(" / ")]
    assert after_cells[1] == before_cells[1] + 1 and after_cells[0] == before_cells[0]
    assert after != before
    with db.session_scope(played["engine"]) as session:
        expected = db.agreement_per_check(session=session)["apology"]
    assert after["agreement"] == f"{expected.agreement * 100:.0f}%"
    page.screenshot(path=str(assistant["settings"].var_dir / "browser-agreement.png"), full_page=True)


def test_review_pages_fit_a_phone_screen(played, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        page.goto(f"{played['web']}/signin")
        page.fill("#email", played["trainer"].email)
        page.fill("#password", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_selector("#review-queue")
        for path in ("/trainer/", f"/trainer/sessions/{played['session_id']}", "/trainer/agreement"):
            page.goto(played["web"] + path)
            # Wide tables scroll inside their own box; the page itself does not scroll sideways.
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, (path, overflow)
    finally:
        context.close()
