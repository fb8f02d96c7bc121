"""The trainee's practice chat in headless Chromium against the real assistant.

Signed-in trainees play the laptop scenario to its scorecard in coach and in assessment mode,
send replies faster than the customer answers, reload mid-conversation, lose the connection,
meet a backend that is down, and a second trainee tries to reach the first one's conversation.
"""
from __future__ import annotations

import json
import os
import uuid

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from bot import db

pytestmark = pytest.mark.e2e
LAPTOP = "laptop_at_home_service"
PASSWORD = "chat browser test password"
# From tests/test_e2e.py and tests/data/role_play_scripts.yml: replies that resolve the laptop scenario.
GREET = "Hello Dana, thanks for your patience, and I'm so sorry about the missed callbacks."
RESTATE = "So your laptop crashes with a blue screen every day and three calls went unanswered?"
PLAN = "I'll book a technician for tomorrow at 9 am and I'll call you by 5 pm today to confirm."
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 900}
WAIT = 30_000


@pytest.fixture
def engine(assistant):
    engine = db.make_engine(assistant["database_url"])
    yield engine
    engine.dispose()


@pytest.fixture
def contexts(browser):
    opened = []

    def new(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport)
        opened.append(context)
        return context

    yield new
    for context in opened:
        context.close()


def new_trainee(engine, name="Tara Trainee"):
    email = f"chat-{uuid.uuid4().hex[:10]}@example.test"
    with db.session_scope(engine) as session:
        user = db.create_user(session=session, email=email, name=name, password=PASSWORD)
        return {"id": user.id, "email": email}


def signed_in_page(assistant, engine, contexts, viewport=DESKTOP, trainee=None):
    trainee = trainee or new_trainee(engine)
    context = contexts(viewport)
    page = context.new_page()
    page.goto(assistant["web_url"] + "/")
    assert "/signin" in page.url
    page.fill("#email", trainee["email"])
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")  # the keyboard alone signs in
    page.wait_for_selector(f"#scenario option[value={LAPTOP}]", state="attached", timeout=WAIT)
    page.wait_for_load_state("networkidle")
    page.trainee = trainee
    return page


def start(page, *, mode, persona="angry"):
    page.select_option("#scenario", LAPTOP)
    page.check(f"input[name=persona][value={persona}]")
    page.check(f"input[name=mode][value={mode}]")
    page.click("text=Start the conversation")
    page.wait_for_selector("#log .msg-customer", timeout=WAIT)


def customers(page):
    return page.locator("#log .msg-customer").count()


def send(page, text):
    """Type a reply, press Enter, wait for the customer's answer (or the scorecard)."""
    before = customers(page)
    page.fill("#reply", text)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#log .msg-customer').length > n"
        " || !document.querySelector('#scorecard').hidden",
        arg=before, timeout=WAIT,
    )


def finish(page):
    if page.locator("#scorecard").is_hidden():
        page.click("#end-button")
    page.wait_for_selector("#scorecard:not([hidden])", timeout=WAIT)


def api(page, method, path, body=None):
    """A request from inside the page, with its cookies: what any script there could send."""
    return page.evaluate(
        """async ([method, path, body]) => {
            const options = {method, credentials: "same-origin", headers: {"Content-Type": "application/json"}};
            if (body !== null) { options.body = JSON.stringify(body); }
            const response = await fetch(path, options);
            return {status: response.status, data: await response.json()};
        }""",
        [method, path, body],
    )


