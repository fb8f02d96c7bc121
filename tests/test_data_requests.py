"""Data requests and backups: `python -m bot.db export-user`, `erase-user`, `backup` and `restore`."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select

from bot import db
from bot.db import audit
from bot.db.models import AuditEntry


def run(url, tmp_path, *args, **kw):
    env = dict(os.environ, COACH_DATABASE_URL=url, COACH_VAR_DIR=str(tmp_path / "var"))
    env.pop("COACH_TRACKER_DB_URL", None)
    return subprocess.run([sys.executable, "-m", "bot.db", *args], capture_output=True, text=True, env=env, **kw)


@pytest.fixture
def people(url):
    """A trainee with one reviewed session, and the trainer who reviewed it."""
    engine = db.make_engine(url)
    with db.session_scope(engine) as s:
        trainee = db.create_user(session=s, email="dana@example.com", name="Dana", password="x" * 12, role="trainee")
        trainer = db.create_user(session=s, email="tom@example.com", name="Tom", password="x" * 12, role="trainer")
        other = db.create_user(session=s, email="kim@example.com", name="Kim", password="x" * 12, role="trainee")
        ids = trainee.id, trainer.id, other.id
    with db.session_scope(engine) as s:
        for user_id, sid in ((ids[0], "s-dana"), (ids[2], "s-kim")):
            db.claim_conversation(session=s, sender_id=f"u{user_id}-abc", user_id=user_id)
            db.record_session_start(session=s, session_id=sid, sender_id=f"u{user_id}-abc", user_id=user_id,
                                    scenario="laptop_at_home_service", persona="angry", mode="coach", opening="Hi")
            turn = db.record_turn(session=s, session_id=sid, number=1, trainee_text=f"Sorry ({sid})",
                                  customer_text="Ok", checks={"apology": {"found": True, "evidence": [], "tip": None}},
                                  checks_version="t")
            db.override_check(session=s, turn_id=turn.id, check="apology", trainer_found=False, reason="No.",
                              reviewer_id=ids[1])
            db.add_comment(session=s, turn_id=turn.id, author_id=ids[1], text="Say why.")
        audit.record(session=s, action="password_reset", subject=("user", ids[0]))
    return {"engine": engine, "dana": ids[0], "tom": ids[1], "kim": ids[2]}


def test_export_user_writes_everything_about_the_trainee_and_no_password_hash(url, tmp_path, people):
    out = tmp_path / "dana.json"
    result = run(url, tmp_path, "export-user", "--email", "Dana@Example.com", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    data = json.loads(out.read_text())
    assert data["user"]["email"] == "dana@example.com" and "password_hash" not in data["user"]
    assert [s["id"] for s in data["practice_sessions"]] == ["s-dana"]
    assert [t["trainee_text"] for t in data["turns"]] == ["Sorry (s-dana)"]
    assert len(data["check_overrides"]) == 1 and len(data["turn_comments"]) == 1
    assert [e["action"] for e in data["audit_entries"]] == ["password_reset"]
    assert "s-kim" not in out.read_text()
    with db.session_scope(people["engine"]) as s:
        assert audit.list_entries(session=s, action="user_data_exported").total == 1


def test_erase_user_deletes_everything_about_the_trainee_and_keeps_the_audit_log(url, tmp_path, people):
    var = tmp_path / "var"
    var.mkdir()
    tracker = sqlite3.connect(var / "rasa_tracker.db")
    tracker.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)")
    tracker.executemany("INSERT INTO events (sender_id, data) VALUES (?, ?)",
                        [(f"u{people['dana']}-abc", "{}")] * 3 + [(f"u{people['kim']}-abc", "{}")])
    tracker.commit()
    refused = run(url, tmp_path, "erase-user", "--email", "dana@example.com", input="")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    result = run(url, tmp_path, "erase-user", "--email", "dana@example.com", "--yes")
    assert result.returncode == 0, result.stderr
    assert "3 event(s) from Rasa's tracker store" in result.stdout
    assert tracker.execute("SELECT sender_id FROM events").fetchall() == [(f"u{people['kim']}-abc",)]
    with db.session_scope(people["engine"]) as s:
        assert db.get_user_by_email(session=s, email="dana@example.com") is None
        assert s.execute(select(func.count()).select_from(db.PracticeSession)).scalar_one() == 1  # Kim's
        assert s.execute(select(func.count()).select_from(db.Turn)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(db.CheckOverride)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(db.Conversation)).scalar_one() == 1
        assert db.get_transcript(session=s, session_id="s-dana") is None
        actions = [e.action for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
    assert actions == ["password_reset", "user_data_erased"]
    again = run(url, tmp_path, "erase-user", "--email", "dana@example.com", "--yes")
    assert again.returncode == 1 and "No user" in again.stderr


def test_a_trainer_named_on_others_records_is_not_erased(url, tmp_path, people):
    result = run(url, tmp_path, "erase-user", "--email", "tom@example.com", "--yes")
    assert result.returncode == 1 and "Deactivate the account instead" in result.stderr
    with db.session_scope(people["engine"]) as s:
        assert db.get_user_by_email(session=s, email="tom@example.com") is not None


def test_backup_while_writing_is_consistent_and_restores(url, tmp_path, people):
    engine = people["engine"]
    stop = threading.Event()

    def write():
        n = 0
        while not stop.is_set():
            n += 1
            with db.session_scope(engine) as s:
                audit.record(session=s, action="sign_in_failed", subject=("email", f"w{n}@example.com"))

    writer = threading.Thread(target=write)
    writer.start()
    try:
        result = run(url, tmp_path, "backup", "--out", str(tmp_path / "copy.db"))
    finally:
        stop.set()
        writer.join()
    assert result.returncode == 0, result.stderr
    copy = tmp_path / "copy.db"
    assert copy.stat().st_mode & 0o777 == 0o600
    check = sqlite3.connect(copy)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    saved = check.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    check.close()
    assert saved >= 1
    # Something goes wrong after the backup; restoring brings the database back to the copy.
    with db.session_scope(engine) as s:
        s.execute(db.Turn.__table__.delete())
    engine.dispose()
    restored = run(url, tmp_path, "restore", str(copy), "--yes")
    assert restored.returncode == 0, restored.stderr
    engine = db.make_engine(url)
    with db.session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(db.Turn)).scalar_one() == 2
        assert s.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == saved
    assert db.current_revision(url) == db.head_revision()
    engine.dispose()


def test_backup_of_postgresql_prints_pg_dump_instructions(tmp_path):
    result = run("postgresql+psycopg2://coach@127.0.0.1:5432/coach", tmp_path, "backup")
    assert result.returncode == 2 and "pg_dump --format=custom" in result.stdout and "pg_restore" in result.stdout
