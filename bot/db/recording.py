"""Recording practice: whose conversation a Rasa sender id is, each session, turn and scorecard.

The three functions that record a live conversation (`record_session_start`, `record_turn`,
`record_session_end`) commit before they return: the action server can be killed at any moment
and a completed turn must already be on disk. They are idempotent, so a retried action call
does not duplicate anything. `claim_conversation` commits too; `add_scorecard` only flushes, so
a scorecard lands in the caller's transaction (`session_scope` commits it).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Mapping, Optional, Sequence

from sqlalchemy import select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.errors import NotAllowed, NotFound, get_or_raise, require_outcome
from bot.db.models import Conversation, PracticeSession, Scorecard, Turn, User, utcnow
from bot.errors import CoachError


# --- conversations: which user a Rasa sender id belongs to --------------------------------


def claim_conversation(*, session: Session, sender_id: str, user_id: int) -> Conversation:
    """Record that `sender_id` is `user_id`'s conversation, and commit.

    A sender id belongs to one user for good: claiming another user's raises NotAllowed.
    """
    existing = session.get(Conversation, sender_id)
    if existing is not None:
        if existing.user_id != user_id:
            raise NotAllowed("That conversation belongs to someone else.")
        return existing
    get_or_raise(session, User, user_id, "user")
    conversation = Conversation(sender_id=sender_id, user_id=user_id)
    session.add(conversation)
    session.commit()
    return conversation


def conversation_owner(*, session: Session, sender_id: str) -> Optional[int]:
    """The id of the user whose conversation `sender_id` is, or None (API or anonymous use)."""
    owner = session.get(Conversation, sender_id)
    return owner.user_id if owner is not None else None


# --- recording a conversation --------------------------------------------------------------


def _require_checks(checks: Mapping[str, Any]) -> Dict[str, Any]:
    if not isinstance(checks, Mapping):
        raise CoachError("checks must map each check name to {found, evidence, tip}.")
    for name, verdict in checks.items():
        if not isinstance(verdict, Mapping) or not isinstance(verdict.get("found"), bool):
            raise CoachError(f'checks[{name!r}] must be an object with a boolean "found".')
    return dict(checks)


def record_session_start(
    *,
    session: Session,
    session_id: str,
    sender_id: str,
    scenario: str,
    persona: str,
    mode: str,
    user_id: Optional[int] = None,
    start_mood: Optional[int] = None,
    opening: Optional[str] = None,
    started_at: Optional[datetime] = None,
) -> PracticeSession:
    """Store a new practice session and commit. A repeated call returns the stored one as it is."""
    existing = session.get(PracticeSession, session_id)
    if existing is not None:
        return existing
    if user_id is None:
        user_id = conversation_owner(session=session, sender_id=sender_id)
    practice = PracticeSession(
        id=session_id,
        user_id=user_id,
        sender_id=sender_id,
        scenario=scenario,
        persona=persona,
        mode=mode,
        start_mood=start_mood,
        opening=opening,
        started_at=started_at or utcnow(),
        mood_curve=[] if start_mood is None else [start_mood],
    )
    try:
        with session.begin_nested():
            session.add(practice)
    except IntegrityError:
        # A retried call that raced the first one: the first one's row stands.
        existing = session.get(PracticeSession, session_id)
        if existing is None:
            raise
        return existing
    session.commit()
    return practice


def record_turn(
    *,
    session: Session,
    session_id: str,
    number: int,
    trainee_text: str,
    customer_text: Optional[str],
    checks: Mapping[str, Any],
    checks_version: str,
    mood: Optional[int] = None,
    mood_change: Optional[int] = None,
    rubric_version: Optional[int] = None,
    created_at: Optional[datetime] = None,
) -> Turn:
    """Store one completed turn and commit before returning.

    Idempotent on (session_id, number): a retried call with the same words returns the turn
    stored first, unchanged. Other words under a stored number replace the stored turn: it was
    written by an action call whose answer never reached Rasa (the action server died in
    between), so Rasa's tracker, which is the conversation the trainee saw, numbered the next
    reply the same. Also keeps the session's mood_curve up to date.
    """
    checks = _require_checks(checks)
    practice = session.get(PracticeSession, session_id)
    if practice is None:
        raise NotFound(f"No practice session {session_id!r}: record_session_start must come first.")
    existing = _get_turn(session, session_id, number)
    if existing is not None:
        if (existing.trainee_text, existing.customer_text) == (trainee_text, customer_text):
            return existing
        existing.trainee_text, existing.customer_text = trainee_text, customer_text
        existing.checks, existing.checks_version = checks, checks_version
        existing.mood, existing.mood_change, existing.rubric_version = mood, mood_change, rubric_version
        existing.created_at = created_at or utcnow()
        session.flush()
        _refresh_mood_curve(session, practice)
        session.commit()
        return existing
    turn = Turn(
        session_id=session_id,
        number=number,
        trainee_text=trainee_text,
        customer_text=customer_text,
        checks=checks,
        checks_version=checks_version,
        mood=mood,
        mood_change=mood_change,
        rubric_version=rubric_version,
        created_at=created_at or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(turn)
    except IntegrityError:
        existing = _get_turn(session, session_id, number)
        if existing is None:
            raise
        return existing
    _refresh_mood_curve(session, practice)
    session.commit()
    return turn


def _refresh_mood_curve(session: Session, practice: PracticeSession) -> None:
    moods = session.execute(
        select(Turn.mood).where(Turn.session_id == practice.id, Turn.mood.is_not(None)).order_by(Turn.number)
    ).scalars()
    start = [] if practice.start_mood is None else [practice.start_mood]
    practice.mood_curve = start + list(moods)


def _get_turn(session: Session, session_id: str, number: int) -> Optional[Turn]:
    return session.execute(
        select(Turn).where(Turn.session_id == session_id, Turn.number == number)
    ).scalar_one_or_none()


def record_session_end(
    *,
    session: Session,
    session_id: str,
    outcome: str,
    ended_at: Optional[datetime] = None,
    mood_curve: Optional[Sequence[int]] = None,
) -> PracticeSession:
    """Mark the session ended and commit. Ending it again changes nothing (the first end stands)."""
    require_outcome(outcome, allow_none=False)
    practice = get_or_raise(session, PracticeSession, session_id, "practice session")
    if practice.ended_at is not None:
        return practice
    practice.outcome = outcome
    practice.ended_at = ended_at or utcnow()
    if mood_curve is not None:
        practice.mood_curve = list(mood_curve)
    session.commit()
    return practice


def get_session(*, session: Session, session_id: str) -> Optional[PracticeSession]:
    return session.get(PracticeSession, session_id)


def latest_session(*, session: Session, sender_id: str) -> Optional[PracticeSession]:
    """The practice session started last in this Rasa conversation, ended or not; None if none."""
    return session.execute(
        select(PracticeSession)
        .where(PracticeSession.sender_id == sender_id)
        .order_by(PracticeSession.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()


# --- scorecards --------------------------------------------------------------------------


def add_scorecard(
    *,
    session: Session,
    session_id: str,
    score: int,
    passed: bool,
    criteria: Mapping[str, Any],
    rubric_version: int,
    checks_version: str,
    outcome: Optional[str] = None,
    pass_mark: Optional[int] = None,
    created_at: Optional[datetime] = None,
) -> Scorecard:
    """Add a scorecard as the session's current one; earlier ones stay, no longer current."""
    get_or_raise(session, PracticeSession, session_id, "practice session")
    require_outcome(outcome, allow_none=True)
    if not 0 <= score <= 100:
        raise CoachError(f"A score is between 0 and 100, not {score}.")
    session.execute(
        update(Scorecard)
        .where(Scorecard.session_id == session_id, Scorecard.is_current == true())
        .values(is_current=False)
        .execution_options(synchronize_session="fetch")
    )
    scorecard = Scorecard(
        session_id=session_id,
        rubric_version=rubric_version,
        checks_version=checks_version,
        score=score,
        passed=passed,
        pass_mark=pass_mark,
        outcome=outcome,
        criteria=dict(criteria),
        created_at=created_at or utcnow(),
        is_current=True,
    )
    session.add(scorecard)
    session.flush()
    return scorecard


def get_current_scorecard(*, session: Session, session_id: str) -> Optional[Scorecard]:
    return session.execute(
        select(Scorecard).where(Scorecard.session_id == session_id, Scorecard.is_current == true())
    ).scalar_one_or_none()
