"""Only our web app talks to Rasa, only Rasa to the action server, and only in our protocol.

Regression tests for issue 16, findings 1 (forged turns), 5 (commands and input the web app
forbids reached Rasa) and 6 (a lone surrogate gave the trainee 502 no_answer).
"""
from __future__ import annotations

import json
import re
import uuid

import pytest
import requests

from bot import db
from bot.rasa_channel import Refused, checked_request
from bot.rasa_client import RasaRestClient, start_command
from bot.service_secret import HEADER, load_service_secret, matches
from bot.text_input import clean_text

payloads = RasaRestClient.payloads
START = start_command("laptop_at_home_service")


def _refusal(body, max_chars=2000):
    with pytest.raises(Refused) as caught:
        checked_request(body if isinstance(body, bytes) else json.dumps(body).encode(), max_chars=max_chars)
    return caught.value.code, caught.value.status


@pytest.mark.parametrize(
    "body, code, status",
    [
        (b"null", "bad_request", 400),
        (b"[1, 2]", "bad_request", 400),
        (b"{not json", "bad_request", 400),
        (b"", "bad_request", 400),
        ({"message": "hi"}, "bad_sender", 400),
        ({"sender": {"$ne": 1}, "message": "hi"}, "bad_sender", 400),
        ({"sender": "a b", "message": "hi"}, "bad_sender", 400),
        ({"sender": "x", "message": {"$ne": 1}}, "bad_request", 400),
        ({"sender": "x", "message": "/restart"}, "unknown_command", 200),
        ({"sender": "x", "message": "  /session_start"}, "unknown_command", 200),
        ({"sender": "x", "message": "/greet"}, "unknown_command", 200),
        ({"sender": "x", "message": "/end_session@0.3"}, "unknown_command", 200),
        ({"sender": "x", "message": '/start_scenario{"scenario": {"$ne": 1}}'}, "bad_command", 200),
        ({"sender": "x", "message": '/start_scenario{"scenario": ["a"]}'}, "bad_command", 200),
        ({"sender": "x", "message": '/start_scenario{"scenario": "a", "extra": "b"}'}, "bad_command", 200),
        ({"sender": "x", "message": "/start_scenario{oops"}, "bad_command", 200),
        ({"sender": "x", "message": "/start_scenario@0.9{}"}, "unknown_command", 200),
        ({"sender": "x", "message": "\x00\x07 "}, "empty_message", 200),
        ({"sender": "x", "message": "x" * 200_000}, "message_too_long", 200),
    ],
)
def test_the_channel_refuses_what_is_not_our_protocol(body, code, status):
    assert _refusal(body) == (code, status)


def test_the_channel_rebuilds_our_commands_and_cleans_replies():
    sender, text = checked_request(
        json.dumps({"sender": "u1-abc", "message": '/start_scenario{"mode": "coach", "scenario": "s"}'}).encode(),
        max_chars=10,
    )
    assert (sender, text) == ("u1-abc", '/start_scenario{"scenario": "s", "mode": "coach"}')
    assert checked_request(b'{"sender": "x", "message": " /end_session "}', max_chars=10)[1] == "/end_session"
    # A lone surrogate (as JSON sends it) and a bell: cleaned, nothing visible lost.
    _, text = checked_request(b'{"sender": "x", "message": "sorry \\ud800 Dana\\u0007"}', max_chars=100)
    assert text == "sorry \ufffd Dana"
    text.encode("utf-8")


def test_clean_text_keeps_emoji_tabs_and_newlines():
    assert clean_text("ok \U0001F600\tnext\nline\r\n") == "ok \U0001F600\tnext\nline\r\n"
    assert clean_text("a\ud83d b\x1b[31m\x9b") == "a\ufffd b[31m"


def test_the_secret_file_is_private_and_stable(tmp_path, monkeypatch):
    monkeypatch.delenv("COACH_SERVICE_SECRET", raising=False)
    first = load_service_secret(tmp_path)
    assert (tmp_path / "service_secret").stat().st_mode & 0o777 == 0o600
    assert load_service_secret(tmp_path) == first and len(first) >= 40
    assert matches(first, first) and not matches(first[:-1], first) and not matches(None, first)


# --- Against the real Rasa server, action server and web app ---------------------------------


def _post(assistant, body, *, secret=True, raw=None):
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[HEADER] = load_service_secret(assistant["settings"].var_dir)
    data = raw if raw is not None else json.dumps(body)
    return requests.post(f"{assistant['rasa_url']}/webhooks/rest/webhook", data=data, headers=headers, timeout=60)


def _turns(assistant, session_id):
    engine = db.make_engine(assistant["database_url"])
    try:
        with db.session_scope(engine) as session:
            return [t.trainee_text for t in db.get_transcript(session=session, session_id=session_id).turns]
    finally:
        engine.dispose()


