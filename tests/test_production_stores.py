"""The production setup for several Rasa instances: tracker store in PostgreSQL, lock store in Redis.

Both against the real servers on loopback (PostgreSQL as in the storage tests; Redis at
COACH_TEST_REDIS_URL, default redis://127.0.0.1:6379/0).
"""
from __future__ import annotations

import dataclasses
import os
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.launcher import DEFAULT_MODEL, LOCK_STORE_URL_ENV, TRACKER_URL_ENV, free_port, start_all
from bot.rasa_client import RasaRestClient, start_command
from bot.settings import load_settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def tracker_database_url():
    """A PostgreSQL database of its own: Rasa's tables must not land in the storage tests' one."""
    from psycopg2 import sql
    from sqlalchemy.engine import make_url

    from conftest import _postgres_admin

    admin, dsn = _postgres_admin()
    name = f"coach_tracker_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(dsn).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture
def redis_url():
    import redis

    url = os.environ.get("COACH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if os.environ.get("COACH_SKIP_REDIS") == "1":
        pytest.skip("Redis is not available here (scripts/test_services.sh said why); COACH_SKIP_REDIS=1")
    try:
        redis.Redis.from_url(url, socket_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {url} is not answering ({exc}); start it (.ci/run does) or set COACH_TEST_REDIS_URL.")
    return url


def _lock_writes(url):
    import redis

    stats = redis.Redis.from_url(url).info("commandstats")
    return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_set", "cmdstat_del"))


def test_a_conversation_with_postgresql_tracker_and_redis_lock_store(
    tracker_database_url, redis_url, monkeypatch, tmp_path
):
    monkeypatch.setenv(TRACKER_URL_ENV, tracker_database_url)
    monkeypatch.setenv(LOCK_STORE_URL_ENV, redis_url)
    settings = dataclasses.replace(
        load_settings(), host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(),
        web_port=free_port(), var_dir=Path(tmp_path),
    )
    sender = f"prod-{uuid.uuid4().hex[:10]}"
    writes_before = _lock_writes(redis_url)
    with ExitStack() as stack:
        start_all(stack, settings=settings, model=DEFAULT_MODEL, with_web=False)
        client = RasaRestClient(settings.rasa_url, sender=sender, var_dir=settings.var_dir)
        assert client.payloads(client.send(start_command("laptop_at_home_service")), "session_started")
        assert client.payloads(client.send("I'm so sorry about the crashes, Dana."), "feedback")
    assert not (tmp_path / "rasa_tracker.db").exists(), "the SQLite tracker store was used"
    engine = create_engine(tracker_database_url)
    try:
        with engine.connect() as connection:
            events = connection.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar()
    finally:
        engine.dispose()
    assert events >= 4  # the start, the action, the reply and the customer's answer at least
    # Each message takes and releases the conversation's lock in Redis.
    assert _lock_writes(redis_url) - writes_before >= 4


def test_bad_store_urls_are_refused_with_the_variable_named(monkeypatch, tmp_path):
    from bot.launcher import write_endpoints

    settings = dataclasses.replace(load_settings(), var_dir=Path(tmp_path))
    monkeypatch.setenv(TRACKER_URL_ENV, "mysql://root@127.0.0.1/x")
    with pytest.raises(SystemExit, match=TRACKER_URL_ENV):
        write_endpoints(settings=settings, actions_url="http://127.0.0.1:1", tracker_db=tmp_path / "t.db")
    monkeypatch.delenv(TRACKER_URL_ENV)
    monkeypatch.setenv(LOCK_STORE_URL_ENV, "memcached://127.0.0.1")
    with pytest.raises(SystemExit, match=LOCK_STORE_URL_ENV):
        write_endpoints(settings=settings, actions_url="http://127.0.0.1:1", tracker_db=tmp_path / "t.db")
