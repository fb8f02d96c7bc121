"""Curricula and who they are assigned to: one trainee directly, or everyone in a team.

A curriculum is a named list of required scenarios (scenario, persona, mode, pass mark, due
date). A trainee's requirements are those of every curriculum assigned to them either way.
Creating and editing a curriculum is in `bot/db/curriculum_edits.py`; whether a team or person
exists, in `bot/db/assignment_checks.py`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import List, Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.db.errors import NotFound
from bot.db.models import Curriculum, CurriculumAssignment, CurriculumItem, User
from bot.db.training import TrainingError


@dataclass(frozen=True)
class AssignedScenario:
    """One required scenario of one trainee, through one curriculum."""

    item_id: int
    curriculum_id: int
    curriculum: str
    scenario: str
    persona: str
    mode: str
    pass_mark: int
    due_date: Optional[date]
    # When the curriculum first reached the trainee (directly or through the team): only
    # attempts started on that day or later count (bot/db/attempt_rules.py).
    assigned_at: Optional[datetime] = None

    @classmethod
    def of(cls, item: "CurriculumItem", curriculum: str, assigned_at: Optional[datetime] = None) -> "AssignedScenario":
        return cls(
            item_id=item.id, curriculum_id=item.curriculum_id, curriculum=curriculum, scenario=item.scenario,
            persona=item.persona, mode=item.mode, pass_mark=item.pass_mark, due_date=item.due_date,
            assigned_at=assigned_at,
        )


def assigned_scenarios(*, session: Session, user_id: int) -> List[AssignedScenario]:
    """The required scenarios assigned to this user directly or through their team.

    Ordered by due date (no deadline last), then curriculum and scenario; a requirement that
    reaches the user both ways is listed once.
    """
    user = session.get(User, user_id)
    if user is None:
        return []
    who = [CurriculumAssignment.user_id == user.id]
    if user.team:
        who.append(CurriculumAssignment.team == user.team)
    curriculum_ids = select(CurriculumAssignment.curriculum_id).where(or_(*who))
    rows = session.execute(
        select(CurriculumItem, Curriculum.name)
        .join(Curriculum, CurriculumItem.curriculum_id == Curriculum.id)
        .where(CurriculumItem.curriculum_id.in_(curriculum_ids))
    ).all()
    result = [
        AssignedScenario.of(item, name)
        for item, name in rows
    ]
    result.sort(key=lambda a: (a.due_date is None, a.due_date or date.min, a.curriculum, a.scenario, a.persona))
    return result


def list_curricula(*, session: Session) -> List[Curriculum]:
    return list(session.execute(select(Curriculum).order_by(Curriculum.name)).scalars())


def get_curriculum(*, session: Session, curriculum_id: int) -> Optional[Curriculum]:
    return session.get(Curriculum, curriculum_id)


def assign_curriculum(
    *,
    session: Session,
    curriculum_id: int,
    user_id: Optional[int] = None,
    team: Optional[str] = None,
    assigned_by_id: Optional[int] = None,
) -> CurriculumAssignment:
    """Assign to one user or to one team (exactly one of them); assigning twice changes nothing."""
    team = " ".join(team.split()) if team else None
    if (user_id is None) == (team is None):
        raise TrainingError("Assign the curriculum to one trainee or to one team.")
    if session.get(Curriculum, curriculum_id) is None:
        raise NotFound(f"No curriculum {curriculum_id!r}.")
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"No user {user_id!r}.")
        where = CurriculumAssignment.user_id == user_id
    else:
        where = CurriculumAssignment.team == team
    existing = session.execute(
        select(CurriculumAssignment).where(CurriculumAssignment.curriculum_id == curriculum_id, where)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    assignment = CurriculumAssignment(
        curriculum_id=curriculum_id, user_id=user_id, team=team, assigned_by_id=assigned_by_id
    )
    session.add(assignment)
    session.flush()
    return assignment


def unassign(*, session: Session, assignment_id: int) -> None:
    assignment = session.get(CurriculumAssignment, assignment_id)
    if assignment is None:
        raise NotFound(f"No assignment {assignment_id!r}.")
    session.delete(assignment)
    session.flush()


def assignments_of(*, session: Session, curriculum_id: int) -> List[CurriculumAssignment]:
    return list(
        session.execute(
            select(CurriculumAssignment)
            .where(CurriculumAssignment.curriculum_id == curriculum_id)
            .order_by(CurriculumAssignment.team, CurriculumAssignment.id)
        ).scalars()
    )


def list_teams(*, session: Session) -> List[str]:
    rows = session.execute(select(User.team).where(User.team.is_not(None)).distinct().order_by(User.team))
    return [team for (team,) in rows]


def list_trainees(*, session: Session, team: Optional[str] = None) -> List[User]:
    """Active trainees, and anyone else a curriculum is assigned to directly, by name."""
    direct = select(CurriculumAssignment.user_id).where(CurriculumAssignment.user_id.is_not(None))
    query = select(User).where(User.active.is_(True), or_(User.role == "trainee", User.id.in_(direct)))
    if team:
        query = query.where(User.team == team)
    return list(session.execute(query.order_by(User.name, User.email)).scalars())
