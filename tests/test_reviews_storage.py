"""The review queries of issue 15 on SQLite and PostgreSQL: trainer-adjusted scorecards, idle
sessions closed, the review queue, the weakest criteria and the never-met filter."""
from __future__ import annotations

from datetime import timedelta

from bot import db
from bot.db.adjusted import machine_scores_of, refresh_adjusted_scorecard
from bot.db.check_summary import weakest_checks
from bot.db.idle_sessions import close_idle_sessions
from bot.db.models import utcnow
from bot.db.review_queue import review_queue
from tests.review_fixtures import GOOD_REPLY, add_person, add_scored_session, good_checks, verdicts


def test_review_queries_on_both_databases(storage_engine, monkeypatch):
    monkeypatch.setattr(db.users, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    engine = storage_engine
    tina = add_person(engine, key="tina", team="North")
    terry = add_person(engine, key="terry", role="trainer")
    near = good_checks()
    near["active_listening"] = {"found": False, "evidence": ["crashes every day"], "tip": "Say it back."}
    add_scored_session(engine, "failed", user_id=tina, turns=[{"text": GOOD_REPLY, "checks": near}])
    add_scored_session(engine, "blame", user_id=tina, mode="coach",
                       turns=[{"text": "Not my fault.", "checks": verdicts(defensive=["Not my fault"])}])
    add_scored_session(engine, "idle", user_id=tina, outcome=None, started_at=utcnow() - timedelta(hours=2),
                       turns=[{"text": GOOD_REPLY, "checks": good_checks()}])

    with db.session_scope(engine) as s:
        queue = review_queue(session=s)
        assert [(i.session_id, i.reasons[0]) for i in queue.items] == [
            ("failed", "failed_assessment"), ("blame", "defensive")]
        page = db.list_sessions(session=s, never_met_check="next_step")
        assert sorted(r.session_id for r in page.rows) == ["blame", "failed", "idle"]
        assert [r.session_id for r in db.list_sessions(session=s, never_met_check="defensive").rows] != []
        assert "blame" not in [r.session_id for r in db.list_sessions(session=s, never_met_check="defensive").rows]

    with db.session_scope(engine) as s:
        assert close_idle_sessions(session=s, idle_after=timedelta(minutes=30)) == ["idle"]
    with db.session_scope(engine) as s:
        turn = db.get_transcript(session=s, session_id="failed").turns[0]
        db.override_check(session=s, turn_id=turn.id, check="active_listening", trainer_found=True,
                          reason="It restates the crashes.", reviewer_id=terry)
        card = refresh_adjusted_scorecard(session=s, session_id="failed")
        assert (card.score, card.trainer_adjusted) == (65, True)  # rubric 3: one reply, blame and jargon not applicable
    with db.session_scope(engine) as s:
        assert machine_scores_of(session=s, session_ids=["failed", "blame"]) == {"failed": 43}
        assert db.get_session(session=s, session_id="idle").outcome == "abandoned"
        assert db.get_current_scorecard(session=s, session_id="idle").score == 65
        # The idle assessment scores 65 under rubric 3, a failed assessment: first in the queue.
        assert [i.session_id for i in review_queue(session=s).items] == ["idle", "blame"]
        (north,) = weakest_checks(session=s)
        assert north.team == "North" and north.sessions == 3
        assert [(r.criterion, r.met) for r in north.weakest][:2] == [("next_step", 0), ("resolution", 0)]
