"""The trainers' review queue: ended sessions that need a person, and why.

A session is *reviewed* once a trainer has done anything with it: overruled a check or the
outcome, commented on a reply, or signed it off. The queue holds:
- every pass awaiting a trainer's sign-off (reviewed or not: a person has to certify it), and
- every ended session nobody has reviewed yet, with the reasons it matters, most urgent first:
  a failed assessment; defensive words found; a verdict on a check trainers often overrule
  (Cohen's kappa at most WEAK_KAPPA over at least MIN_REVIEWS verdicts) found in a reply; a
  near miss (a check saw words it was looking for but did not count them: the machine was
  unsure); and, for every one of them, never reviewed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, Iterable, List, Optional, Sequence, Set

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from bot.db.agreement import agreement_per_check
from bot.db.models import (
    CheckOverride,
    OutcomeOverride,
    PracticeSession,
    Scorecard,
    SignOff,
    Turn,
    TurnComment,
    User,
)

# Most urgent first; the page shows them in this order with these words.
REASONS: Dict[str, str] = {
    "awaiting_sign_off": "Pass awaiting sign-off",
    "failed_assessment": "Failed assessment",
    "defensive": "Defensive words found",
    "disagreement": "Check trainers often overrule",
    "low_confidence": "Machine unsure (near miss)",
    "never_reviewed": "Never reviewed",
}
# Same line as the agreement page (bot/web/trainer.py): "fair" agreement or worse.
WEAK_KAPPA = 0.40
# Fewer verdicts than this say little about a check: it is not called weak on so few.
MIN_REVIEWS = 5
# The checks whose near misses (evidence seen, not counted) say the machine was unsure; for the
# others a miss is ordinary (most replies have no thanks or name in them).
NEAR_MISS_CHECKS = ("active_listening", "apology", "next_step")


@dataclass(frozen=True)
class QueueItem:
    session_id: str
    user_id: Optional[int]
    name: Optional[str]
    email: Optional[str]
    team: Optional[str]
    scenario: str
    persona: str
    mode: str
    ended_at: datetime
    score: Optional[int]
    passed: Optional[bool]
    trainer_adjusted: bool
    reasons: List[str]


@dataclass(frozen=True)
class ReviewQueue:
    items: List[QueueItem]
    # Sessions per reason (a session counts under each of its reasons).
    counts: Dict[str, int]

    @property
    def total(self) -> int:
        return len(self.items)


def reviewed_session_ids(*, session: Session) -> Set[str]:
    """Sessions a trainer has overruled, commented on or signed off."""
    ids: Set[str] = set()
    for stmt in (
        select(Turn.session_id).join(CheckOverride, CheckOverride.turn_id == Turn.id),
        select(Turn.session_id).join(TurnComment, TurnComment.turn_id == Turn.id),
        select(OutcomeOverride.session_id),
        select(SignOff.session_id),
    ):
        ids.update(session.execute(stmt.distinct()).scalars())
    return ids


def weak_checks(*, session: Session) -> Set[str]:
    table = agreement_per_check(session=session)
    return {
        name for name, row in table.items()
        if row.n >= MIN_REVIEWS and (row.kappa if row.kappa is not None else (1.0 if row.agreement == 1 else 0.0))
        <= WEAK_KAPPA
    }


def _turn_reasons(checks_per_turn: Iterable[dict], weak: Set[str]) -> List[str]:
    reasons = []
    turns = list(checks_per_turn)
    if any((c.get("defensive") or {}).get("found") for c in turns):
        reasons.append("defensive")
    if any((c.get(name) or {}).get("found") for c in turns for name in weak):
        reasons.append("disagreement")
    if any(
        not (c.get(name) or {}).get("found") and (c.get(name) or {}).get("evidence")
        for c in turns for name in NEAR_MISS_CHECKS
    ):
        reasons.append("low_confidence")
    return reasons


def review_queue(*, session: Session, awaiting_sign_off: Sequence[str] = ()) -> ReviewQueue:
    """Every session that needs a trainer, most urgent first (then newest first).

    `awaiting_sign_off` are the session ids of passes waiting for a sign-off (from
    `bot.db.progress.overview`), passed in so this module does not compute training status.
    """
    reviewed = reviewed_session_ids(session=session)
    waiting = set(awaiting_sign_off)
    rows = session.execute(
        select(PracticeSession, User.name, User.email, User.team, Scorecard.score, Scorecard.passed,
               Scorecard.adjusted_from_id)
        .outerjoin(User, PracticeSession.user_id == User.id)
        .outerjoin(Scorecard, (Scorecard.session_id == PracticeSession.id) & (Scorecard.is_current == true()))
        .where(PracticeSession.ended_at.is_not(None))
    ).all()
    open_ids = [p.id for p, *_ in rows if p.id not in reviewed]
    checks: Dict[str, List[dict]] = {}
    if open_ids:
        for session_id, verdicts in session.execute(
            select(Turn.session_id, Turn.checks).where(Turn.session_id.in_(open_ids))
        ):
            checks.setdefault(session_id, []).append(verdicts or {})
    weak = weak_checks(session=session)
    items: List[QueueItem] = []
    for practice, name, email, team, score, passed, adjusted_from in rows:
        reasons = []
        if practice.id in waiting:
            reasons.append("awaiting_sign_off")
        if practice.id not in reviewed:
            if practice.mode == "assessment" and passed is False:
                reasons.append("failed_assessment")
            reasons += _turn_reasons(checks.get(practice.id, []), weak)
            reasons.append("never_reviewed")
        if not reasons:
            continue
        items.append(QueueItem(
            session_id=practice.id, user_id=practice.user_id, name=name, email=email, team=team,
            scenario=practice.scenario, persona=practice.persona, mode=practice.mode, ended_at=practice.ended_at,
            score=score, passed=passed, trainer_adjusted=adjusted_from is not None,
            reasons=sorted(reasons, key=list(REASONS).index),
        ))
    order = list(REASONS)
    items.sort(key=lambda i: -i.ended_at.timestamp())
    items.sort(key=lambda i: order.index(i.reasons[0]))
    counts = {reason: sum(1 for i in items if reason in i.reasons) for reason in REASONS}
    return ReviewQueue(items=items, counts=counts)
