"""Close practice sessions nobody has written in for a while: they end as `abandoned`.

A trainee who walks away never sends /end_session, and the session would stay "running" with no
score for ever. `close_idle_sessions` ends every session whose last reply (or start, with no
reply) is older than the idle time, at the time of that last message, and scores it as the
action server would have: the machine's verdicts on the stored replies, outcome abandoned.

It runs on next access (bot.web.idle), in whichever web process is asked first. Several
processes can run it at once: each session is claimed by a conditional UPDATE (`... WHERE
ended_at IS NULL`), and only the process whose update changed the row scores it.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import List, Optional

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.db.models import PracticeSession, Turn, UTCDateTime, utcnow
from bot.db.recording import add_scorecard
from bot.db.rescoring import scoring_state
from bot.db.transcripts import get_transcript

IDLE_OUTCOME = "abandoned"


def _last_activity():
    last_turn = (
        select(func.max(Turn.created_at)).where(Turn.session_id == PracticeSession.id)
        .correlate(PracticeSession).scalar_subquery()
    )
    return func.coalesce(last_turn, PracticeSession.started_at, type_=UTCDateTime())


# Built once: the web app asks for a trainee's own conversation before every message, and
# building the statement (its cache key) each time cost more than running it.
_IDLE = select(PracticeSession.id, _last_activity()).where(
    PracticeSession.ended_at.is_(None), _last_activity() < bindparam("cutoff", type_=UTCDateTime())
)
_IDLE_OF_SENDER = _IDLE.where(PracticeSession.sender_id == bindparam("sender_id"))
_LATEST_OF_SENDER = (
    select(PracticeSession).where(PracticeSession.sender_id == bindparam("sender_id"))
    .order_by(PracticeSession.started_at.desc()).limit(1)
)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def close_idle_sessions(
    *, session: Session, idle_after: timedelta, now: Optional[datetime] = None, sender_id: Optional[str] = None
) -> List[str]:
    """End and score every running session idle for longer than `idle_after`; return their ids.

    `sender_id` limits it to one conversation (the web app checks a trainee's own before relaying).
    Commits each closed session on its own, so a failure later loses none of the earlier ones.
    """
    from bot.scoring import build_scorecard

    cutoff = (now or utcnow()) - idle_after
    if sender_id is None:
        found = session.execute(_IDLE, {"cutoff": cutoff}).all()
    else:
        found = session.execute(_IDLE_OF_SENDER, {"cutoff": cutoff, "sender_id": sender_id}).all()
    # End the reading transaction: on SQLite a transaction that read and then writes fails at
    # once when another process wrote in between; one that starts with its write waits its turn.
    session.commit()
    closed: List[str] = []
    for session_id, last_message in found:
        claimed = session.execute(
            update(PracticeSession)
            .where(PracticeSession.id == session_id, PracticeSession.ended_at.is_(None))
            .values(outcome=IDLE_OUTCOME, ended_at=_aware(last_message))
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            session.commit()
            continue  # another process closed it first
        transcript = get_transcript(session=session, session_id=session_id)
        card = build_scorecard(scoring_state(transcript))
        checks_version = transcript.turns[-1].checks_version if transcript.turns else "none"
        add_scorecard(
            session=session, session_id=session_id, score=card["score"], passed=card["passed"],
            criteria=card["criteria"], rubric_version=card["rubric_version"], checks_version=str(checks_version),
            outcome=IDLE_OUTCOME, pass_mark=card["pass_mark"],
        )
        session.commit()
        closed.append(session_id)
    return closed


def latest_session_of(*, session: Session, sender_id: str) -> Optional[PracticeSession]:
    """The newest stored session of a conversation (sender id), if any."""
    return session.execute(_LATEST_OF_SENDER, {"sender_id": sender_id}).scalar_one_or_none()


def closed_as_idle(*, session: Session, practice: PracticeSession) -> bool:
    """Whether `practice` was ended by `close_idle_sessions`: abandoned, and ended at its last
    message (an /end_session ends it later than the last message, at the time it was sent)."""
    if practice.outcome != IDLE_OUTCOME or practice.ended_at is None:
        return False
    last = session.execute(
        select(_last_activity()).where(PracticeSession.id == practice.id)
    ).scalar_one()
    return last is not None and _aware(practice.ended_at) <= _aware(last)