def retry(page, selector):
    """Press a Retry button, unless an automatic retry got there first (it replaces the button)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator(selector).click(timeout=2_000)
    except PlaywrightTimeout:
        pass


def sessions_of(engine, user_id):
    from sqlalchemy import select

    with db.session_scope(engine) as session:
        rows = session.execute(
            select(db.PracticeSession).where(db.PracticeSession.user_id == user_id).order_by(db.PracticeSession.started_at)
        ).scalars().all()
        return [db.get_transcript(session=session, session_id=row.id) for row in rows]


def no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page scrolls sideways"


# ---- coach mode, on a phone ----


def test_coach_mode_on_a_phone_feedback_beside_each_reply_then_the_scorecard_and_a_retry(assistant, engine, contexts):
    page = signed_in_page(assistant, engine, contexts, PHONE)
    assert page.locator("#assign-note").inner_text().strip()  # says which scenarios are assigned, if any
    start(page, mode="coach")
    assert page.locator("#mood").is_visible()
    send(page, GREET + " <b>really</b>")
    first = page.locator("#log .msg-trainee").first
    # The trainee's words come back as text, with the apology highlighted inside them.
    assert "<b>really</b>" in first.locator(".msg-text").inner_text()
    assert first.locator("b").count() == 0
    assert any("sorry" in m.lower() for m in first.locator("mark.good").all_inner_texts())
    feedback = first.locator(".feedback")
    assert feedback.is_visible() and "Apology" in feedback.inner_text()
    assert page.locator("#mood-text").inner_text().strip()
    no_sideways_scrolling(page)
    for reply in (RESTATE, PLAN):
        if page.locator("#scorecard").is_visible():
            break
        send(page, reply)
    finish(page)
    summary = page.locator("#score-summary").inner_text()
    assert "Score" in summary and "/ 100" in summary
    assert page.locator("#score-outcome").inner_text().strip()
    rows = page.locator("#score-rows tr")
    assert rows.count() >= 6
    explanations = " ".join(rows.all_inner_texts())
    assert "\u201c" in explanations or '"' in explanations, explanations  # criteria quote the trainee
    # The scorecard takes focus, for screen readers and keyboards.
    assert page.evaluate("document.activeElement.id") == "score-title"
    no_sideways_scrolling(page)
    page.screenshot(path=str(assistant["settings"].var_dir / "chat-phone-scorecard.png"), full_page=True)

    # Retry: the same scenario again, a fresh conversation.
    page.click("#again-button")
    page.wait_for_function(
        "() => document.querySelector('#scorecard').hidden && document.querySelectorAll('#log .msg-customer').length === 1",
        timeout=WAIT,
    )
    assert page.locator("#log .msg-trainee").count() == 0
    transcripts = sessions_of(engine, page.trainee["id"])
    assert len(transcripts) == 2 and transcripts[0].session.ended_at is not None
    assert transcripts[0].turns[0].trainee_text.startswith(GREET)


# ---- assessment mode ----


def test_assessment_mode_shows_nothing_until_the_scorecard(assistant, engine, contexts):
    page = signed_in_page(assistant, engine, contexts)
    start(page, mode="assessment")
    assert page.locator("#mood").is_hidden()
    for reply in (GREET, RESTATE, PLAN):
        if page.locator("#scorecard").is_visible():
            break
        send(page, reply)
        if page.locator("#scorecard").is_hidden():
            assert page.locator("#log .feedback").count() == 0
            assert page.locator("#log mark").count() == 0
            assert page.locator("#mood").is_hidden()
    finish(page)
    assert "Score" in page.locator("#score-summary").inner_text()
    assert page.locator("#score-rows tr").count() >= 6
    # The checks were made and kept all along, just not shown.
    (transcript,) = sessions_of(engine, page.trainee["id"])
    assert transcript.session.mode == "assessment" and transcript.turns
    assert all(turn.checks for turn in transcript.turns)


# ---- replies faster than the customer answers ----


def test_two_quick_replies_are_both_answered_in_order(assistant, engine, contexts):
    page = signed_in_page(assistant, engine, contexts)
    start(page, mode="coach")
    page.fill("#reply", GREET)
    page.keyboard.press("Enter")
    # The box is free at once: the second reply goes before the customer has answered the first.
    page.fill("#reply", RESTATE)
    page.keyboard.press("Enter")
    assert customers(page) == 1, "the customer answered before the second reply was sent"
    page.wait_for_function(
        "() => document.querySelectorAll('#log .msg-trainee .feedback').length === 2", timeout=WAIT
    )
    kinds = page.eval_on_selector_all("#log > li", "items => items.map(i => i.className.split(' ')[1])")
    assert kinds[:3] == ["msg-customer", "msg-trainee", "msg-trainee"]
    assert kinds.count("msg-customer") == 3
    trainee = page.locator("#log .msg-trainee")
    assert trainee.nth(0).locator(".msg-text").inner_text() == GREET
    assert trainee.nth(1).locator(".msg-text").inner_text() == RESTATE
    # Each reply's feedback is its own: turn 1 on the first, turn 2 on the second.
    labels = [trainee.nth(i).locator(".feedback").get_attribute("aria-label") for i in range(2)]
    assert labels == ["Coach feedback on reply 1", "Coach feedback on reply 2"]
    assert page.locator("#log .msg-status").count() == 0
    (transcript,) = sessions_of(engine, page.trainee["id"])
    assert [t.trainee_text for t in transcript.turns] == [GREET, RESTATE]


# ---- a reload, a dropped connection, a backend down ----


def test_a_reload_restores_the_conversation_and_it_goes_on(assistant, engine, contexts):
    page = signed_in_page(assistant, engine, contexts)
    start(page, mode="coach")
    send(page, GREET)
    before = page.eval_on_selector_all("#log .msg-text", "nodes => nodes.map(n => n.textContent)")
    page.reload()
    page.wait_for_selector("#chat:not([hidden]) #log .msg-trainee", timeout=WAIT)
    page.wait_for_load_state("networkidle")
    after = page.eval_on_selector_all("#log .msg-text", "nodes => nodes.map(n => n.textContent)")
    assert after == before
    assert page.locator("#log .msg-trainee .feedback").count() == 1
    assert page.locator("#setup").is_hidden()
    send(page, RESTATE)
    assert page.locator("#log .msg-trainee").count() == 2
    (transcript,) = sessions_of(engine, page.trainee["id"])
    assert [t.number for t in transcript.turns] == [1, 2]


def test_a_reply_sent_while_offline_is_kept_and_delivered_once_back_online(assistant, engine, contexts):
    page = signed_in_page(assistant, engine, contexts)
    start(page, mode="coach")
    page.context.set_offline(True)
    page.fill("#reply", GREET)
    page.keyboard.press("Enter")
    page.wait_for_selector("#log .msg-trainee.undelivered .retry-one", state="visible", timeout=WAIT)
    assert page.locator("#notice").is_visible()
    assert "not delivered" in page.locator("#notice-text").inner_text()
    assert page.locator("#reply").input_value() == ""  # kept in the conversation, not lost in the box
    # Still offline: the automatic retries fail too, and the reply stays put.
    page.wait_for_timeout(1_500)
    assert page.locator("#log .msg-trainee").count() == 1 and customers(page) == 1
    page.context.set_offline(False)  # the browser's "online" event sends it at once
    retry(page, "#log .msg-trainee .retry-one")
    page.wait_for_function("() => document.querySelectorAll('#log .msg-customer').length === 2", timeout=WAIT)
    assert page.locator("#log .undelivered").count() == 0
    assert page.locator("#notice").is_hidden()
    (transcript,) = sessions_of(engine, page.trainee["id"])
    assert [t.trainee_text for t in transcript.turns] == [GREET]


def test_an_answer_lost_on_the_way_back_is_not_sent_to_rasa_twice(assistant, engine, contexts):
    """The server answered but the connection dropped before the page got it: the retry under
    the same message id gets the remembered answer, and Rasa sees the reply once."""
    page = signed_in_page(assistant, engine, contexts)
    start(page, mode="coach")
    reached_server = []

    def answer_then_drop(route):
        response = route.fetch()  # the request reaches the web app, Rasa and the actions
        reached_server.append(json.loads(route.request.post_data)["message_id"])
        assert response.status == 200
        route.abort("connectionreset")

    page.route("**/api/message", answer_then_drop)
    page.fill("#reply", GREET)
    page.keyboard.press("Enter")
    page.wait_for_selector("#log .msg-trainee.undelivered", timeout=WAIT)
    page.unroute("**/api/message")
    with page.expect_response("**/api/message") as retried:
        page.locator("#log .msg-trainee .retry-one").click()
    body = retried.value.json()
    assert body["replayed"] is True and body["message_id"] == reached_server[0]
    page.wait_for_function("() => document.querySelectorAll('#log .msg-customer').length === 2", timeout=WAIT)
    assert page.locator("#log .msg-trainee").count() == 1
    assert page.locator("#log .msg-trainee .feedback").count() == 1
    (transcript,) = sessions_of(engine, page.trainee["id"])
    assert [t.trainee_text for t in transcript.turns] == [GREET]


@pytest.mark.parametrize("code, status", [("rasa_down", 503), ("no_answer", 502), ("database_down", 503)])
def test_a_backend_down_gets_a_clear_message_and_a_retry_without_retyping(assistant, engine, contexts, code, status):
    page = signed_in_page(assistant, engine, contexts)
    start(page, mode="coach")
    message = {
        "rasa_down": "The practice server is not answering. Try again in a moment.",
        "no_answer": "The customer could not answer: the action server may be down. Try again.",
        "database_down": "The training records database is not answering. Nothing was lost; try again in a moment.",
    }[code]
    refused = []

    def down(route):
        # What the web app answers when that backend is down (tests/test_web.py makes each happen for real).
        refused.append(json.loads(route.request.post_data)["message_id"])
        route.fulfill(status=status, content_type="application/json",
                      body=json.dumps({"error": {"code": code, "message": message}}))

    page.route("**/api/message", down)
    page.fill("#reply", GREET)
    page.keyboard.press("Enter")
    page.wait_for_selector("#log .msg-trainee.undelivered", timeout=WAIT)
    assert page.locator("#notice-text").inner_text().startswith(message)
    assert page.locator("#log .msg-trainee .msg-text").inner_text() == GREET
    if status == 503:
        # Down for a moment: the page tries again by itself, under the same message id.
        page.wait_for_timeout(1_500)
        assert len(refused) >= 2 and len(set(refused)) == 1
    else:
        # The action server failing is not a blip: the trainee decides when to try again.
        page.wait_for_timeout(1_500)
        assert len(refused) == 1
        assert page.locator("#retry-button").is_visible()
    page.unroute("**/api/message")
    retry(page, "#retry-button")
    page.wait_for_function("() => document.querySelectorAll('#log .msg-customer').length === 2", timeout=WAIT)
    assert page.locator("#log .msg-trainee .msg-text").inner_text().startswith(GREET[:20])
    assert page.locator("#log .undelivered").count() == 0
    (transcript,) = sessions_of(engine, page.trainee["id"])
    assert [t.trainee_text for t in transcript.turns] == [GREET]


def test_a_reply_outlasts_a_long_restart_and_goes_through_without_the_trainee(assistant, engine, contexts):
    """The page used to stop retrying a 503 after six tries (about a minute), and a Rasa server
    restarting on a loaded machine took 54 s in bench/scale.py: now it keeps trying every 15 s."""
    page = signed_in_page(assistant, engine, contexts)
    start(page, mode="coach")
    page.clock.install()
    refused = []

    def down(route):
        refused.append(json.loads(route.request.post_data)["message_id"])
        route.fulfill(status=503, content_type="application/json", body=json.dumps(
            {"error": {"code": "rasa_down", "message": "The practice server is not answering. Try again in a moment."}}))

    page.route("**/api/message", down)
    page.fill("#reply", GREET)
    page.keyboard.press("Enter")
    page.wait_for_selector("#log .msg-trainee.undelivered", timeout=WAIT)
    for _ in range(12):  # three minutes of a server that is down
        page.clock.run_for(15_000)
        page.wait_for_timeout(200)  # the refused request's answer arrives outside the fake clock
    assert len(refused) >= 10 and len(set(refused)) == 1
    assert "Trying again in 15 s." in page.locator("#notice-text").inner_text()
    page.unroute("**/api/message")
    page.clock.run_for(15_000)
    page.wait_for_function("() => document.querySelectorAll('#log .msg-customer').length === 2", timeout=WAIT)
    assert page.locator("#log .undelivered").count() == 0
    (transcript,) = sessions_of(engine, page.trainee["id"])
    assert [t.trainee_text for t in transcript.turns] == [GREET]


# ---- a second trainee ----


def forged_cookie(assistant, cookie_value, conversation):
    """The second trainee's own session cookie with the first one's conversation put in, signed
    with the web app's key: what a leak or a bug could hand the server."""
    key = os.environ.get("COACH_SECRET_KEY", "").strip() or (
        assistant["settings"].var_dir / "secret_key").read_text(encoding="ascii").strip()
    signer = Flask("forge")
    signer.secret_key = key
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    data = serializer.loads(cookie_value)
    data["conversation"] = conversation
    return serializer.dumps(data)


