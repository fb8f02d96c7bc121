"""The web app against a fake Rasa: a real HTTP server on a loopback port that mimics the REST
webhook, so the relay's timeouts, connection errors and empty answers are the real ones."""
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
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, Iterator, List

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from bot.launcher import free_port
from bot.web import create_app
from bot.web.relay import NO_ANSWER, RASA_DOWN, ConversationLocks

WEB_DIR = Path(__file__).resolve().parent.parent / "bot" / "web"
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"
LIMIT = 50


class FakeRasa:
    """Rasa's REST webhook with canned answers; `behaviour` says how to misbehave."""

    def __init__(self) -> None:
        self.received: List[Dict[str, str]] = []
        self.behaviour = "normal"  # normal | empty | slow | http_error
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


def make_app(*, rasa_url: str, **extra: Any) -> Flask:
    config = {"RASA_URL": rasa_url, "SECRET_KEY": "test-secret", "MAX_MESSAGE_CHARS": LIMIT, "RELAY_TIMEOUT": 5}
    config.update(extra)
    app = create_app(config)
    app.testing = True
    return app


@pytest.fixture
def app(fake_rasa, fake_rasa_server) -> Flask:
    return make_app(rasa_url=fake_rasa_server[1])


@pytest.fixture
def client(app):
    return app.test_client()


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
    assert re.fullmatch(r"[0-9a-f]{32}", conversation)
    assert client.post("/api/message", json={"text": "I am so sorry."}).status_code == 200
    assert client.post("/api/end", json={}).status_code == 200
    assert fake_rasa.senders() == [conversation] * 3
    assert fake_rasa.received[2]["message"] == "/end_session"


def test_two_clients_get_different_sender_ids(app, fake_rasa):
    first, second = app.test_client(), app.test_client()
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
    client.post("/api/message", json={"text": "hi", "sender": "victim", "conversation": "victim"})
    assert "victim" not in fake_rasa.senders()
    assert fake_rasa.senders() == [conversation, conversation]


def test_cookie_signed_with_another_key_is_not_a_session(app, fake_rasa, fake_rasa_server):
    other = make_app(rasa_url=fake_rasa_server[1], SECRET_KEY="someone-elses-key").test_client()
    start(other)
    forged = other.get_cookie("session")
    assert forged is not None
    client = app.test_client()
    client.set_cookie("session", forged.value)
    response = client.post("/api/message", json={"text": "hi"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "no_session"


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
    response = client.post(path, data="text=hello", content_type="application/x-www-form-urlencoded")
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
def test_rasa_down_is_503_rasa_down(call):
    client = make_app(rasa_url=closed_port_url()).test_client()
    with client.session_transaction() as cookie:
        cookie["conversation"] = "a" * 32
    if call == "session":
        response = start(client)
    elif call == "message":
        response = client.post("/api/message", json={"text": "hello"})
    else:
        response = client.post("/api/end", json={})
    assert response.status_code == 503
    assert response.get_json() == {"error": {"code": "rasa_down", "message": RASA_DOWN}}


def test_slow_rasa_is_503_rasa_down(fake_rasa, fake_rasa_server):
    client = make_app(rasa_url=fake_rasa_server[1], RELAY_TIMEOUT=0.3).test_client()
    start(client)
    fake_rasa.delay = 1.5
    started = time.monotonic()
    response = client.post("/api/message", json={"text": "hello"})
    assert time.monotonic() - started < 1.4
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "rasa_down"


# ---- ordering ----


def test_messages_of_one_conversation_reach_rasa_one_at_a_time(app, fake_rasa):
    first = app.test_client()
    start(first)
    second = app.test_client()
    second.set_cookie("session", first.get_cookie("session").value)  # the same conversation, two tabs
    other = app.test_client()
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


# ---- health, scenarios ----


def test_healthz_reports_rasa_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"web": "ok", "rasa": "ok"}


def test_healthz_reports_rasa_down_with_200():
    response = make_app(rasa_url=closed_port_url()).test_client().get("/healthz")
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


def test_secret_key_is_created_once_with_private_permissions(tmp_path, monkeypatch, fake_rasa_server):
    monkeypatch.delenv("COACH_SECRET_KEY", raising=False)
    monkeypatch.setenv("COACH_VAR_DIR", str(tmp_path))
    first = create_app({"RASA_URL": fake_rasa_server[1]})
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) >= 32
    second = create_app({"RASA_URL": fake_rasa_server[1]})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    # A session made before a restart is still valid after it.
    before = first.test_client()
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
# No browser is installed here, so the flows of chat.js run under node with a fake `document`
# and `fetch`. The fake DOM's innerHTML throws, and a test fails if any element named "script"
# or anything other than text ever gets the untrusted strings.