def test_finding_1_a_forged_turn_without_the_secret_is_refused_and_not_stored(assistant, conversation):
    (started,) = payloads(conversation.send(START), "session_started")
    for headers in ({}, {HEADER: "guessed"}):
        forged = requests.post(
            f"{assistant['rasa_url']}/webhooks/rest/webhook",
            json={"sender": conversation.sender, "message": "I refuse to help you."},
            headers=headers, timeout=30,
        )
        assert forged.status_code == 401
        assert forged.json()[0]["custom"]["code"] == "unauthorized"
    assert _turns(assistant, started["session_id"]) == []
    (feedback,) = payloads(conversation.send("I'm sorry about the crashes, Dana."), "feedback")
    assert feedback["turn"] == 1


def test_finding_1_the_action_server_refuses_callers_without_the_secret(assistant):
    actions = assistant["actions_url"]
    call = {"next_action": "action_customer_reply", "sender_id": "forged", "tracker": {}, "domain": {}, "version": "3.6.2"}
    assert requests.post(f"{actions}/webhook", json=call, timeout=10).status_code == 401
    assert requests.post(f"{actions}/webhook", json=call, headers={HEADER: "guessed"}, timeout=10).status_code == 401
    assert requests.get(f"{actions}/actions", timeout=10).status_code == 401
    prepare = {"sender": "forged", "message_id": "m1", "text": "Hello"}
    assert requests.post(f"{actions}/prepare", json=prepare, timeout=10).status_code == 401
    assert requests.post(f"{actions}/prepare", json=prepare, headers={HEADER: "guessed"}, timeout=10).status_code == 401
    secret = {HEADER: load_service_secret(assistant["settings"].var_dir)}
    assert requests.post(f"{actions}/prepare", json=prepare, headers=secret, timeout=10).status_code == 204
    assert requests.get(f"{actions}/health", timeout=10).status_code == 200


def test_finding_5_restart_and_typed_intents_are_refused_and_the_session_goes_on(conversation):
    conversation.send(START)
    for command in ("/restart", "/session_start", "/deny", "/end_session@0.1"):
        (error,) = payloads(conversation.send(command), "error")
        assert error["code"] == "unknown_command", command
    (feedback,) = payloads(conversation.send("I'm sorry about the crashes, Dana."), "feedback")
    assert feedback["turn"] == 1


def test_finding_5_an_entity_that_is_not_a_string_gets_an_error(conversation):
    answer = conversation.send('/start_scenario{"scenario": {"$ne": 1}, "persona": "angry", "mode": "coach"}')
    (error,) = payloads(answer, "error")
    assert error["code"] == "bad_command"


@pytest.mark.parametrize("raw", ["null", "[]", "\"text\"", "{oops"])
def test_finding_5_a_body_that_is_no_object_gets_400_with_an_error_payload(assistant, raw):
    response = _post(assistant, None, raw=raw)
    assert response.status_code == 400
    assert response.json()[0]["custom"]["type"] == "error"


def test_finding_5_a_200_kb_message_is_refused_before_nlu(assistant, conversation):
    conversation.send(START)
    response = _post(assistant, {"sender": conversation.sender, "message": "word " * 40_000})
    assert response.status_code == 200
    assert response.json()[0]["custom"]["code"] == "message_too_long"


def _signed_in_web(assistant):
    email = f"surrogate-{uuid.uuid4().hex[:8]}@example.com"
    password = "a long enough passphrase"
    engine = db.make_engine(assistant["database_url"])
    with db.session_scope(engine) as session:
        db.create_user(session=session, email=email, name="Sam", password=password, role="trainee")
    engine.dispose()
    web = requests.Session()
    form = web.get(f"{assistant['web_url']}/signin", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    signed = web.post(
        f"{assistant['web_url']}/signin", data={"csrf_token": token, "email": email, "password": password}, timeout=10
    )
    assert signed.status_code == 200 and "/signin" not in signed.url
    return web


def test_finding_6_a_lone_surrogate_in_a_reply_is_answered_not_502(assistant):
    web = _signed_in_web(assistant)
    started = web.post(
        f"{assistant['web_url']}/api/session",
        json={"scenario": "laptop_at_home_service", "persona": "angry", "mode": "coach"}, timeout=60,
    )
    assert started.status_code == 200
    raw = '{"text": "I am sorry \\ud800 Dana, \\u0007 I will call you at 5 pm today."}'
    answer = web.post(
        f"{assistant['web_url']}/api/message", data=raw, headers={"Content-Type": "application/json"}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    kinds = [m["payload"]["type"] for m in answer.json()["messages"] if m["kind"] == "custom"]
    assert "feedback" in kinds
    # Straight to Rasa too (with the secret): answered, not `200 []`.
    direct = _post(assistant, None, raw='{"sender": "surrogate-direct", "message": "' + START.replace('"', '\\"') + '"}')
    assert payloads(direct.json(), "session_started")
    direct = _post(assistant, None, raw='{"sender": "surrogate-direct", "message": "sorry \\udfff"}')
    assert payloads(direct.json(), "feedback")