def test_a_second_trainee_can_neither_see_nor_post_into_the_first_ones_conversation(assistant, engine, contexts):
    first = signed_in_page(assistant, engine, contexts)
    start(first, mode="coach")
    secret = "My private reply about the blue screen, Dana."
    send(first, secret)
    theirs = api(first, "GET", "/api/conversation")["data"]["conversation"]
    assert theirs and theirs.startswith(f"u{first.trainee['id']}-")

    second = signed_in_page(assistant, engine, contexts)
    # The second trainee's page starts empty: nothing of the first one's conversation.
    assert second.locator("#setup").is_visible()
    assert second.locator("#log li").count() == 0
    assert secret not in second.content()
    assert api(second, "GET", "/api/conversation")["data"] == {"conversation": None}

    # Replaying the first trainee's conversation id through the API is refused.
    for path, body in (("/api/message", {"text": "Let me in", "conversation": theirs}),
                       ("/api/end", {"conversation": theirs})):
        answer = api(second, "POST", path, body)
        assert answer["status"] == 409 and answer["data"]["error"]["code"] in ("no_session", "conversation_changed")

    # Even a validly signed cookie carrying that id is refused: the database says whose it is.
    # (Each refusal also drops the id from the cookie, so it is put in again for the next try.)
    for method, path, body in (("POST", "/api/message", {"text": "Let me in", "message_id": "intruder-0001"}),
                               ("POST", "/api/end", {"message_id": "intruder-0002"}),
                               ("GET", "/api/conversation", None)):
        cookie = next(c for c in second.context.cookies() if c["name"] == "session")
        second.context.add_cookies([{**cookie, "value": forged_cookie(assistant, cookie["value"], theirs)}])
        answer = api(second, method, path, body)
        assert answer["status"] == 403, (path, answer)
        assert answer["data"]["error"]["code"] == "not_your_conversation"
        assert secret not in json.dumps(answer)
    second.reload()
    second.wait_for_load_state("networkidle")
    assert second.locator("#log li").count() == 0 and secret not in second.content()

    # The first trainee's conversation is untouched and goes on.
    (transcript,) = sessions_of(engine, first.trainee["id"])
    assert [t.trainee_text for t in transcript.turns] == [secret]
    assert transcript.session.ended_at is None
    send(first, RESTATE)
    assert first.locator("#log .msg-trainee").count() == 2
    assert sessions_of(engine, second.trainee["id"]) == []


