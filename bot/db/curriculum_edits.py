"""Editing and deleting a curriculum.

Editing keeps each required scenario that stays (same scenario, customer and mode) as the same
row with its new pass mark and due date, removes the ones taken out and adds the new ones;
statuses are computed from attempts, so they follow at once. Deleting removes the curriculum,
its required scenarios and its assignments, and nothing else: practice sessions (the
attempts), their scorecards and trainers' sign-offs are records of what happened and stay.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.db.crud import NotFound
from bot.db.training import Curriculum, CurriculumAssignment, CurriculumItem, ItemSpec, validate_curriculum


def _get(session: Session, curriculum_id: int) -> Curriculum:
    curriculum = session.get(Curriculum, curriculum_id)
    if curriculum is None:
        raise NotFound(f"No curriculum {curriculum_id!r}.")
    return curriculum


def update_curriculum(
    *,
    session: Session,
    curriculum_id: int,
    name: str,
    items: Iterable[ItemSpec],
    scenario_ids: Iterable[str],
    personas: Iterable[str],
) -> Curriculum:
    """Rename the curriculum and replace its required scenarios; CurriculumInvalid lists every problem."""
    curriculum = _get(session, curriculum_id)
    name, wanted = validate_curriculum(session=session, name=name, items=items, scenario_ids=scenario_ids,
                                       personas=personas, curriculum_id=curriculum_id)
    curriculum.name = name
    by_key = {(i.scenario, i.persona, i.mode): i for i in curriculum.items}
    keep = {(i.scenario, i.persona, i.mode) for i in wanted}
    for key, item in list(by_key.items()):
        if key not in keep:
            curriculum.items.remove(item)
    # Removed rows go first, so a unique (scenario, persona, mode) is never held twice.
    session.flush()
    for new in wanted:
        old = by_key.get((new.scenario, new.persona, new.mode))
        if old is not None:
            old.pass_mark, old.due_date = new.pass_mark, new.due_date
        else:
            curriculum.items.append(new)
    session.flush()
    return curriculum


@dataclass(frozen=True)
class Deleted:
    name: str
    items: int
    assignments: int


def delete_curriculum(*, session: Session, curriculum_id: int) -> Deleted:
    """Delete the curriculum with its required scenarios and assignments; attempts and sign-offs stay."""
    curriculum = _get(session, curriculum_id)
    assignments = session.execute(
        select(func.count()).select_from(CurriculumAssignment).where(CurriculumAssignment.curriculum_id == curriculum_id)
    ).scalar_one()
    result = Deleted(name=curriculum.name, items=len(curriculum.items), assignments=assignments)
    # Explicitly, not through ON DELETE CASCADE: SQLite enforces foreign keys only when asked to.
    session.execute(delete(CurriculumAssignment).where(CurriculumAssignment.curriculum_id == curriculum_id))
    session.execute(delete(CurriculumItem).where(CurriculumItem.curriculum_id == curriculum_id))
    session.expire(curriculum)
    session.delete(curriculum)
    session.flush()
    return result
