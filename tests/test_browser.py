"""The practice chat in headless Chromium (Debian's package), against the real assistant.

More of the chat (assessment mode, quick replies, reloads, dropped connections, a second
trainee, a phone-sized screen) is in tests/test_chat_browser.py.
"""
import uuid

import pytest

from bot import db

pytestmark = pytest.mark.e2e


PASSWORD = "browser test password"


@pytest.fixture
def page(browser, assistant):
    """A page signed in as a new trainee of its own."""
    email = f"browser-{uuid.uuid4().hex[:10]}@example.test"
    with db.session_scope(db.make_engine(assistant["database_url"])) as session:
        db.create_user(session=session, email=email, name="Bea Browser", password=PASSWORD)
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.goto(assistant["web_url"] + "/")
    assert "/signin" in page.url  # the chat is for signed-in trainees only
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.signin-form button[type=submit]")
    page.wait_for_selector("#scenario option[value=laptop_at_home_service]", state="attached", timeout=30_000)
    yield page
    context.close()


def _send(page, text):
    before = page.locator("#log .msg-customer").count()
    page.fill("#reply", text)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#log .msg-customer').length > n", arg=before, timeout=30_000
    )


def test_coach_mode_conversation_to_scorecard(assistant, page):
    page.select_option("#scenario", "laptop_at_home_service")
    page.check("input[name=mode][value=coach]")
    page.click("text=Start the conversation")
    page.wait_for_selector("#log .msg-customer", timeout=30_000)

    _send(page, "Hi Dana, I'm so sorry your laptop keeps crashing <b>every day</b>.")
    # The trainee's words come back escaped, with the apology highlighted inside them.
    trainee = page.locator("#log .msg-trainee").first
    assert "<b>every day</b>" in trainee.inner_text()
    assert trainee.locator("b").count() == 0
    marked = [m.lower() for m in trainee.locator("mark.good").all_inner_texts()]
    assert any("sorry" in m for m in marked), marked
    assert page.locator("#mood-text").inner_text().strip()

    _send(page, "I'll book a technician for tomorrow at 9 am and call you by 5 pm today to confirm.")
    if page.locator("#scorecard").is_hidden():  # the customer may already have accepted the plan
        page.click("#end-button")
    page.wait_for_selector("#scorecard:not([hidden])", timeout=30_000)
    summary = page.locator("#score-summary").inner_text()
    assert "Score" in summary and "/ 100" in summary
    assert page.locator("#score-rows tr").count() >= 6
    page.screenshot(path=str(assistant["settings"].var_dir / "browser-scorecard.png"), full_page=True)
