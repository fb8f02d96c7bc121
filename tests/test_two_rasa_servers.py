"""Two real Rasa servers (and their action servers) on PostgreSQL and Redis: a conversation's
own server is killed with SIGKILL, and the relay carries it on the other one from the turn
where it was, because both read the same tracker under the same lock."""
from __future__ import annotations

import dataclasses
import signal
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest

from bot import db
from bot.launcher import DEFAULT_MODEL, LOCK_STORE_URL_ENV, TRACKER_URL_ENV, free_port_run, start_all
from bot.rasa_client import END_COMMAND, start_command
from bot.service_secret import load_service_secret
from bot.web.relay import ConversationLocks, RasaRelay, server_order
from conftest import assistant_settings
from test_production_stores import redis_url, tracker_database_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e


def _payloads(messages, kind):
    """The relay's normalised messages of one custom payload type."""
    return [m["payload"] for m in messages if m["kind"] == "custom" and m["payload"].get("type") == kind]



def test_a_conversation_goes_on_on_the_other_server_when_its_own_is_killed(
    tmp_path, monkeypatch, tracker_database_url, redis_url, postgres_database_url  # noqa: F811
):
    monkeypatch.setenv(TRACKER_URL_ENV, tracker_database_url)
    monkeypatch.setenv(LOCK_STORE_URL_ENV, redis_url)
    monkeypatch.setenv(db.DATABASE_URL_ENV, postgres_database_url)
    settings = dataclasses.replace(assistant_settings(Path(tmp_path)), rasa_instances=2,
                                   rasa_port=free_port_run(2), actions_port=free_port_run(2))
    with ExitStack() as stack:
        services = {s.name: s for s in start_all(stack, settings=settings, model=DEFAULT_MODEL, with_web=False)}
        assert set(services) == {"Action server", "Rasa server", "Action server 2", "Rasa server 2"}
        urls = [settings.rasa_url, f"http://127.0.0.1:{settings.rasa_port + 1}"]
        relay = RasaRelay(rasa_url=urls[0], rasa_urls=urls, timeout=120, locks=ConversationLocks(),
                          secret=load_service_secret(settings.var_dir))
        # A conversation whose own server is the second one.
        conversation = next(c for c in (f"two-{uuid.uuid4().hex[:12]}" for _ in range(100))
                            if server_order(c, urls)[0] == urls[1])
        messages = relay.send(conversation=conversation,
                              message=start_command("phone_warranty_water_damage", "angry"))
        (started,) = _payloads(messages, "session_started")
        (first,) = _payloads(
            relay.send(conversation=conversation, message="Hello Marcus, I'm sorry your repair was refused."),
            "feedback")
        assert first["turn"] == 1

        services["Rasa server 2"].process.send_signal(signal.SIGKILL)
        services["Rasa server 2"].process.wait(timeout=30)
        (second,) = _payloads(
            relay.send(conversation=conversation,
                       message="What exactly did the repair centre tell you about the water damage?"),
            "feedback")
        assert second["turn"] == 2  # the other server read the tracker the first one wrote
        (card,) = _payloads(relay.send(conversation=conversation, message=END_COMMAND), "scorecard")
        assert card["session_id"] == started["session_id"]

    engine = db.make_engine(postgres_database_url)
    with db.session_scope(engine) as session:
        transcript = db.get_transcript(session=session, session_id=started["session_id"])
        assert [t.number for t in transcript.turns] == [1, 2]
        assert transcript.scorecard is not None
    engine.dispose()
