"""The web app against a fake Rasa: a real HTTP server on a loopback port that mimics the REST
webhook, so the relay's timeouts, connection errors and empty answers are the real ones.

Every client signs in for real (a trainee in this module's own SQLite database); the fake Rasa
runs no actions, so tests that need recorded turns write them the way the action server does."""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, Iterator, List

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from bot import db
from bot.launcher import free_port
from bot.web import create_app
from bot.web.relay import NO_ANSWER, RASA_DOWN, AnswerCache, ConversationLocks

WEB_DIR = Path(__file__).resolve().parent.parent / "bot" / "web"
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"
LIMIT = 50
PASSWORD = "practice makes perfect"


class FakeRasa:
    """Rasa's REST webhook with canned answers; `behaviour` says how to misbehave."""

    def __init__(self) -> None:
        self.received: List[Dict[str, str]] = []
        self.behaviour = "normal"  # normal | empty | slow | http_error | actions_down
        self.delay = 0.0
        self.in_flight: Dict[str, int] = {}
        self.max_in_flight: Dict[str, int] = {}
        self.max_in_flight_total = 0
        self._lock = threading.Lock()
        self.app = self._build()

    def reset(self) -> None:
        self.received.clear()
        self.behaviour, self.delay = "normal", 0.0
        self.in_flight.clear()
        self.max_in_flight.clear()
        self.max_in_flight_total = 0

    def senders(self) -> List[str]:
        return [r["sender"] for r in self.received]

    def _build(self) -> Flask:
        app = Flask("fake_rasa")

        @app.get("/")
        def hello():
            return "Hello from Rasa: 3.6.21"

        @app.get("/webhooks/rest/ready")
        def ready():  # bot.rasa_channel's readiness route
            if self.behaviour == "actions_down":
                return jsonify(status="not_ready", reason="its action server is not answering"), 503
            return jsonify(status="ok")

        @app.post("/webhooks/rest/webhook")
        def webhook():
            body = request.get_json()
            sender, message = body["sender"], body["message"]
            with self._lock:
                self.received.append({"sender": sender, "message": message})
                self.in_flight[sender] = self.in_flight.get(sender, 0) + 1
                self.max_in_flight[sender] = max(self.max_in_flight.get(sender, 0), self.in_flight[sender])
                self.max_in_flight_total = max(self.max_in_flight_total, sum(self.in_flight.values()))
            try:
                if self.delay:
                    time.sleep(self.delay)
                if self.behaviour == "empty":
                    return jsonify([])
                if self.behaviour == "http_error":
                    return "Internal Server Error", 500
                if self.behaviour == "actions_down":  # what our channel answers when the action fails
                    return jsonify([{"recipient_id": sender, "custom": {
                        "type": "error", "code": "no_answer", "message": "The action server may be down."}}])
                return jsonify(self.answer(sender, message))
            finally:
                with self._lock:
                    self.in_flight[sender] = self.in_flight.get(sender, 1) - 1

        return app

    @staticmethod
    def answer(sender: str, message: str) -> List[Dict[str, Any]]:
        if message.startswith("/start_scenario"):
            choices = json.loads(message[len("/start_scenario"):])
            if choices["scenario"] == "no_such_scenario":
                return [{"recipient_id": sender, "custom": {
                    "type": "error", "code": "unknown_scenario", "message": "Unknown scenario 'no_such_scenario'."}}]
            return [
                {"recipient_id": sender, "text": "My laptop has been gone for three weeks!"},
                {"recipient_id": sender, "custom": {
                    "type": "session_started", "session_id": "s1", "scenario": choices["scenario"],
                    "persona": choices["persona"], "mode": choices["mode"], "customer_name": "Dana Whitfield",
                    "mood": 20}},
            ]
        if message == "/end_session":
            return [{"recipient_id": sender, "custom": {
                "type": "scorecard", "session_id": "s1", "score": 40, "passed": False, "outcome": "abandoned",
                "criteria": {"apology": {"met": True, "weight": 15, "points": 15, "explanation": "Earned."}}}}]
        return [
            {"recipient_id": sender, "text": f"<script>alert('x')</script> You said: {message}"},
            {"recipient_id": sender, "custom": {
                "type": "feedback", "turn": 1, "mood": 30,
                "checks": {"apology": {"found": True, "evidence": ["sorry"], "tip": None}}}},
        ]


