"""Trainers' reviews: overruling a check or an outcome, and commenting on a turn.

Machine verdicts are never edited. A trainer's verdict is a new `CheckOverride` or
`OutcomeOverride` row; the latest one (by creation) per turn and check, or per session, wins
(`latest_per_turn_check`). These writers only flush: `session_scope` commits what one request did.
"""
from __future__ import annotations

from typing import Dict, Iterable, Tuple

from sqlalchemy.orm import Session

from bot.db.errors import NotAllowed, get_or_raise, require_outcome
from bot.db.models import REVIEWER_ROLES, CheckOverride, OutcomeOverride, PracticeSession, Turn, TurnComment, User
from bot.errors import CoachError


def latest_per_turn_check(overrides: Iterable[CheckOverride]) -> Dict[Tuple[int, str], CheckOverride]:
    """The trainers' latest verdict per (turn id, check): later ones replace earlier ones."""
    latest: Dict[Tuple[int, str], CheckOverride] = {}
    for override in sorted(overrides, key=lambda o: (o.created_at, o.id)):
        latest[(override.turn_id, override.check)] = override
    return latest


def _require_reviewer(session: Session, reviewer_id: int) -> User:
    reviewer = get_or_raise(session, User, reviewer_id, "user")
    if not reviewer.roles & set(REVIEWER_ROLES) or not reviewer.active:
        raise NotAllowed(f"Only an active {' or '.join(REVIEWER_ROLES)} may overrule the machine.")
    return reviewer


def _require_reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise CoachError("Say why: an override needs a reason.")
    return reason.strip()


def override_check(
    *, session: Session, turn_id: int, check: str, trainer_found: bool, reason: str, reviewer_id: int
) -> CheckOverride:
    """Record a trainer's verdict on one check of one turn (agreeing with the machine counts too)."""
    reason = _require_reason(reason)
    turn = get_or_raise(session, Turn, turn_id, "turn")
    if check not in turn.checks:
        raise CoachError(f"Turn {turn.number} has no check {check!r}: it has {', '.join(sorted(turn.checks))}.")
    _require_reviewer(session, reviewer_id)
    override = CheckOverride(
        turn_id=turn_id,
        check=check,
        machine_found=bool(turn.checks[check]["found"]),
        trainer_found=bool(trainer_found),
        reason=reason,
        reviewer_id=reviewer_id,
    )
    session.add(override)
    session.flush()
    return override


def override_outcome(
    *, session: Session, session_id: str, outcome: str, reason: str, reviewer_id: int
) -> OutcomeOverride:
    reason = _require_reason(reason)
    require_outcome(outcome, allow_none=False)
    practice = get_or_raise(session, PracticeSession, session_id, "practice session")
    _require_reviewer(session, reviewer_id)
    override = OutcomeOverride(
        session_id=session_id,
        machine_outcome=practice.outcome,
        outcome=outcome,
        reason=reason,
        reviewer_id=reviewer_id,
    )
    session.add(override)
    session.flush()
    return override


def add_comment(*, session: Session, turn_id: int, author_id: int, text: str) -> TurnComment:
    if not text or not text.strip():
        raise CoachError("A comment cannot be empty.")
    get_or_raise(session, Turn, turn_id, "turn")
    get_or_raise(session, User, author_id, "user")
    comment = TurnComment(turn_id=turn_id, author_id=author_id, text=text)
    session.add(comment)
    session.flush()
    return comment