NODE_HARNESS = r"""
const assert = require("assert");
const fs = require("fs");
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
    const checked = /^input\[name='(\w+)'\]:checked$/.exec(selector);
    if (checked) { return { value: { persona: "angry", mode: "coach" }[checked[1]] }; }
    if (selector.startsWith(".")) { return this.all().find(n => n.nodeType === 1 && n.classList.contains(selector.slice(1))) || null; }
    throw new Error("selector not faked: " + selector);
  }
  byTag(tag) { return this.all().filter(n => n.tagName === tag); }
  byClass(c) { return this.all().filter(n => n.nodeType === 1 && n.classList.contains(c)); }
}

const elements = {};
const fakeDocument = {
  activeElement: null,
  getElementById(id) {
    if (!elements[id]) { elements[id] = new FakeNode("div"); elements[id].id = id; }
    return elements[id];
  },
  createElement(tag) { return new FakeNode(tag); },
  createTextNode(text) { return new FakeNode("#text", text); },
};
fakeDocument.getElementById("app").setAttribute("data-max-chars", "50");
["setup", "notice", "scorecard", "chat"].forEach(id => { fakeDocument.getElementById(id); });
elements.notice.hidden = true; elements.scorecard.hidden = true; elements.chat.hidden = true;

// fetch: each path has a queue of answers; an answer may be a deferred promise.
const calls = [];
const answers = {};
function answer(path, status, data) { (answers[path] = answers[path] || []).push({ status, data }); }
function deferred(path) {
  let release; const gate = new Promise(r => { release = r; });
  (answers[path] = answers[path] || []).push({ gate }); return release;
}
function fakeFetch(path, options) {
  calls.push({ path, method: options.method, body: options.body ? JSON.parse(options.body) : undefined });
  const next = (answers[path] || []).shift();
  if (!next) { return Promise.reject(new Error("no answer queued for " + path)); }
  const respond = a => ({ ok: a.status >= 200 && a.status < 300, status: a.status, json: () => Promise.resolve(a.data) });
  return next.gate ? next.gate.then(respond) : Promise.resolve(respond(next));
}
const tick = async (n = 10) => { for (let i = 0; i < n; i++) { await new Promise(r => setImmediate(r)); } };

const EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>";
const started = { kind: "custom", payload: { type: "session_started", session_id: "s", scenario: "kettle",
  title: "Broken kettle", persona: "angry", mode: "coach", customer_name: "Dana " + EVIL, mood: 20, turn_limit: 8 } };

(async () => {
  answer("/api/scenarios", 200, { scenarios: [{ id: "kettle", title: "Broken kettle " + EVIL, customer_name: "Dana" }] });
  vm.runInNewContext(fs.readFileSync(process.argv[2], "utf8"),
    { document: fakeDocument, fetch: fakeFetch, Promise, JSON, String, Object, Array, parseInt, setTimeout });
  await tick();
  const select = elements.scenario;
  assert.strictEqual(select.childNodes.length, 2);
  assert.ok(select.childNodes[1].textContent.includes(EVIL));
  assert.strictEqual(select.childNodes[1].value, "kettle");

  // Start: the customer's opening, untrusted, lands as text.
  answer("/api/session", 200, { conversation: "c1", messages: [{ kind: "text", text: "Opening " + EVIL }, started] });
  select.value = "kettle";
  elements["setup-form"].fire("submit");
  await tick();
  assert.deepStrictEqual(calls[1], { path: "/api/session", method: "POST", body: { scenario: "kettle", persona: "angry", mode: "coach" } });
  assert.strictEqual(elements.setup.hidden, true);
  assert.strictEqual(elements.chat.hidden, false);
  assert.ok(elements.log.textContent.includes("Opening " + EVIL));
  assert.strictEqual(elements["mood-meter"].value, 20);

  // Rasa down: the notice offers a retry, the reply stays in the box, no bubble is left.
  const reply = elements.reply;
  reply.value = "I am so sorry, Dana.";
  answer("/api/message", 503, { error: { code: "rasa_down", message: "The practice server is not answering." } });
  reply.fire("keydown", { key: "Enter", shiftKey: false });
  await tick();
  assert.strictEqual(elements.notice.hidden, false);
  assert.strictEqual(elements["notice-text"].textContent, "The practice server is not answering.");
  assert.strictEqual(elements["retry-button"].hidden, false);
  assert.strictEqual(reply.value, "I am so sorry, Dana.");
  assert.strictEqual(elements.log.byClass("msg-trainee").length, 0);
  assert.strictEqual(reply.readOnly, false);

  // Retry sends the same text; the answer's feedback marks the evidence in the trainee's words.
  answer("/api/message", 200, { messages: [
    { kind: "text", text: "Fine. " + EVIL },
    { kind: "custom", payload: { type: "feedback", turn: 1, mood: 31, mood_change: 11, checks: {
      apology: { found: true, evidence: ["sorry"], tip: null },
      next_step: { found: false, evidence: [], tip: "Say when " + EVIL },
      defensive: { found: false, evidence: [], tip: null } } } },
  ] });
  elements["retry-button"].fire("click");
  await tick();
  assert.deepStrictEqual(calls[calls.length - 1].body, { text: "I am so sorry, Dana." });
  assert.strictEqual(elements.notice.hidden, true);
  const trainee = elements.log.byClass("msg-trainee");
  assert.strictEqual(trainee.length, 1);
  const marks = trainee[0].byTag("mark");
  assert.strictEqual(marks.length, 1);
  assert.strictEqual(marks[0].textContent, "sorry");
  assert.strictEqual(marks[0].className, "good");
  assert.strictEqual(trainee[0].querySelector(".msg-text").textContent, "I am so sorry, Dana.");
  assert.ok(trainee[0].textContent.includes("Say when " + EVIL));
  assert.strictEqual(reply.value, "");
  assert.strictEqual(elements["mood-meter"].value, 31);

  // One request at a time: End waits for the reply before it is sent.
  reply.value = "We will call you tomorrow.";
  const release = deferred("/api/message");
  elements.composer.fire("submit");
  elements["end-button"].fire("click");
  await tick();
  assert.strictEqual(calls[calls.length - 1].path, "/api/message");
  assert.strictEqual(elements.typing.hidden, false);
  assert.strictEqual(reply.readOnly, true);
  answer("/api/end", 200, { messages: [{ kind: "custom", payload: { type: "scorecard", score: 55, passed: false,
    pass_mark: 70, outcome: "abandoned", criteria: {
      apology: { label: "Genuine apology", met: true, weight: 15, points: 15, explanation: "Earned " + EVIL },
      next_step: { label: "Next step", met: false, weight: 20, points: 0, explanation: "Not met" } } } }] });
  release({ status: 200, data: { messages: [{ kind: "text", text: "Tomorrow then." },
    { kind: "custom", payload: { type: "error", code: "x", message: "Rasa says " + EVIL } }] } });
  await tick(20);
  const order = calls.map(c => c.path);
  assert.deepStrictEqual(order.slice(-2), ["/api/message", "/api/end"]);
  const bubbles = elements.log.byClass("msg");
  assert.strictEqual(bubbles[bubbles.length - 1].textContent, "Dana " + EVIL + ":Tomorrow then.");
  assert.ok(!elements.log.textContent.includes("Rasa says"), "a Rasa error is a notice, not a message");
  assert.strictEqual(elements["notice-text"].textContent, "Rasa says " + EVIL);
  assert.strictEqual(elements.scorecard.hidden, false);
  assert.strictEqual(elements.composer.hidden, true);
  assert.strictEqual(elements["score-rows"].childNodes.length, 2);
  assert.ok(elements["score-summary"].textContent.startsWith("Score 55 / 100"));
  assert.strictEqual(fakeDocument.activeElement, elements["score-title"]);

  // No element was ever made from the untrusted strings.
  const all = Object.values(elements).flatMap(e => [e, ...e.all()]);
  assert.ok(!all.some(n => n.tagName === "script" || n.tagName === "img"));
  console.log("ok");
})().catch(error => { console.error(error); process.exit(1); });
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_chat_js_flows_in_a_fake_dom(tmp_path):
    harness = tmp_path / "harness.js"
    harness.write_text(NODE_HARNESS, encoding="utf-8")
    result = subprocess.run(
        ["node", str(harness), str(STATIC_DIR / "chat.js")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == "ok"
