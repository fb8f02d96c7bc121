"""Idle sessions are closed as abandoned with their scorecard (bot/db/idle_sessions.py, bot/web/idle.py)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot import db
from bot.db.idle_sessions import close_idle_sessions
from bot.db.models import utcnow
from bot.settings import load_settings
from tests.review_fixtures import GOOD_REPLY, add_person, add_scored_session, good_checks
from tests.test_reviews import app, client_as, engine, migrated_file  # noqa: F401  (fixtures)


def running(engine, session_id, *, user_id, minutes_ago, sender=None):
    add_scored_session(engine, session_id, user_id=user_id, outcome=None, started_at=utcnow() - timedelta(minutes=minutes_ago + 2),
                       turns=[{"text": GOOD_REPLY, "checks": good_checks()}])
    with db.session_scope(engine) as s:
        turn = db.get_transcript(session=s, session_id=session_id).turns[0]
        turn.created_at = utcnow() - timedelta(minutes=minutes_ago)


def test_the_idle_time_is_a_setting_of_30_minutes_by_default(monkeypatch):
    monkeypatch.delenv("COACH_IDLE_MINUTES", raising=False)
    assert load_settings().idle_minutes == 30
    monkeypatch.setenv("COACH_IDLE_MINUTES", "5")
    assert load_settings().idle_minutes == 5
    monkeypatch.setenv("COACH_IDLE_MINUTES", "0")
    with pytest.raises(SystemExit, match="COACH_IDLE_MINUTES must be at least 1"):
        load_settings()


def test_a_session_idle_too_long_ends_abandoned_with_its_scorecard_and_a_recent_one_runs_on(engine):
    tina = add_person(engine, key="tina")
    running(engine, "idle", user_id=tina, minutes_ago=45)
    running(engine, "busy", user_id=tina, minutes_ago=5)
    with db.session_scope(engine) as s:
        assert close_idle_sessions(session=s, idle_after=timedelta(minutes=30)) == ["idle"]
    with db.session_scope(engine) as s:
        idle = db.get_transcript(session=s, session_id="idle")
        assert idle.session.outcome == "abandoned" and idle.session.ended_at == idle.turns[-1].created_at
        assert idle.scorecard.score == 65 and idle.scorecard.outcome == "abandoned"
        assert db.get_session(session=s, session_id="busy").ended_at is None
        # Closing again changes nothing.
        assert close_idle_sessions(session=s, idle_after=timedelta(minutes=30)) == []
        assert len(db.get_transcript(session=s, session_id="idle").scorecards) == 1


def test_sweeping_is_off_under_testing_unless_asked_for(app, engine):
    tina = add_person(engine, key="tina")
    trainer = add_person(engine, key="terry", role="trainer")
    running(engine, "paused", user_id=tina, minutes_ago=90)
    client_as(app, trainer).get("/trainer/")
    with db.session_scope(engine) as s:
        assert db.get_session(session=s, session_id="paused").ended_at is None


def test_two_processes_closing_at_once_score_each_session_once(app, engine):
    tina = add_person(engine, key="tina")
    for n in range(4):
        running(engine, f"idle-{n}", user_id=tina, minutes_ago=60)
    results = []

    def sweep():
        with db.session_scope(engine) as s:
            results.append(close_idle_sessions(session=s, idle_after=timedelta(minutes=30)))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(sum(results, [])) == [f"idle-{n}" for n in range(4)]
    with db.session_scope(engine) as s:
        for n in range(4):
            assert len(db.get_transcript(session=s, session_id=f"idle-{n}").scorecards) == 1


def test_the_trainer_list_shows_an_idle_session_as_abandoned_not_running(app, engine):
    tina = add_person(engine, key="tina")
    trainer = add_person(engine, key="terry", role="trainer")
    running(engine, "walked-away", user_id=tina, minutes_ago=31)
    app.config["IDLE_SWEEP"] = True  # off by default under TESTING (bot/web/idle.py)
    page = client_as(app, trainer).get("/trainer/").get_data(as_text=True)
    row = page.split('id="sessions-table"')[1].split("</tr>", 2)[1]
    assert "abandoned" in row and "running" not in row and "65" in row


def test_a_message_to_a_conversation_closed_as_idle_is_refused_without_reaching_rasa(app, engine):
    tina = add_person(engine, key="tina")
    running(engine, "gone", user_id=tina, minutes_ago=40)
    app.config["IDLE_SWEEP"] = True
    client = client_as(app, tina)
    with db.session_scope(engine) as s:
        db.claim_conversation(session=s, sender_id="sender-gone", user_id=tina)
    with client.session_transaction() as session:
        session["conversation"] = "sender-gone"
    response = client.post("/api/message", json={"text": "Are you still there?", "conversation": "sender-gone"})
    assert response.status_code == 409, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "session_over" and "no message for 30 minutes" in error["message"]
    with db.session_scope(engine) as s:
        assert db.get_session(session=s, session_id="gone").outcome == "abandoned"
