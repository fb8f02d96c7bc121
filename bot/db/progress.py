"""Training progress: each trainee's status on each required scenario, and the HR overview.

Status of one trainee and one requirement (see `requirement_status`):
- An *attempt* is an ended practice session of that trainee with the requirement's scenario,
  persona and mode, started on or after the day the curriculum was assigned to them. Its score
  is the session's current scorecard's score (trainer-adjusted where a trainer overruled).
- ``passed``: the best attempt score is at least the requirement's pass mark (the curriculum's,
  not the rubric's). Passed stays passed, even when the pass came after the due date.
- ``overdue``: not passed and the due date is in the past (today is after the due date); it
  replaces the three statuses below, whatever the attempts were.
- ``did_not_pass``: at least one attempt, none reaching the pass mark (an ended session that
  was never scored counts as an attempt without a score).
- ``in_progress``: no ended attempt yet, but a session of that trainee with that scenario,
  persona and mode has been started and is still running.
- ``not_started``: none of the above.

A pass is *certified* only once a trainer (or admin) has signed off one of the passing
attempts (`SignOff`): a person decides, not the score alone.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.db.assignments import AssignedScenario, list_trainees
from bot.db.attempt_rules import since_assignment
from bot.db.errors import NotFound
from bot.db.models import Curriculum, CurriculumAssignment, CurriculumItem, PracticeSession, Scorecard, SignOff, User

STATUSES = ("not_started", "in_progress", "overdue", "did_not_pass", "passed")
STATUS_LABELS = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "overdue": "Overdue",
    "did_not_pass": "Did not pass",
    "passed": "Passed",
}


@dataclass(frozen=True)
class Attempt:
    session_id: str
    started_at: datetime
    ended_at: Optional[datetime]
    # The current scorecard's score; None when the session was never scored.
    score: Optional[int]
    criteria: Mapping[str, Any]
    outcome: Optional[str]
    sign_off: Optional[SignOff]

    @property
    def ended(self) -> bool:
        return self.ended_at is not None


@dataclass(frozen=True)
class RequirementStatus:
    """One trainee's standing on one required scenario (see the module docstring)."""

    user: User
    requirement: AssignedScenario
    status: str
    # Ended sessions only, newest first; `unfinished` holds the sessions still running.
    attempts: List[Attempt]
    unfinished: List[Attempt]
    best_score: Optional[int]
    best_session_id: Optional[str]
    # The sign-off that certifies the pass, if a trainer has given one.
    sign_off: Optional[SignOff]

    @property
    def running(self) -> int:
        return len(self.unfinished)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def attempt_count(self) -> int:
        return len(self.attempts)

    @property
    def certified(self) -> bool:
        return self.sign_off is not None

    def passes(self, attempt: Attempt) -> bool:
        return attempt.score is not None and attempt.score >= self.requirement.pass_mark

    @property
    def awaiting_sign_off(self) -> bool:
        return self.status == "passed" and self.sign_off is None


def requirement_status(
    requirement: AssignedScenario, attempts: Sequence[Attempt], running: int, today: date
) -> Tuple[str, Optional[Attempt]]:
    """The status and the best attempt; the rules are in the module docstring."""
    scored = [a for a in attempts if a.score is not None]
    best = max(scored, key=lambda a: (a.score, -a.started_at.timestamp())) if scored else None
    if best is not None and best.score >= requirement.pass_mark:
        return "passed", best
    if requirement.due_date is not None and today > requirement.due_date:
        return "overdue", best
    if attempts:
        return "did_not_pass", best
    if running:
        return "in_progress", best
    return "not_started", best


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def _requirements_for_users(session: Session, users: Sequence[User]) -> Dict[int, List[AssignedScenario]]:
    ids = [u.id for u in users]
    teams = sorted({u.team for u in users if u.team})
    if not ids:
        return {}
    conditions = [CurriculumAssignment.user_id.in_(ids)]
    if teams:
        conditions.append(CurriculumAssignment.team.in_(teams))
    assignments = session.execute(select(CurriculumAssignment).where(or_(*conditions))).scalars().all()
    curriculum_ids = {a.curriculum_id for a in assignments}
    items_by_curriculum: Dict[int, List[AssignedScenario]] = {}
    if curriculum_ids:
        for item, name in session.execute(
            select(CurriculumItem, Curriculum.name)
            .join(Curriculum, CurriculumItem.curriculum_id == Curriculum.id)
            .where(CurriculumItem.curriculum_id.in_(curriculum_ids))
        ):
            items_by_curriculum.setdefault(item.curriculum_id, []).append(AssignedScenario.of(item, name))
    result: Dict[int, List[AssignedScenario]] = {}
    for user in users:
        mine: Dict[int, datetime] = {}
        for a in assignments:
            if a.user_id == user.id or (a.team is not None and a.team == user.team):
                mine[a.curriculum_id] = min(mine.get(a.curriculum_id, a.created_at), a.created_at)
        found = [
            dataclasses.replace(item, assigned_at=mine[cid]) for cid in mine for item in items_by_curriculum.get(cid, [])
        ]
        found.sort(key=lambda a: (a.due_date is None, a.due_date or date.min, a.curriculum, a.scenario, a.persona))
        result[user.id] = found
    return result


