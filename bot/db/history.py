"""A trainee's own practice history: their sessions, one transcript, and each check's rate.

Only ever a trainee's own: every function takes the signed-in user's id and never returns a
session of anyone else. Queries for the trainee's "My history" page (bot/web/history.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import PracticeSession, Turn
from bot.db.transcripts import SessionRow, Transcript, get_transcript, list_sessions

# Checks where found=True is the bad outcome: their rate is the share of replies free of them.
BAD_WHEN_FOUND = frozenset({"defensive", "jargon", "broken_promise"})
# Judged on the first reply only: a greeting belongs there.
FIRST_REPLY_ONLY = frozenset({"greeting"})
# Most sessions a trainee's page lists and charts (newest first).
MAX_SESSIONS = 200


def my_sessions(*, session: Session, user_id: int, limit: int = MAX_SESSIONS) -> List[SessionRow]:
    """The user's practice sessions, newest first, with score and outcome."""
    return list_sessions(session=session, user_id=user_id, limit=limit).rows


def my_transcript(*, session: Session, user_id: int, session_id: str) -> Optional[Transcript]:
    """One of the user's own sessions, or None (also when it belongs to someone else)."""
    transcript = get_transcript(session=session, session_id=session_id)
    if transcript is None or transcript.session.user_id != user_id:
        return None
    return transcript


@dataclass(frozen=True)
class SessionRates:
    session_id: str
    scenario: str
    started_at: datetime
    replies: int
    # check -> share of replies (0..1) that met it; absent when the session never judged it.
    rates: Dict[str, float]


def check_rates(*, session: Session, user_id: int, checks: Sequence[str], limit: int = MAX_SESSIONS) -> List[SessionRates]:
    """Per session with at least one reply, oldest first: the share of replies meeting each check."""
    recent = (
        select(PracticeSession.id)
        .where(PracticeSession.user_id == user_id)
        .order_by(PracticeSession.started_at.desc())
        .limit(limit)
        .scalar_subquery()
    )
    rows = session.execute(
        select(PracticeSession.id, PracticeSession.scenario, PracticeSession.started_at, Turn.number, Turn.checks)
        .join(Turn, Turn.session_id == PracticeSession.id)
        .where(PracticeSession.id.in_(recent))
        .order_by(PracticeSession.started_at, PracticeSession.id, Turn.number)
    ).all()
    by_session: Dict[str, List] = {}
    for row in rows:
        by_session.setdefault(row.id, []).append(row)
    result = []
    for session_id, turns in by_session.items():
        rates: Dict[str, float] = {}
        for check in checks:
            judged = turns[:1] if check in FIRST_REPLY_ONLY else turns
            verdicts = [(t.checks or {}).get(check) for t in judged]
            verdicts = [v for v in verdicts if v is not None]
            if not verdicts:
                continue
            good = sum(1 for v in verdicts if bool(v.get("found")) != (check in BAD_WHEN_FOUND))
            rates[check] = good / len(verdicts)
        first = turns[0]
        result.append(SessionRates(session_id=session_id, scenario=first.scenario, started_at=first.started_at,
                                   replies=len(turns), rates=rates))
    return result
