"""Many trainees starting at once on one SQLite file: every claim and start succeeds.

Regression: with 25-50 trainees starting together, 20-28% of `/api/session` calls answered 503
"database is locked" from `INSERT INTO conversations` in `claim_conversation`: a transaction
that reads before it writes cannot wait for SQLite's write lock, whatever the busy timeout.
"""
from __future__ import annotations

import threading
import uuid

from sqlalchemy import func, select
from sqlalchemy.engine import URL

from bot import db

THREADS = 40
ROUNDS = 3


def _migrated_sqlite(tmp_path) -> str:
    url = URL.create("sqlite", database=str(tmp_path / "coach.db")).render_as_string(hide_password=False)
    db.upgrade(url)
    return url


def test_concurrent_claims_and_starts_all_succeed(tmp_path):
    url = _migrated_sqlite(tmp_path)
    # Two engines on one file, as the web app (claims) and the action server (starts) have.
    web, actions = db.make_engine(url), db.make_engine(url)
    with db.session_scope(web, write=True) as session:
        users = [
            db.create_user(session=session, email=f"t{i}@example.com", name=f"Trainee {i}", password="pw-" + "x" * 12).id
            for i in range(THREADS)
        ]
    start = threading.Barrier(THREADS)
    failures = []

    def trainee(user_id: int) -> None:
        start.wait()
        try:
            for _ in range(ROUNDS):
                sender = f"u{user_id}-{uuid.uuid4().hex}"
                with db.session_scope(web, write=True) as session:
                    db.claim_conversation(session=session, sender_id=sender, user_id=user_id)
                with db.session_scope(actions, write=True) as session:
                    db.record_session_start(
                        session=session, session_id=uuid.uuid4().hex, sender_id=sender,
                        scenario="laptop_at_home_service", persona="angry", mode="coach", start_mood=20,
                        opening="Hello?",
                    )
        except Exception as exc:  # collected: a failure in a thread must fail the test
            failures.append(repr(exc))

    threads = [threading.Thread(target=trainee, args=(user_id,)) for user_id in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with db.session_scope(web) as session:
        assert session.scalar(select(func.count()).select_from(db.Conversation)) == THREADS * ROUNDS
        started = session.scalar(select(func.count()).select_from(db.PracticeSession).where(db.PracticeSession.user_id.isnot(None)))
        assert started == THREADS * ROUNDS


def test_a_process_keeps_its_sqlite_connections(tmp_path):
    """One pool per process: the action server no longer opens a connection per call."""
    engine = db.make_engine(_migrated_sqlite(tmp_path))
    opened = []
    from sqlalchemy import event

    event.listen(engine, "connect", lambda *args: opened.append(1))
    for _ in range(5):
        with db.session_scope(engine) as session:
            session.execute(select(1))
        with db.session_scope(engine, write=True) as session:
            session.execute(select(1))
    assert len(opened) == 1