# ---- assigned and optional scenarios ----


def test_assigned_scenarios_come_first_and_preselect_their_persona_and_mode(assistant, engine, contexts):
    from bot.db import assignments, curriculum_edits
    from bot.scenarios import PERSONAS, list_scenarios

    trainee = new_trainee(engine)
    name = f"Onboarding {uuid.uuid4().hex[:6]}"
    with db.session_scope(engine) as session:
        curriculum = curriculum_edits.create_curriculum(
            session=session, name=name, scenario_ids=[s.id for s in list_scenarios()], personas=PERSONAS,
            items=[curriculum_edits.ItemSpec(scenario=LAPTOP, persona="dispassionate", mode="assessment",
                                             pass_mark="70", due_date="2030-01-15")],
        )
        assignments.assign_curriculum(session=session, curriculum_id=curriculum.id, user_id=trainee["id"])
    page = signed_in_page(assistant, engine, contexts, PHONE, trainee=trainee)
    groups = page.eval_on_selector_all(
        "#scenario optgroup", "gs => gs.map(g => [g.label, Array.from(g.children).map(o => o.value)])"
    )
    assert groups[0] == ["Assigned to you", [LAPTOP]]
    assert groups[1][0] == "Optional practice" and LAPTOP not in groups[1][1] and groups[1][1]
    assert "assigned to you" in page.locator("#assign-note").inner_text()
    # With the keyboard: focus the list and pick the assigned scenario.
    page.focus("#scenario")
    page.select_option("#scenario", LAPTOP)
    assert page.locator("input[name=persona][value=dispassionate]").is_checked()
    assert page.locator("input[name=mode][value=assessment]").is_checked()
    help_text = page.locator("#scenario-help").inner_text()
    assert name in help_text and "Pass mark 70" in help_text
    page.click("text=Start the conversation")
    page.wait_for_selector("#log .msg-customer", timeout=WAIT)
    (transcript,) = sessions_of(engine, trainee["id"])
    assert (transcript.session.persona, transcript.session.mode) == ("dispassionate", "assessment")
