"""`python -m bot.db rescore`: new scorecards beside the old ones, with the current checks if asked."""
from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from bot import db
from bot.scoring import load_rubric

NOTHING = {"found": False, "evidence": [], "tip": None}


def _stored_session(url):
    """An ended session whose stored checks missed the apology (as an older checks version might)."""
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        db.record_session_start(
            session=session, session_id="old", sender_id="x", scenario="laptop_at_home_service", persona="angry",
            mode="coach", start_mood=20, opening="My laptop crashes every day and nobody calls back.",
        )
        checks = {name: dict(NOTHING) for name in ("greeting", "active_listening", "apology", "next_step", "thanks",
                                                  "defensive", "name_use", "jargon", "probing_question")}
        db.record_turn(
            session=session, session_id="old", number=1, trainee_text="I'm so sorry about the crashes, Dana.",
            customer_text="Okay.", checks=checks, checks_version="0", mood=30,
        )
        db.record_session_end(session=session, session_id="old", outcome="abandoned", mood_curve=[20, 30])
        db.add_scorecard(
            session=session, session_id="old", score=0, passed=False, criteria={}, rubric_version=1,
            checks_version="0", outcome="abandoned", pass_mark=70,
        )
    return engine


def _run(url, *args):
    env = dict(os.environ, COACH_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "bot.db", "rescore", *args], capture_output=True, text=True, env=env)


def test_rescore_with_recheck_adds_a_current_scorecard_and_keeps_the_old(tmp_path):
    url = f"sqlite:///{tmp_path / 'coach.db'}"
    db.upgrade(url)
    engine = _stored_session(url)
    result = _run(url, "--recheck")
    assert result.returncode == 0 and "Re-scored 1 session" in result.stdout, result.stderr
    with db.session_scope(engine) as session:
        cards = session.execute(select(db.Scorecard).order_by(db.Scorecard.id)).scalars().all()
        assert [c.is_current for c in cards] == [False, True]
        assert cards[0].score == 0 and cards[1].rubric_version == load_rubric().version
        assert cards[1].criteria["apology"]["met"] is True and cards[1].criteria["name_use"]["met"] is True
    # Already scored with these versions: a second run adds nothing.
    assert "Re-scored 0 session" in _run(url, "--recheck").stdout


def test_rescore_without_recheck_uses_the_stored_verdicts(tmp_path):
    url = f"sqlite:///{tmp_path / 'coach.db'}"
    db.upgrade(url)
    engine = _stored_session(url)
    assert _run(url).returncode == 0
    with db.session_scope(engine) as session:
        current = db.get_current_scorecard(session=session, session_id="old")
        assert current.criteria["apology"]["met"] is False
