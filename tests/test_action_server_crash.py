"""The action server is killed (SIGKILL) in the middle of a conversation, on an assistant of
this module's own (the shared `assistant` fixture is left alone): every turn that got an answer
is in the database with its checks, Rasa stays up and answers, and nothing earlier is lost
once the action server is back."""
from __future__ import annotations

import signal
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Dict, List

import pytest
import requests

from bot import db
from bot.launcher import DEFAULT_MODEL, prepare_database, start_all
from bot.rasa_client import END_COMMAND, RasaRestClient, start_command
from conftest import assistant_settings

pytestmark = pytest.mark.e2e

REPLIES = [
    "Hello Marcus, I'm sorry your repair was refused.",
    "What exactly did the repair centre tell you about the water damage?",
]
IN_FLIGHT = "So the phone was refused although it never got wet, is that right?"


@pytest.fixture(scope="module")
def own_assistant(tmp_path_factory):
    settings = assistant_settings(Path(tmp_path_factory.mktemp("crash-var")))
    with ExitStack() as stack:
        services = {s.name: s for s in start_all(stack, settings=settings, model=DEFAULT_MODEL, with_web=False)}
        # start_all migrated this database (COACH_DATABASE_URL if set, else SQLite in the var
        # dir); migrating again is a no-op that tells where it is.
        yield {"settings": settings, "services": services, "database_url": prepare_database(settings)}


def _payloads(messages: List[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    return RasaRestClient.payloads(messages, kind)


def _stored(database_url: str, session_id: str) -> db.Transcript:
    engine = db.make_engine(database_url)
    try:
        with db.session_scope(engine) as session:
            transcript = db.get_transcript(session=session, session_id=session_id)
            assert transcript is not None, "the session was never stored"
            return transcript
    finally:
        engine.dispose()


def test_killed_action_server_loses_no_answered_turn(own_assistant):
    settings = own_assistant["settings"]
    rasa, actions = own_assistant["services"]["Rasa server"], own_assistant["services"]["Action server"]
    conversation = RasaRestClient(settings.rasa_url, sender=f"crash-{uuid.uuid4().hex[:12]}", var_dir=settings.var_dir)

    (started,) = _payloads(conversation.send(start_command("phone_warranty_water_damage", "angry")), "session_started")
    answered: Dict[int, Dict[str, Any]] = {}
    for text in REPLIES:
        (feedback,) = _payloads(conversation.send(text), "feedback")
        answered[feedback["turn"]] = {"text": text, "checks": feedback["checks"]}
    assert sorted(answered) == [1, 2]

    # Kill the action server while the third reply is on its way: it may or may not get its answer.
    result: Dict[str, Any] = {}

    def send_in_flight() -> None:
        try:
            result["messages"] = conversation.send(IN_FLIGHT)
        except requests.RequestException as exc:  # recorded, asserted on below
            result["error"] = exc

    sender = threading.Thread(target=send_in_flight)
    sender.start()
    time.sleep(0.05)
    actions.process.send_signal(signal.SIGKILL)
    actions.process.wait(timeout=10)
    sender.join(timeout=90)
    assert not sender.is_alive(), "Rasa never answered the message sent while the action server died"
    # Rasa answers over HTTP, with nothing or with the turn it completed in time, and does not crash.
    assert "error" not in result, result.get("error")
    in_flight = _payloads(result["messages"], "feedback")
    for feedback in in_flight:
        answered[feedback["turn"]] = {"text": IN_FLIGHT, "checks": feedback["checks"]}

    # With the action server gone, the next message gets a no_answer error, not an error page or a hang.
    # Not silence (stock Rasa's `200 []`): our channel says the customer could not answer.
    assert [e["code"] for e in _payloads(conversation.send("Are you still there?"), "error")] == ["no_answer"]
    assert rasa.process.poll() is None, "the Rasa server died with the action server"
    assert requests.get(f"{settings.rasa_url}/", timeout=10).status_code == 200

    transcript = _stored(own_assistant["database_url"], started["session_id"])
    stored = {t.number: t for t in transcript.turns}
    for number, turn in answered.items():
        assert number in stored, f"answered turn {number} is not in the database"
        assert stored[number].trainee_text == turn["text"]
        assert stored[number].checks == turn["checks"]
        assert all(isinstance(v["found"], bool) for v in stored[number].checks.values())
    assert "Are you still there?" not in [t.trainee_text for t in transcript.turns]

    # Back up: the conversation goes on from where it was, and the earlier turns are untouched.
    actions.start().wait_until_up()
    (feedback,) = _payloads(conversation.send("I'll call the repair centre today and email you by 4 pm."), "feedback")
    assert feedback["turn"] == max(answered) + 1
    (card,) = _payloads(conversation.send(END_COMMAND), "scorecard")
    assert card["session_id"] == started["session_id"]
    transcript = _stored(own_assistant["database_url"], started["session_id"])
    assert [t.number for t in transcript.turns] == list(range(1, feedback["turn"] + 1))
    for number, turn in answered.items():
        assert transcript.turns[number - 1].checks == turn["checks"]
    assert transcript.session.ended_at is not None and transcript.scorecard is not None
