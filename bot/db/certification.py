"""Certifying a pass: a trainer's (or admin's) sign-off of one passing attempt.

A pass is *certified* only once a trainer has signed off one of the passing attempts
(`SignOff`): a person decides, not the score alone.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.errors import NotAllowed, NotFound
from bot.db.models import REVIEWER_ROLES, PracticeSession, SignOff, User
from bot.db.progress import trainee_progress
from bot.db.training import TrainingError


def sign_off(*, session: Session, session_id: str, signer_id: int, note: Optional[str] = None) -> SignOff:
    """A trainer's (or admin's) sign-off of one passing attempt, which certifies the pass.

    The attempt must be an ended, scored session of a trainee that reaches the pass mark of a
    scenario assigned to them; nobody signs off their own attempt; an attempt is signed once.
    """
    signer = session.get(User, signer_id)
    if signer is None or not signer.roles & set(REVIEWER_ROLES):
        raise NotAllowed("Only trainers and admins sign off a pass.")
    practice = session.get(PracticeSession, session_id)
    if practice is None:
        raise NotFound(f"No practice session {session_id!r}.")
    if practice.user_id is None:
        raise TrainingError("That session belongs to no trainee, so there is nothing to certify.")
    if practice.user_id == signer_id:
        raise NotAllowed("You cannot sign off your own attempt: another trainer has to.")
    existing = session.execute(select(SignOff).where(SignOff.session_id == session_id)).scalar_one_or_none()
    if existing is not None:
        raise TrainingError(
            f"That attempt was already signed off by {existing.signed_by.name} on {existing.created_at:%Y-%m-%d}."
        )
    rows = trainee_progress(session=session, user_id=practice.user_id)
    passing = [
        r for r in rows for a in r.attempts if a.session_id == session_id and r.passes(a)
    ]
    if not passing:
        raise TrainingError("That attempt does not reach the pass mark of a scenario assigned to the trainee.")
    note = (note or "").strip() or None
    signed = SignOff(session_id=session_id, signed_by_id=signer_id, note=note)
    session.add(signed)
    session.flush()
    return signed