def _attempts_for_users(
    session: Session, user_ids: Sequence[int]
) -> Dict[Tuple[int, str, str, str], Tuple[List[Attempt], List[Attempt]]]:
    if not user_ids:
        return {}
    rows = session.execute(
        select(PracticeSession, Scorecard)
        .outerjoin(
            Scorecard,
            (Scorecard.session_id == PracticeSession.id) & Scorecard.is_current.is_(True),
        )
        .where(PracticeSession.user_id.in_(user_ids))
        .order_by(PracticeSession.started_at.desc())
    ).all()
    session_ids = [s.id for s, _ in rows]
    sign_offs = {
        so.session_id: so
        for so in session.execute(select(SignOff).where(SignOff.session_id.in_(session_ids))).scalars()
    } if session_ids else {}
    grouped: Dict[Tuple[int, str, str, str], Tuple[List[Attempt], List[Attempt]]] = {}
    for practice, card in rows:
        key = (practice.user_id, practice.scenario, practice.persona, practice.mode)
        attempts, unfinished = grouped.setdefault(key, ([], []))
        attempt = Attempt(
            session_id=practice.id,
            started_at=practice.started_at,
            ended_at=practice.ended_at,
            score=card.score if card is not None else None,
            criteria=(card.criteria or {}) if card is not None else {},
            outcome=practice.outcome,
            sign_off=sign_offs.get(practice.id),
        )
        (attempts if practice.ended_at is not None else unfinished).append(attempt)
    return grouped


def progress_of(
    *, session: Session, users: Sequence[User], today: Optional[date] = None
) -> Dict[int, List[RequirementStatus]]:
    """Every requirement of every one of `users`, with its status, keyed by user id."""
    today = today or today_utc()
    requirements = _requirements_for_users(session, users)
    attempts = _attempts_for_users(session, [u.id for u in users])
    result: Dict[int, List[RequirementStatus]] = {}
    for user in users:
        rows = []
        for req in requirements.get(user.id, []):
            tried, unfinished = attempts.get((user.id, req.scenario, req.persona, req.mode), ([], []))
            tried, unfinished = since_assignment(req, tried), since_assignment(req, unfinished)
            status, best = requirement_status(req, tried, len(unfinished), today)
            certifying = [a.sign_off for a in tried if a.sign_off is not None and a.score is not None and a.score >= req.pass_mark]
            rows.append(
                RequirementStatus(
                    user=user,
                    requirement=req,
                    status=status,
                    attempts=list(tried),
                    unfinished=list(unfinished),
                    best_score=best.score if best is not None else None,
                    best_session_id=best.session_id if best is not None else None,
                    sign_off=certifying[-1] if certifying else None,
                )
            )
        result[user.id] = rows
    return result


def trainee_progress(*, session: Session, user_id: int, today: Optional[date] = None) -> List[RequirementStatus]:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id!r}.")
    return progress_of(session=session, users=[user], today=today)[user.id]


@dataclass
class Overview:
    team: Optional[str]
    counts: Dict[str, int]
    certified: int
    trainees: List[Tuple[User, Dict[str, int]]]
    # Counts per status for each team (None: people without a team), teams by name.
    teams: List[Tuple[Optional[str], Dict[str, int]]]
    overdue: List[RequirementStatus]
    awaiting_sign_off: List[RequirementStatus]
    rows: List[RequirementStatus]


def overview(*, session: Session, team: Optional[str] = None, today: Optional[date] = None) -> Overview:
    """Counts per status over every trainee's requirements (of one team, or everyone)."""
    users = list_trainees(session=session, team=team)
    progress = progress_of(session=session, users=users, today=today)
    counts = {status: 0 for status in STATUSES}
    trainees = []
    per_team: Dict[Optional[str], Dict[str, int]] = {}
    rows: List[RequirementStatus] = []
    for user in users:
        mine = {status: 0 for status in STATUSES}
        theirs = per_team.setdefault(user.team, {status: 0 for status in STATUSES})
        for row in progress[user.id]:
            counts[row.status] += 1
            mine[row.status] += 1
            theirs[row.status] += 1
            rows.append(row)
        trainees.append((user, mine))
    overdue = sorted(
        (r for r in rows if r.status == "overdue"),
        key=lambda r: (r.requirement.due_date or date.max, r.user.name),
    )
    return Overview(
        team=team,
        counts=counts,
        certified=sum(1 for r in rows if r.certified),
        trainees=trainees,
        teams=sorted(per_team.items(), key=lambda item: (item[0] is None, item[0] or "")),
        overdue=overdue,
        awaiting_sign_off=[r for r in rows if r.awaiting_sign_off],
        rows=rows,
    )