@pytest.fixture(scope="module")
def fake_rasa_server() -> Iterator[tuple]:
    fake = FakeRasa()
    server = make_server("127.0.0.1", 0, fake.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def fake_rasa(fake_rasa_server) -> FakeRasa:
    fake, _ = fake_rasa_server
    fake.reset()
    return fake


@pytest.fixture(scope="module")
def web_db(tmp_path_factory) -> str:
    """A migrated SQLite database for this module's apps: users, conversations, sessions."""
    from sqlalchemy.engine import URL

    url = URL.create("sqlite", database=str(tmp_path_factory.mktemp("web-db") / "coach.db"))
    url_text = url.render_as_string(hide_password=False)
    db.upgrade(url_text)
    return url_text


def make_app(*, rasa_url: str, database_url: str, **extra: Any) -> Flask:
    config = {
        "RASA_URL": rasa_url, "SECRET_KEY": "test-secret", "MAX_MESSAGE_CHARS": LIMIT, "RELAY_TIMEOUT": 5,
        "DATABASE_URL": database_url,
    }
    config.update(extra)
    app = create_app(config)
    app.testing = True
    return app


def new_user(app: Flask, *, role: str = "trainee", name: str = "Tess Trainee", team: str = None) -> Dict[str, Any]:
    email = f"{role}-{uuid.uuid4().hex[:12]}@example.test"
    with db.session_scope(app.extensions["db_engine"]) as dbs:
        user = db.create_user(session=dbs, email=email, name=name, password=PASSWORD, role=role, team=team)
        return {"id": user.id, "email": email}


def sign_in(client, app: Flask, user: Dict[str, Any] = None, **kwargs: Any) -> Dict[str, Any]:
    """Sign `client` in through the real sign-in form (a new trainee unless `user` is given)."""
    user = user or new_user(app, **kwargs)
    html = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post("/signin", data={"email": user["email"], "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return user


def signed_in_client(app: Flask, user: Dict[str, Any] = None):
    client = app.test_client()
    client.user = sign_in(client, app, user)
    return client


@pytest.fixture
def app(fake_rasa, fake_rasa_server, web_db) -> Flask:
    return make_app(rasa_url=fake_rasa_server[1], database_url=web_db)


@pytest.fixture
def client(app):
    return signed_in_client(app)


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def start(client, **choices: str):
    body = {"scenario": "laptop_at_home_service", "persona": "angry", "mode": "coach", **choices}
    return client.post("/api/session", json=body)


# ---- sessions and the sender id ----


def test_start_session_normalises_rasa_messages(client, fake_rasa):
    response = start(client)
    assert response.status_code == 200
    data = response.get_json()
    assert data["messages"][0] == {"kind": "text", "text": "My laptop has been gone for three weeks!"}
    assert data["messages"][1]["kind"] == "custom"
    assert data["messages"][1]["payload"]["type"] == "session_started"
    assert "recipient_id" not in json.dumps(data)
    sent = fake_rasa.received[0]["message"]
    assert sent.startswith("/start_scenario")
    assert json.loads(sent[len("/start_scenario"):]) == {
        "scenario": "laptop_at_home_service", "persona": "angry", "mode": "coach"}


def test_sender_id_is_chosen_by_the_server_and_stable_per_cookie(client, fake_rasa):
    conversation = start(client).get_json()["conversation"]
    assert re.fullmatch(rf"u{client.user['id']}-[0-9a-f]{{32}}", conversation)
    assert client.post("/api/message", json={"text": "I am so sorry."}).status_code == 200
    assert client.post("/api/end", json={}).status_code == 200
    assert fake_rasa.senders() == [conversation] * 3
    assert fake_rasa.received[2]["message"] == "/end_session"


def test_two_clients_get_different_sender_ids(app, fake_rasa):
    first, second = signed_in_client(app), signed_in_client(app)
    one = start(first).get_json()["conversation"]
    two = start(second).get_json()["conversation"]
    assert one != two
    first.post("/api/message", json={"text": "Hello from one"})
    second.post("/api/message", json={"text": "Hello from two"})
    by_text = {r["message"]: r["sender"] for r in fake_rasa.received}
    assert by_text["Hello from one"] == one
    assert by_text["Hello from two"] == two


def test_client_cannot_choose_the_sender_id(client, fake_rasa):
    response = client.post(
        "/api/session",
        json={"scenario": "laptop_at_home_service", "persona": "angry", "mode": "coach",
              "sender": "victim", "conversation": "victim", "session_id": "victim"},
    )
    conversation = response.get_json()["conversation"]
    client.post("/api/message", json={"text": "hi", "sender": "victim"})
    # Naming another conversation is a mismatch to refuse, never a choice of sender.
    refused = client.post("/api/message", json={"text": "hi", "conversation": "victim"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "conversation_changed"
    assert "victim" not in fake_rasa.senders()
    assert fake_rasa.senders() == [conversation, conversation]


def test_cookie_signed_with_another_key_is_not_a_session(app, fake_rasa, fake_rasa_server, web_db):
    other_app = make_app(rasa_url=fake_rasa_server[1], database_url=web_db, SECRET_KEY="someone-elses-key")
    other = signed_in_client(other_app)
    start(other)
    forged = other.get_cookie("session")
    assert forged is not None
    client = app.test_client()
    client.set_cookie("session", forged.value)
    response = client.post("/api/message", json={"text": "hi"})
    # Not signed in at all: the forged cookie stands for nobody.
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "signed_out"
    assert len(fake_rasa.received) == 1


def test_new_session_gets_a_new_id_and_later_messages_follow_it(client, fake_rasa):
    first = start(client).get_json()["conversation"]
    second = start(client, persona="dispassionate", mode="assessment").get_json()["conversation"]
    assert first != second
    client.post("/api/message", json={"text": "hi"})
    assert fake_rasa.senders()[-1] == second


def test_refused_start_keeps_the_running_conversation(client, fake_rasa):
    running = start(client).get_json()["conversation"]
    refused = start(client, scenario="no_such_scenario")
    assert refused.status_code == 200
    data = refused.get_json()
    assert data["conversation"] is None
    assert data["messages"] == [{"kind": "custom", "payload": {
        "type": "error", "code": "unknown_scenario", "message": "Unknown scenario 'no_such_scenario'."}}]
    client.post("/api/message", json={"text": "still here"})
    assert fake_rasa.senders()[-1] == running


# ---- input checks ----


@pytest.mark.parametrize(
    "body, code",
    [
        ({"persona": "grumpy"}, "bad_persona"),
        ({"mode": "exam"}, "bad_mode"),
        ({"scenario": ""}, "bad_scenario"),
        ({"scenario": None}, "bad_scenario"),
    ],
)
def test_bad_session_choices_are_refused_with_a_clear_message(client, fake_rasa, body, code):
    response = start(client, **body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert fake_rasa.received == []


@pytest.mark.parametrize("text", ["", "   \n\t ", None, 42])
def test_empty_message_is_refused(client, fake_rasa, text):
    start(client)
    response = client.post("/api/message", json={"text": text})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "empty_message"
    assert len(fake_rasa.received) == 1  # only the start


def test_oversize_message_is_refused_with_the_limit(client, fake_rasa):
    start(client)
    response = client.post("/api/message", json={"text": "x" * (LIMIT + 1)})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "message_too_long"
    assert str(LIMIT) in error["message"]
    assert len(fake_rasa.received) == 1


def test_message_of_exactly_the_limit_is_sent_trimmed(client, fake_rasa):
    start(client)
    response = client.post("/api/message", json={"text": "  " + "x" * LIMIT + "  "})
    assert response.status_code == 200
    assert fake_rasa.received[-1]["message"] == "x" * LIMIT


def test_reply_starting_with_a_slash_is_not_relayed_as_a_command(client, fake_rasa):
    """A trainee typing /end_session or /start_scenario{...} would drive Rasa directly."""
    start(client)
    response = client.post("/api/message", json={"text": '/start_scenario{"scenario": "x"}'})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "slash_command"
    assert len(fake_rasa.received) == 1


@pytest.mark.parametrize("path", ["/api/message", "/api/end"])
def test_without_a_session_answers_409(client, fake_rasa, path):
    response = client.post(path, json={"text": "hello"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "no_session"
    assert fake_rasa.received == []


@pytest.mark.parametrize("path", ["/api/session", "/api/message", "/api/end"])
def test_non_json_posts_are_refused(client, fake_rasa, path):
    """A cross-site form can post text/plain or form data, never application/json."""
    start(client)
    # Without the CSRF token the form is refused before it gets here; with it, for not being JSON.
    response = client.post(path, data="text=hello", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    with client.session_transaction() as cookie:
        token = cookie["csrf"]
    response = client.post(path, data={"text": "hello", "csrf_token": token})
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "not_json"
    assert len(fake_rasa.received) == 1


def test_unknown_api_path_answers_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# ---- Rasa failing ----


def test_empty_answer_from_rasa_is_502_no_answer(client, fake_rasa):
    """Rasa answers `200 []` when a custom action fails (action server down)."""
    start(client)
    fake_rasa.behaviour = "empty"
    response = client.post("/api/message", json={"text": "hello"})
    assert response.status_code == 502
    assert response.get_json() == {"error": {"code": "no_answer", "message": NO_ANSWER}}


def test_empty_answer_to_a_start_is_502_and_sets_no_session(client, fake_rasa):
    fake_rasa.behaviour = "empty"
    assert start(client).status_code == 502
    assert client.post("/api/message", json={"text": "hello"}).status_code == 409


def test_rasa_http_error_is_502(client, fake_rasa):
    start(client)
    fake_rasa.behaviour = "http_error"
    response = client.post("/api/message", json={"text": "hello"})
    assert response.status_code == 502
    error = response.get_json()["error"]
    assert error["code"] == "rasa_error"
    assert "500" in error["message"]


@pytest.mark.parametrize("call", ["session", "message", "end"])
def test_rasa_down_is_503_rasa_down(call, web_db):
    app = make_app(rasa_url=closed_port_url(), database_url=web_db)
    client = signed_in_client(app)
    conversation = f"u{client.user['id']}-{uuid.uuid4().hex}"
    with db.session_scope(app.extensions["db_engine"]) as dbs:
        db.claim_conversation(session=dbs, sender_id=conversation, user_id=client.user["id"])
    with client.session_transaction() as cookie:
        cookie["conversation"] = conversation
    if call == "session":
        response = start(client)
    elif call == "message":
        response = client.post("/api/message", json={"text": "hello"})
    else:
        response = client.post("/api/end", json={})
    assert response.status_code == 503
    assert response.get_json() == {"error": {"code": "rasa_down", "message": RASA_DOWN}}


def test_slow_rasa_is_503_rasa_down(fake_rasa, fake_rasa_server, web_db):
    client = signed_in_client(make_app(rasa_url=fake_rasa_server[1], database_url=web_db, RELAY_TIMEOUT=0.3))
    start(client)
    fake_rasa.delay = 1.5
    started = time.monotonic()
    response = client.post("/api/message", json={"text": "hello"})
    assert time.monotonic() - started < 1.4
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "rasa_down"


# ---- ordering ----


def test_messages_of_one_conversation_reach_rasa_one_at_a_time(app, fake_rasa):
    first = signed_in_client(app)
    start(first)
    second = app.test_client()
    second.set_cookie("session", first.get_cookie("session").value)  # the same conversation, two tabs
    other = signed_in_client(app)
    start(other)
    fake_rasa.delay = 0.3
    results: List[int] = []

    def send(client, text):
        results.append(client.post("/api/message", json={"text": text}).status_code)

    threads = [
        threading.Thread(target=send, args=(first, "one")),
        threading.Thread(target=send, args=(second, "two")),
        threading.Thread(target=send, args=(other, "elsewhere")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == [200, 200, 200]
    conversation = fake_rasa.received[0]["sender"]
    assert fake_rasa.max_in_flight[conversation] == 1
    # The lock is per conversation: another trainee is not kept waiting.
    assert fake_rasa.max_in_flight_total == 2
    assert len(app.extensions["rasa_relay"].locks) == 0


def test_conversation_locks_are_dropped_when_released():
    locks = ConversationLocks()
    with locks.hold("a"):
        with locks.hold("b"):
            assert len(locks) == 2
    assert len(locks) == 0


# ---- whose conversation it is ----


def forge_conversation(client, conversation: str) -> None:
    """Put `conversation` into the client's signed cookie, as if a bug or a leak had put it there."""
    with client.session_transaction() as cookie:
        cookie["conversation"] = conversation


def test_signed_out_visitors_get_json_401_and_the_page_sends_them_to_sign_in(app, fake_rasa):
    anonymous = app.test_client()
    for method, path in (("get", "/api/scenarios"), ("post", "/api/session"), ("post", "/api/message"),
                         ("post", "/api/end"), ("get", "/api/conversation")):
        response = anonymous.open(path, method=method.upper(), json={} if method == "post" else None)
        assert response.status_code == 401, path
        assert response.get_json()["error"]["code"] == "signed_out"
    page = anonymous.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/signin")
    assert fake_rasa.received == []


@pytest.mark.parametrize("path", ["/api/message", "/api/end", "/api/conversation"])
def test_another_trainees_conversation_is_refused(app, fake_rasa, path):
    first = signed_in_client(app)
    theirs = start(first).get_json()["conversation"]
    first.post("/api/message", json={"text": "Private words of the first trainee"})
    second = signed_in_client(app)
    forge_conversation(second, theirs)
    if path == "/api/conversation":
        response = second.get(path)
    else:
        response = second.post(path, json={"text": "Let me in", "message_id": "intruder-01"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "not_your_conversation"
    assert "Private words" not in response.get_data(as_text=True)
    assert fake_rasa.senders() == [theirs, theirs]
    # The refused id is dropped from the cookie: the second trainee has no conversation now.
    assert second.post("/api/message", json={"text": "again"}).status_code == 409


def test_a_conversation_id_replayed_in_the_body_reaches_nobody(app, fake_rasa):
    first = signed_in_client(app)
    theirs = start(first).get_json()["conversation"]
    second = signed_in_client(app)
    mine = start(second).get_json()["conversation"]
    for path in ("/api/message", "/api/end"):
        response = second.post(path, json={"text": "hello", "conversation": theirs})
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "conversation_changed"
    assert second.get(f"/api/conversation?conversation={theirs}").get_json()["conversation"] in (None, mine)
    assert fake_rasa.senders() == [theirs, mine]
    # Naming its own conversation is fine.
    assert second.post("/api/message", json={"text": "hello", "conversation": mine}).status_code == 200


def test_an_admin_cannot_post_into_a_trainees_conversation_either(app, fake_rasa):
    trainee = signed_in_client(app)
    theirs = start(trainee).get_json()["conversation"]
    admin = signed_in_client(app, new_user(app, role="admin"))
    forge_conversation(admin, theirs)
    assert admin.post("/api/message", json={"text": "hello"}).status_code == 403
    assert fake_rasa.senders() == [theirs]


# ---- retries: the answer is remembered per (conversation, message id) ----


def test_a_retried_message_id_is_answered_from_memory_not_sent_twice(client, fake_rasa):
    start(client)
    body = {"text": "I am so sorry.", "message_id": "retry-0001"}
    first = client.post("/api/message", json=body)
    again = client.post("/api/message", json=body)
    assert first.status_code == again.status_code == 200
    assert again.get_json()["messages"] == first.get_json()["messages"]
    assert (first.get_json()["replayed"], again.get_json()["replayed"]) == (False, True)
    assert [r["message"] for r in fake_rasa.received].count("I am so sorry.") == 1
    # Another id is another message, even with the same words.
    client.post("/api/message", json={"text": "I am so sorry.", "message_id": "retry-0002"})
    assert [r["message"] for r in fake_rasa.received].count("I am so sorry.") == 2


def test_a_retry_while_the_first_try_is_still_with_rasa_waits_for_that_answer(app, fake_rasa):
    client = signed_in_client(app)
    start(client)
    twin = app.test_client()  # the retry comes on a new connection after the first one dropped
    twin.set_cookie("session", client.get_cookie("session").value)
    fake_rasa.delay = 0.5
    results: Dict[str, Any] = {}

    def send(name, who):
        results[name] = who.post("/api/message", json={"text": "Sorry for the wait.", "message_id": "slow-retry-1"})

    threads = [threading.Thread(target=send, args=("first", client)), threading.Thread(target=send, args=("retry", twin))]
    threads[0].start()
    time.sleep(0.15)
    threads[1].start()
    for thread in threads:
        thread.join(timeout=10)
    assert results["first"].status_code == results["retry"].status_code == 200
    assert results["retry"].get_json()["messages"] == results["first"].get_json()["messages"]
    assert results["retry"].get_json()["replayed"] is True
    assert [r["message"] for r in fake_rasa.received].count("Sorry for the wait.") == 1


def test_a_failed_try_is_not_remembered_so_the_retry_is_sent(client, fake_rasa):
    start(client)
    fake_rasa.behaviour = "empty"  # the action server is down
    body = {"text": "Are you there?", "message_id": "after-outage"}
    assert client.post("/api/message", json=body).get_json()["error"]["code"] == "no_answer"
    fake_rasa.behaviour = "normal"
    response = client.post("/api/message", json=body)
    assert response.status_code == 200 and response.get_json()["replayed"] is False
    assert [r["message"] for r in fake_rasa.received].count("Are you there?") == 2


def test_an_end_retried_under_its_id_ends_once(client, fake_rasa):
    start(client)
    first = client.post("/api/end", json={"message_id": "end-of-it-1"})
    again = client.post("/api/end", json={"message_id": "end-of-it-1"})
    assert again.get_json()["messages"] == first.get_json()["messages"]
    assert [r["message"] for r in fake_rasa.received].count("/end_session") == 1


@pytest.mark.parametrize("bad", ["short", "x" * 65, "has space 1234", 12345678, "ünïcödé-id-1"])
def test_bad_message_ids_are_refused(client, fake_rasa, bad):
    start(client)
    response = client.post("/api/message", json={"text": "hello", "message_id": bad})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_message_id"
    assert len(fake_rasa.received) == 1


def test_answer_cache_forgets_after_its_time_and_beyond_its_size():
    now = [0.0]
    cache = AnswerCache(max_entries=3, ttl=10.0, clock=lambda: now[0])
    cache.put("c", "m1", [{"kind": "text", "text": "one"}])
    now[0] = 5.0
    for mid in ("m2", "m3", "m4"):
        cache.put("c", mid, [{"kind": "text", "text": mid}])
    assert cache.get("c", "m1") is None  # the oldest went when the fourth came
    assert cache.get("c", "m2") == [{"kind": "text", "text": "m2"}]
    assert cache.get("other", "m2") is None  # per conversation
    assert cache.ids_for("c") == ["m2", "m3", "m4"]
    now[0] = 15.1
    assert cache.get("c", "m4") is None and len(cache) == 0


# ---- a reloaded page: GET /api/conversation ----


def record(app: Flask, conversation: str, *, mode: str, turns: List[tuple], ended: bool = False) -> str:
    """What the action server writes for `conversation`: the start, each turn, maybe the end."""
    session_id = uuid.uuid4().hex
    with db.session_scope(app.extensions["db_engine"]) as dbs:
        db.record_session_start(
            session=dbs, session_id=session_id, sender_id=conversation, scenario="laptop_at_home_service",
            persona="angry", mode=mode, start_mood=20, opening="My laptop has been gone for three weeks!",
        )
        for number, (trainee, customer, mood) in enumerate(turns, start=1):
            db.record_turn(
                session=dbs, session_id=session_id, number=number, trainee_text=trainee, customer_text=customer,
                checks={"apology": {"found": True, "evidence": ["sorry"], "tip": None}}, checks_version="test",
                mood=mood, mood_change=mood - 20,
            )
        if ended:
            db.record_session_end(session=dbs, session_id=session_id, outcome="abandoned")
    return session_id


def test_conversation_restores_a_running_coach_session(client, app, fake_rasa):
    conversation = start(client).get_json()["conversation"]
    client.post("/api/message", json={"text": "I am so sorry, Dana.", "message_id": "restore-001"})
    session_id = record(app, conversation, mode="coach", turns=[("I am so sorry, Dana.", "Fine. What now?", 31)])
    data = client.get("/api/conversation").get_json()
    assert data["conversation"] == conversation
    assert data["opening"] == "My laptop has been gone for three weeks!"
    session = data["session"]
    assert session["type"] == "session_started" and session["session_id"] == session_id
    assert (session["scenario"], session["persona"], session["mode"]) == ("laptop_at_home_service", "angry", "coach")
    assert session["customer_name"] == "Dana Whitfield" and session["title"]
    assert session["mood"] == 31  # the mood after the latest turn
    assert data["turns"] == [{
        "turn": 1, "trainee": "I am so sorry, Dana.", "customer": "Fine. What now?",
        "checks": {"apology": {"found": True, "evidence": ["sorry"], "tip": None}}, "mood": 31, "mood_change": 11,
    }]
    assert data["answered"] == ["restore-001"]


def test_conversation_in_assessment_mode_shows_no_feedback(client, app, fake_rasa):
    conversation = start(client, mode="assessment").get_json()["conversation"]
    record(app, conversation, mode="assessment", turns=[("Sorry about that.", "Hm.", 25)])
    data = client.get("/api/conversation").get_json()
    assert data["turns"] == [{"turn": 1, "trainee": "Sorry about that.", "customer": "Hm."}]
    assert data["session"]["mood"] is None


def test_conversation_is_null_before_a_start_and_after_the_end(client, app, fake_rasa):
    assert client.get("/api/conversation").get_json() == {"conversation": None}
    conversation = start(client).get_json()["conversation"]
    # Started, but the action server has not recorded it (yet): nothing to restore.
    assert client.get("/api/conversation").get_json() == {"conversation": None}
    record(app, conversation, mode="coach", turns=[], ended=True)
    assert client.get("/api/conversation").get_json() == {"conversation": None}


def test_a_restore_waits_for_a_message_still_with_rasa(app, fake_rasa):
    client = signed_in_client(app)
    conversation = start(client).get_json()["conversation"]
    record(app, conversation, mode="coach", turns=[])
    fake_rasa.delay = 0.5
    sender = threading.Thread(
        target=client.post, args=("/api/message",), kwargs={"json": {"text": "hello", "message_id": "in-flight-1"}}
    )
    sender.start()
    time.sleep(0.15)
    reloaded = app.test_client()
    reloaded.set_cookie("session", client.get_cookie("session").value)
    data = reloaded.get("/api/conversation").get_json()
    sender.join(timeout=10)
    # The page learns the reply it had in flight was answered, so it does not send it again.
    assert data["answered"] == ["in-flight-1"]


# ---- a backend down: a clear error and nothing lost ----


def test_database_down_is_503_database_down_and_nothing_is_relayed(client, app, fake_rasa):
    start(client)
    app.extensions["db_engine"] = db.make_engine(
        f"postgresql+psycopg2://nobody@127.0.0.1:{free_port()}/coach", connect_args={"connect_timeout": 2}
    )
    for method, path in (("POST", "/api/message"), ("POST", "/api/end"), ("GET", "/api/conversation"),
                         ("GET", "/api/scenarios")):
        response = client.open(path, method=method, json={"text": "hello"} if method == "POST" else None)
        assert response.status_code == 503, path
        error = response.get_json()["error"]
        assert error["code"] == "database_down" and "Nothing was lost" in error["message"]
    assert len(fake_rasa.received) == 1


# ---- assignments from HR's curricula ----


def test_scenarios_list_the_trainees_assignments(app, fake_rasa):
    from bot.db import assignments, curriculum_edits
    from bot.scenarios import PERSONAS, list_scenarios

    client = signed_in_client(app)
    name = f"Onboarding {uuid.uuid4().hex[:6]}"
    with db.session_scope(app.extensions["db_engine"]) as dbs:
        curriculum = curriculum_edits.create_curriculum(
            session=dbs, name=name, scenario_ids=[s.id for s in list_scenarios()], personas=PERSONAS,
            items=[curriculum_edits.ItemSpec(scenario="laptop_at_home_service", persona="dispassionate", mode="assessment",
                                             pass_mark="70", due_date="2030-01-15")],
        )
        assignments.assign_curriculum(session=dbs, curriculum_id=curriculum.id, user_id=client.user["id"])
    data = client.get("/api/scenarios").get_json()
    assert data["assignments"] == "available"
    (assigned,) = data["assigned"]
    assert {k: assigned[k] for k in ("scenario", "persona", "mode", "due_date", "curriculum")} == {
        "scenario": "laptop_at_home_service", "persona": "dispassionate", "mode": "assessment",
        "due_date": "2030-01-15", "curriculum": name,
    }
    assert assigned["pass_mark"] == 70
    # Every scenario is still offered; the page files the unassigned ones under optional practice.
    assert "laptop_at_home_service" in {s["id"] for s in data["scenarios"]}
    assert signed_in_client(app).get("/api/scenarios").get_json()["assigned"] == []


# ---- health, scenarios ----


def test_healthz_reports_rasa_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"web": "ok", "rasa": "ok"}


def test_healthz_reports_rasa_down_with_200(web_db):
    response = make_app(rasa_url=closed_port_url(), database_url=web_db).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"web": "ok", "rasa": "down"}


def test_scenarios_lists_id_title_and_customer(client, monkeypatch):
    import bot.scenarios

    fake = [SimpleNamespace(id="broken_kettle", title="A broken kettle", customer=SimpleNamespace(name="Ann Lee"))]
    monkeypatch.setattr(bot.scenarios, "list_scenarios", lambda: fake)
    data = client.get("/api/scenarios").get_json()
    assert data["scenarios"] == [{"id": "broken_kettle", "title": "A broken kettle", "customer_name": "Ann Lee"}]
    assert data["personas"] == ["angry", "dispassionate"]
    assert data["modes"] == ["coach", "assessment"]
    assert data["max_message_chars"] == LIMIT


def test_scenarios_from_the_real_catalogue(client):
    data = client.get("/api/scenarios").get_json()
    assert data["scenarios"], "no scenario files found"
    for scenario in data["scenarios"]:
        assert scenario["id"] and scenario["title"] and scenario["customer_name"]


def test_scenarios_unavailable_is_503(client, monkeypatch):
    monkeypatch.setitem(sys.modules, "bot.scenarios", None)  # makes the import fail
    response = client.get("/api/scenarios")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "scenarios_unavailable"


def test_broken_scenario_file_is_503_with_its_message(client, monkeypatch):
    import bot.scenarios
    from bot.errors import ScenarioFileError

    def broken():
        raise ScenarioFileError("kettle.yml: field 'title': field required")

    monkeypatch.setattr(bot.scenarios, "list_scenarios", broken)
    response = client.get("/api/scenarios")
    assert response.status_code == 503
    assert "kettle.yml" in response.get_json()["error"]["message"]


def test_persona_and_mode_values_agree_with_the_simulation():
    from bot.scenarios import PERSONAS
    from bot.web import api

    assert api.PERSONAS == tuple(PERSONAS)
    simulation = pytest.importorskip("bot.simulation", reason="bot.simulation needs bot.checks")
    assert api.MODES == tuple(simulation.MODES)


# ---- page, assets, escaping ----


def test_chat_page_is_served_with_its_assets(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert 'name="viewport"' in html
    assert 'role="log"' in html and 'aria-live="polite"' in html
    assert '<label for="reply">' in html and '<label for="scenario">' in html
    assert f'data-max-chars="{LIMIT}"' in html
    for asset, mimetype in (("/static/chat.js", "text/javascript"), ("/static/style.css", "text/css")):
        assert f'"{asset}"' in html
        response = client.get(asset)
        assert response.status_code == 200
        assert response.mimetype == mimetype
        response.close()


def test_pages_and_api_send_a_strict_content_security_policy(client):
    for response in (client.get("/"), client.get("/healthz")):
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def _web_files() -> List[Path]:
    files = [p for p in list(TEMPLATE_DIR.rglob("*")) + list(STATIC_DIR.rglob("*")) if p.is_file()]
    assert any(p.suffix == ".js" for p in files) and any(p.suffix == ".html" for p in files)
    return files


def test_no_external_urls_in_templates_or_static_files():
    pattern = re.compile(r"https?://|(?:src|href)\s*=\s*[\"']//|url\(\s*[\"']?//|@import")
    offenders = [
        f"{path.relative_to(WEB_DIR)}: {match.group(0)}"
        for path in _web_files()
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_static_js_never_writes_html():
    """Transcripts are untrusted: text reaches the page through textContent only."""
    html_sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function")
    for path in STATIC_DIR.rglob("*.js"):
        source = path.read_text(encoding="utf-8")
        assert html_sinks.findall(source) == [], path.name
        assert "textContent" in source


def test_templates_do_not_turn_off_escaping():
    for path in TEMPLATE_DIR.rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        assert "|safe" not in source.replace(" ", "") and "autoescape false" not in source, path.name


def test_script_in_a_customer_message_is_returned_as_json_data(client):
    start(client)
    response = client.post("/api/message", json={"text": "Sorry <b>about</b> that"})
    assert response.mimetype == "application/json"
    texts = [m["text"] for m in response.get_json()["messages"] if m["kind"] == "text"]
    assert texts == ["<script>alert('x')</script> You said: Sorry <b>about</b> that"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_static_js_parses():
    for path in STATIC_DIR.rglob("*.js"):
        result = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


# ---- secret key, entry point ----


def test_secret_key_is_created_once_with_private_permissions(tmp_path, monkeypatch, fake_rasa_server, web_db):
    monkeypatch.delenv("COACH_SECRET_KEY", raising=False)
    monkeypatch.setenv("COACH_VAR_DIR", str(tmp_path))
    first = create_app({"RASA_URL": fake_rasa_server[1], "DATABASE_URL": web_db})
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) >= 32
    second = create_app({"RASA_URL": fake_rasa_server[1], "DATABASE_URL": web_db})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    # A session made before a restart is still valid after it.
    before = signed_in_client(first)
    start(before)
    after = second.test_client()
    after.set_cookie("session", before.get_cookie("session").value)
    assert after.post("/api/message", json={"text": "still there?"}).status_code == 200


def test_secret_key_from_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_SECRET_KEY", "from-the-env")
    monkeypatch.setenv("COACH_VAR_DIR", str(tmp_path))
    assert create_app().config["SECRET_KEY"] == "from-the-env"
    assert not (tmp_path / "secret_key").exists()


def test_defaults_come_from_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_SECRET_KEY", "x")
    monkeypatch.delenv("COACH_HOST", raising=False)
    monkeypatch.setenv("COACH_RASA_PORT", "5999")
    monkeypatch.setenv("COACH_MAX_MESSAGE_CHARS", "123")
    app = create_app()
    assert app.config["RASA_URL"] == "http://127.0.0.1:5999"
    assert app.config["MAX_MESSAGE_CHARS"] == 123


def test_main_serves_with_waitress_on_the_configured_address(monkeypatch):
    import bot.web.__main__ as entry

    monkeypatch.setenv("COACH_SECRET_KEY", "x")
    monkeypatch.setenv("COACH_HOST", "127.0.0.1")
    monkeypatch.setenv("COACH_WEB_PORT", "8123")
    calls = []
    monkeypatch.setattr(entry, "serve", lambda app, **kwargs: calls.append((app, kwargs)))
    entry.main()
    (app, kwargs), = calls
    assert isinstance(app, Flask)
    assert kwargs == {"host": "127.0.0.1", "port": 8123, "threads": 8}


def test_python_m_bot_web_answers_healthz(tmp_path):
    """What the launcher starts: the real process, serving /healthz."""
    import requests

    port = free_port()
    env = dict(os.environ, COACH_HOST="127.0.0.1", COACH_WEB_PORT=str(port), COACH_VAR_DIR=str(tmp_path),
               COACH_RASA_PORT=str(free_port()), PYTHONPATH=str(WEB_DIR.parent.parent))
    env.pop("COACH_SECRET_KEY", None)
    process = subprocess.Popen([sys.executable, "-m", "bot.web"], env=env, cwd=WEB_DIR.parent.parent,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"python -m bot.web did not come up:\n{process.stdout.read().decode()}")
                time.sleep(0.2)
        assert response.json() == {"web": "ok", "rasa": "down"}
        assert (tmp_path / "secret_key").exists()
    finally:
        process.terminate()
        process.wait(timeout=10)


# ---- the page's script, run in node against a small fake DOM ----
#
# The flows of chat.js (an ES module importing the other chat-*.js modules) under node with a fake
# `document`, `fetch`, timers and sessionStorage:
# quicker than the browser tests and able to stop time (back-off timers) and the network at any
# point. The fake DOM's innerHTML throws, and a test fails if any element named "script" or
# anything other than text ever gets the untrusted strings.

NODE_HARNESS = r"""
const assert = require("assert");
const fs = require("fs");
const path = require("path");
const vm = require("vm");

class FakeNode {
  constructor(tag, text) {
    this.tagName = tag; this.nodeType = tag === "#text" ? 3 : 1; this._text = text || "";
    this.childNodes = []; this.parentNode = null; this.attrs = {}; this.className = "";
    this.hidden = false; this.value = ""; this.listeners = {}; this.disabled = false; this.readOnly = false;
    const self = this;
    this.classList = {
      add(c) { if (!self.classList.contains(c)) { self.className = (self.className + " " + c).trim(); } },
      remove(c) { self.className = self.className.split(/\s+/).filter(x => x && x !== c).join(" "); },
      contains(c) { return self.className.split(/\s+/).includes(c); },
      toggle(c, on) { if (on) { self.classList.add(c); } else { self.classList.remove(c); } },
    };
  }
  get firstChild() { return this.childNodes[0] || null; }
  appendChild(child) {
    if (child.parentNode) { child.parentNode.removeChild(child); }
    child.parentNode = this; this.childNodes.push(child); return child;
  }
  removeChild(child) {
    const at = this.childNodes.indexOf(child);
    if (at < 0) { throw new Error("not a child"); }
    this.childNodes.splice(at, 1); child.parentNode = null; return child;
  }
  get textContent() { return this.nodeType === 3 ? this._text : this.childNodes.map(c => c.textContent).join(""); }
  set textContent(value) {
    if (this.nodeType === 3) { this._text = String(value); return; }
    this.childNodes.forEach(c => { c.parentNode = null; }); this.childNodes = [];
    if (String(value) !== "") { this.appendChild(new FakeNode("#text", String(value))); }
  }
  get innerHTML() { throw new Error("innerHTML read"); }
  set innerHTML(v) { throw new Error("innerHTML written"); }
  insertAdjacentHTML() { throw new Error("insertAdjacentHTML used"); }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  fire(type, extra) {
    const event = Object.assign({ defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } }, extra || {});
    (this.listeners[type] || []).forEach(fn => fn(event)); return event;
  }
  focus() { fakeDocument.activeElement = this; }
  scrollIntoView() {}
  all() { return this.childNodes.flatMap(c => [c, ...c.all()]); }
  querySelector(selector) {
    const radio = /^input\[name='(\w+)'\](?::checked|\[value='(\w+)'\])$/.exec(selector);
    if (radio) {
      const group = radios[radio[1]];
      if (radio[2]) { return group.find(r => r.value === radio[2]) || null; }
      return group.find(r => r.checked) || null;
    }
    if (selector.startsWith(".")) { return this.all().find(n => n.nodeType === 1 && n.classList.contains(selector.slice(1))) || null; }
    throw new Error("selector not faked: " + selector);
  }
  byTag(tag) { return this.all().filter(n => n.tagName === tag); }
  byClass(c) { return this.all().filter(n => n.nodeType === 1 && n.classList.contains(c)); }
}

let elements = {};
let radios = {};
const fakeDocument = {
  activeElement: null,
  getElementById(id) {
    if (!elements[id]) { elements[id] = new FakeNode("div"); elements[id].id = id; }
    return elements[id];
  },
  createElement(tag) { return new FakeNode(tag); },
  createTextNode(text) { return new FakeNode("#text", text); },
};

// fetch: each path has a queue of answers; an answer may be a deferred promise or a network failure.
let calls = [];
let answers = {};
function answer(path, status, data) { (answers[path] = answers[path] || []).push({ status, data }); }
function networkDown(path) { (answers[path] = answers[path] || []).push({ down: true }); }
function deferred(path) {
  let release; const gate = new Promise(r => { release = r; });
  (answers[path] = answers[path] || []).push({ gate }); return release;
}
function fakeFetch(path, options) {
  calls.push({ path, method: options.method, body: options.body ? JSON.parse(options.body) : undefined });
  const next = (answers[path] || []).shift();
  if (!next) { return Promise.reject(new Error("no answer queued for " + path)); }
  if (next.down) { return Promise.reject(new TypeError("Failed to fetch")); }
  const respond = a => ({ ok: a.status >= 200 && a.status < 300, status: a.status, json: () => Promise.resolve(a.data) });
  return next.gate ? next.gate.then(respond) : Promise.resolve(respond(next));
}
// Timers run only when the test says so.
let timers = [];
function fakeSetTimeout(fn, ms) { timers.push({ fn, ms }); return timers.length; }
function fakeClearTimeout(id) { if (timers[id - 1]) { timers[id - 1].fn = null; } }
const store = new Map();
const fakeStorage = {
  get length() { return store.size; },
  key(i) { return Array.from(store.keys())[i] || null; },
  getItem(k) { return store.has(k) ? store.get(k) : null; },
  setItem(k, v) { store.set(k, String(v)); },
  removeItem(k) { store.delete(k); },
};
const tick = async (n = 10) => { for (let i = 0; i < n; i++) { await new Promise(r => setImmediate(r)); } };

// chat.js and the modules it imports, evaluated in `context` (node --experimental-vm-modules).
async function runModule(file, context) {
  const loaded = new Map();
  const load = target => {
    if (!loaded.has(target)) {
      loaded.set(target, new vm.SourceTextModule(fs.readFileSync(target, "utf8"), { identifier: target, context }));
    }
    return loaded.get(target);
  };
  const main = load(path.resolve(file));
  await main.link((specifier, referencing) => load(path.resolve(path.dirname(referencing.identifier), specifier)));
  await main.evaluate();
}

async function boot() {
  elements = {}; calls = []; timers = [];
  radios = {
    persona: [{ value: "angry", checked: true }, { value: "dispassionate", checked: false }],
    mode: [{ value: "coach", checked: true }, { value: "assessment", checked: false }],
  };
  ["persona", "mode"].forEach(name => radios[name].forEach(r => {
    // checking one radio unchecks the others, as in a browser
    let on = r.checked;
    Object.defineProperty(r, "checked", { get() { return on; }, set(v) { if (v) { radios[name].forEach(o => { if (o !== r) { o.checked = false; } }); } on = !!v; } });
  }));
  fakeDocument.getElementById("app").setAttribute("data-max-chars", "50");
  ["notice", "scorecard", "chat"].forEach(id => { fakeDocument.getElementById(id).hidden = true; });
  // The page loads feedback.js (the feedback box) before chat.js, into the same window.
  const context = vm.createContext({
    document: fakeDocument, fetch: fakeFetch, sessionStorage: fakeStorage, Promise, JSON, String, Object, Array,
    Number, Math, Date, parseInt, setTimeout: fakeSetTimeout, clearTimeout: fakeClearTimeout,
  });
  vm.runInContext(fs.readFileSync(process.argv[3], "utf8"), context);
  await runModule(process.argv[2], context);
}

const EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>";
const started = { kind: "custom", payload: { type: "session_started", session_id: "s", scenario: "kettle",
  title: "Broken kettle", persona: "angry", mode: "coach", customer_name: "Dana " + EVIL, mood: 20, turn_limit: 8 } };
const lastBody = path => calls.filter(c => c.path === path).slice(-1)[0].body;

(async () => {
  // ---- the scenario list: assigned first, picking one preselects its persona and mode ----
  answer("/api/scenarios", 200, {
    scenarios: [{ id: "kettle", title: "Broken kettle " + EVIL, customer_name: "Dana" }, { id: "phone", title: "Phone", customer_name: "Sam" }],
    assigned: [{ scenario: "phone", persona: "dispassionate", mode: "assessment", due_date: "2030-01-15",
                 curriculum: "Onboarding " + EVIL, pass_mark: 70, status: "not_started", status_label: "Not started" }],
    assignments: "available",
  });
  answer("/api/conversation", 200, { conversation: null });
  await boot();
  await tick();
  const select = elements.scenario;
  const groups = select.byTag("optgroup");
  assert.deepStrictEqual(groups.map(g => g.label), ["Assigned to you", "Optional practice"]);
  assert.deepStrictEqual(groups.map(g => g.childNodes.map(o => o.value)), [["phone"], ["kettle"]]);
  assert.ok(groups[1].childNodes[0].textContent.includes(EVIL));
  assert.ok(elements["assign-note"].textContent.includes("1 scenario is assigned"));
  select.value = "phone";
  select.fire("change");
  assert.strictEqual(radios.persona.find(r => r.checked).value, "dispassionate");
  assert.strictEqual(radios.mode.find(r => r.checked).value, "assessment");
  assert.ok(elements["scenario-help"].textContent.includes("Onboarding " + EVIL));
  assert.ok(elements["scenario-help"].textContent.includes("Pass mark 70"));
  radios.persona[0].checked = true; radios.mode[0].checked = true;

  // ---- start: the customer's opening, untrusted, lands as text under the customer's name ----
  answer("/api/session", 200, { conversation: "c1", messages: [{ kind: "text", text: "Opening " + EVIL }, started] });
  select.value = "kettle";
  elements["setup-form"].fire("submit");
  await tick();
  assert.deepStrictEqual(lastBody("/api/session"), { scenario: "kettle", persona: "angry", mode: "coach" });
  assert.strictEqual(elements.setup.hidden, true);
  assert.strictEqual(elements.chat.hidden, false);
  assert.strictEqual(elements.mood.hidden, false);
  assert.strictEqual(elements.log.byClass("msg-customer")[0].textContent, "Dana " + EVIL + ":Opening " + EVIL);
  assert.strictEqual(elements["mood-meter"].value, 20);

  // ---- Rasa down: the reply stays on screen as not delivered, with a retry; the box is free ----
  const reply = elements.reply;
  reply.value = "I am so sorry, Dana.";
  answer("/api/message", 503, { error: { code: "rasa_down", message: "The practice server is not answering." } });
  reply.fire("keydown", { key: "Enter", shiftKey: false });
  await tick();
  const firstTry = lastBody("/api/message");
  assert.strictEqual(firstTry.text, "I am so sorry, Dana.");
  assert.strictEqual(firstTry.conversation, "c1");
  assert.match(firstTry.message_id, /^[0-9a-f]{32}$/);
  assert.strictEqual(elements.notice.hidden, false);
  assert.ok(elements["notice-text"].textContent.startsWith("The practice server is not answering."));
  assert.ok(elements["notice-text"].textContent.includes("Trying again in 1 s"));
  assert.strictEqual(elements["retry-button"].hidden, false);
  assert.strictEqual(reply.value, "");
  let trainee = elements.log.byClass("msg-trainee");
  assert.strictEqual(trainee.length, 1);
  assert.ok(trainee[0].classList.contains("undelivered"));
  assert.ok(trainee[0].byClass("retry-one").length === 1);
  assert.strictEqual(elements.typing.hidden, true);
  // Kept for a reload too.
  assert.deepStrictEqual(JSON.parse(fakeStorage.getItem("coach-outbox:c1")).map(e => e.id), [firstTry.message_id]);

  // ---- the network drops on the automatic retry: same id again, back-off grows ----
  networkDown("/api/message");
  assert.strictEqual(timers.filter(t => t.fn).length, 1);
  assert.strictEqual(timers[0].ms, 1000);
  timers[0].fn();
  await tick();
  assert.strictEqual(lastBody("/api/message").message_id, firstTry.message_id);
  assert.ok(elements["notice-text"].textContent.includes("cannot be reached"));
  assert.strictEqual(timers[timers.length - 1].ms, 2000);

  // ---- the Retry button sends it again under the same id; the feedback marks the trainee's words ----
  answer("/api/message", 200, { messages: [
    { kind: "text", text: "Fine. " + EVIL },
    { kind: "custom", payload: { type: "feedback", turn: 1, mood: 31, mood_change: 11, checks: {
      apology: { found: true, evidence: ["sorry"], tip: null },
      next_step: { found: false, evidence: [], tip: "Say when " + EVIL },
      defensive: { found: false, evidence: [], tip: null } } } },
  ] });
  trainee[0].byClass("retry-one")[0].fire("click");
  await tick();
  assert.strictEqual(lastBody("/api/message").message_id, firstTry.message_id);
  assert.strictEqual(calls.filter(c => c.path === "/api/message").length, 3);
  assert.strictEqual(timers.filter(t => t.fn).length, 0, "the pending automatic retry was cancelled");
  assert.strictEqual(elements.notice.hidden, true);
  trainee = elements.log.byClass("msg-trainee");
  assert.strictEqual(trainee.length, 1);
  assert.ok(!trainee[0].classList.contains("undelivered"));
  const marks = trainee[0].byTag("mark");
  assert.strictEqual(marks.length, 1);
  assert.strictEqual(marks[0].textContent, "sorry");
  assert.strictEqual(marks[0].className, "good");
  assert.strictEqual(trainee[0].querySelector(".msg-text").textContent, "I am so sorry, Dana.");
  assert.ok(trainee[0].textContent.includes("Say when " + EVIL));
  assert.strictEqual(elements["mood-meter"].value, 31);
  assert.strictEqual(fakeStorage.getItem("coach-outbox:c1"), null);

  // ---- two replies sent quickly: one request at a time, answers in order, End after both ----
  const releaseFirst = deferred("/api/message");
  reply.value = "So it crashes every day?";
  elements.composer.fire("submit");
  reply.value = "I will call you by 5 pm.";
  reply.fire("keydown", { key: "Enter", shiftKey: false });
  elements["end-button"].fire("click");
  await tick();
  assert.strictEqual(calls.filter(c => c.path === "/api/message").length, 4, "the second waits for the first");
  assert.strictEqual(elements.typing.hidden, false);
  assert.strictEqual(elements.log.byClass("msg-trainee").length, 3);
  const releaseSecond = deferred("/api/message");
  releaseFirst({ status: 200, data: { messages: [{ kind: "text", text: "Every single day." }] } });
  await tick();
  assert.strictEqual(lastBody("/api/message").text, "I will call you by 5 pm.");
  assert.strictEqual(calls.filter(c => c.path === "/api/end").length, 0);
  answer("/api/end", 200, { messages: [{ kind: "custom", payload: { type: "scorecard", score: 55, passed: false,
    pass_mark: 70, outcome: "abandoned", criteria: {
      apology: { label: "Genuine apology", met: true, weight: 15, points: 15, explanation: "Earned at \u201csorry\u201d " + EVIL },
      next_step: { label: "Next step", met: false, weight: 20, points: 0, explanation: "Not met" } } } }] });
  releaseSecond({ status: 200, data: { messages: [{ kind: "text", text: "By 5 then." },
    { kind: "custom", payload: { type: "error", code: "x", message: "Rasa says " + EVIL } }] } });
  await tick(20);
  assert.deepStrictEqual(calls.slice(-2).map(c => c.path), ["/api/message", "/api/end"]);
  assert.strictEqual(calls[calls.length - 1].path, "/api/end");
  assert.match(lastBody("/api/end").message_id, /^[0-9a-f]{32}$/);
  const customerLines = elements.log.byClass("msg-customer").map(n => n.querySelector(".msg-text").textContent);
  assert.deepStrictEqual(customerLines.slice(-3), ["Fine. " + EVIL, "Every single day.", "By 5 then."]);
  const order = elements.log.childNodes.map(n => n.className.split(" ")[1]);
  assert.deepStrictEqual(order, ["msg-customer", "msg-trainee", "msg-customer", "msg-trainee", "msg-trainee", "msg-customer", "msg-customer"]);
  assert.ok(!elements.log.textContent.includes("Rasa says"), "a Rasa error is a notice, not a message");
  assert.strictEqual(elements["notice-text"].textContent, "Rasa says " + EVIL);
  assert.strictEqual(elements.scorecard.hidden, false);
  assert.strictEqual(elements.composer.hidden, true);
  assert.strictEqual(elements["score-rows"].childNodes.length, 2);
  assert.ok(elements["score-rows"].textContent.includes("Earned at \u201csorry\u201d " + EVIL));
  assert.ok(elements["score-summary"].textContent.startsWith("Score 55 / 100"));
  assert.strictEqual(fakeDocument.activeElement, elements["score-title"]);
  let all = Object.values(elements).flatMap(e => [e, ...e.all()]);
  assert.ok(!all.some(n => n.tagName === "script" || n.tagName === "img"));

  // ---- a reload: the server's transcript, then the replies this tab had not got answered ----
  fakeStorage.setItem("coach-outbox:c2", JSON.stringify([
    { id: "answered-before-reload", kind: "message", text: "Already answered" },
    { id: "never-delivered-000", kind: "message", text: "Still to send " + EVIL },
  ]));
  answer("/api/scenarios", 200, { scenarios: [{ id: "kettle", title: "Broken kettle", customer_name: "Dana" }], assignments: "unavailable" });
  answer("/api/conversation", 200, {
    conversation: "c2", answered: ["answered-before-reload"], opening: "Where is my kettle? " + EVIL,
    session: Object.assign({}, started.payload, { mode: "assessment", mood: null }),
    turns: [{ turn: 1, trainee: "Already answered", customer: "Hm. " + EVIL }],
  });
  const releaseRestored = deferred("/api/message");
  await boot();
  await tick(20);
  assert.ok(elements["assign-note"].textContent.includes("not set up"));
  assert.strictEqual(elements.setup.hidden, true);
  assert.strictEqual(elements.chat.hidden, false);
  assert.strictEqual(elements.mood.hidden, true, "assessment mode shows no mood");
  const restored = elements.log.childNodes.map(n => n.querySelector(".msg-text").textContent);
  assert.deepStrictEqual(restored, ["Where is my kettle? " + EVIL, "Already answered", "Hm. " + EVIL, "Still to send " + EVIL]);
  assert.strictEqual(elements.log.byClass("feedback").length, 0);
  assert.deepStrictEqual(lastBody("/api/message"), { message_id: "never-delivered-000", conversation: "c2", text: "Still to send " + EVIL });
  releaseRestored({ status: 200, data: { messages: [{ kind: "text", text: "Fine." }] } });
  await tick();
  assert.strictEqual(fakeStorage.getItem("coach-outbox:c2"), null);

  // ---- a refusal for good (another tab started a new conversation): words back in the box ----
  const freshReply = elements.reply;
  freshReply.value = "Are you still there?";
  answer("/api/message", 409, { error: { code: "conversation_changed", message: "A newer conversation was started." } });
  elements.composer.fire("submit");
  await tick();
  assert.strictEqual(elements["notice-text"].textContent, "A newer conversation was started.");
  assert.strictEqual(freshReply.value, "Are you still there?");
  assert.strictEqual(elements.log.byClass("msg-trainee").length, 2, "the refused reply left no bubble");
  assert.strictEqual(elements.composer.hidden, true);
  all = Object.values(elements).flatMap(e => [e, ...e.all()]);
  assert.ok(!all.some(n => n.tagName === "script" || n.tagName === "img"));
  console.log("ok");
})().catch(error => { console.error(error); process.exit(1); });
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_chat_js_flows_in_a_fake_dom(tmp_path):
    harness = tmp_path / "harness.js"
    harness.write_text(NODE_HARNESS, encoding="utf-8")
    result = subprocess.run(
        ["node", "--experimental-vm-modules", str(harness), str(STATIC_DIR / "chat.js"), str(STATIC_DIR / "feedback.js")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == "ok"
