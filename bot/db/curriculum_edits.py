"""Creating, editing and deleting a curriculum, from what the HR form sends (`ItemSpec`).

Editing keeps each required scenario that stays (same scenario, customer and mode) as the same
row with its new pass mark and due date, removes the ones taken out and adds the new ones;
statuses are computed from attempts, so they follow at once. Deleting removes the curriculum,
its required scenarios and its assignments, and nothing else: practice sessions (the
attempts), their scorecards and trainers' sign-offs are records of what happened and stay.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.db.errors import NotFound
from bot.db.models import DEFAULT_MODE, MODES, Curriculum, CurriculumAssignment, CurriculumItem
from bot.db.training import TrainingError, parse_date


@dataclass(frozen=True)
class ItemSpec:
    """A required scenario as a form sends it: text, validated by `create_curriculum`."""

    scenario: str
    persona: str
    mode: str = DEFAULT_MODE
    pass_mark: str = ""
    due_date: str = ""
    # The form row it came from (0-based), so a problem can mark the right field.
    row: Optional[int] = None


class CurriculumInvalid(TrainingError):
    """Every problem with a curriculum at once, so a form can show them all.

    `fields` maps the form field in error ("name", "item-<row>-<key>", row from 0) to its message.
    """

    def __init__(self, problems: List[str], fields: Optional[Dict[str, str]] = None):
        super().__init__(" ".join(problems))
        self.problems = problems
        self.fields = fields or {}


def validate_curriculum(
    *,
    session: Session,
    name: str,
    items: Iterable[ItemSpec],
    scenario_ids: Iterable[str],
    personas: Iterable[str],
    curriculum_id: Optional[int] = None,
) -> Tuple[str, List[CurriculumItem]]:
    """The cleaned name and the required scenarios, or CurriculumInvalid listing every problem.

    `curriculum_id` is the curriculum being edited: its own name is not taken.
    """
    known_scenarios = set(scenario_ids)
    known_personas = tuple(personas)
    problems: List[str] = []
    fields: Dict[str, str] = {}

    def problem(field_name: str, message: str) -> None:
        problems.append(message)
        fields.setdefault(field_name, message)

    name = " ".join((name or "").split())
    if not name:
        problem("name", "Give the curriculum a name.")
    elif len(name) > 200:
        problem("name", "The name is longer than 200 characters.")
    else:
        same = session.execute(select(Curriculum).where(Curriculum.name == name)).scalar_one_or_none()
        if same is not None and same.id != curriculum_id:
            problem("name", f"A curriculum named {name!r} already exists: choose another name.")
    built: List[CurriculumItem] = []
    seen = set()
    for number, spec in enumerate(items, start=1):
        where = f"Scenario {number}"
        row = getattr(spec, "row", None)
        field = (lambda key, row=(number - 1 if row is None else row): f"item-{row}-{key}")
        scenario = (spec.scenario or "").strip()
        persona = (spec.persona or "").strip()
        mode = (spec.mode or DEFAULT_MODE).strip()
        if scenario not in known_scenarios:
            problem(field("scenario"), f"{where}: unknown scenario id {scenario!r}; known: {', '.join(sorted(known_scenarios))}.")
        if persona not in known_personas:
            problem(field("persona"), f"{where}: unknown persona {persona!r}; choose {' or '.join(known_personas)}.")
        if mode not in MODES:
            problem(field("mode"), f"{where}: unknown mode {mode!r}; choose {' or '.join(MODES)}.")
        pass_mark: Optional[int] = None
        try:
            pass_mark = int((spec.pass_mark or "").strip())
        except ValueError:
            problem(field("pass_mark"), f"{where}: the pass mark {spec.pass_mark!r} is not a whole number from 0 to 100.")
        else:
            if not 0 <= pass_mark <= 100:
                problem(field("pass_mark"), f"{where}: the pass mark {pass_mark} is not between 0 and 100.")
                pass_mark = None
        due: Optional[date] = None
        try:
            due = parse_date(spec.due_date, what=f"{where}: the due date")
        except TrainingError as exc:
            problem(field("due_date"), f"{exc}")
        key = (scenario, persona, mode)
        if key in seen:
            problem(field("scenario"), f"{where}: {scenario} / {persona} / {mode} is already in this curriculum.")
        seen.add(key)
        if pass_mark is not None:
            built.append(
                CurriculumItem(scenario=scenario, persona=persona, mode=mode, pass_mark=pass_mark, due_date=due)
            )
    if not seen:
        problem("item-0-scenario", "Add at least one required scenario.")
    if problems:
        raise CurriculumInvalid(problems, fields)
    return name, built


def create_curriculum(
    *,
    session: Session,
    name: str,
    items: Iterable[ItemSpec],
    scenario_ids: Iterable[str],
    personas: Iterable[str],
    created_by_id: Optional[int] = None,
) -> Curriculum:
    """A new curriculum with its required scenarios; CurriculumInvalid lists every problem.

    `scenario_ids` and `personas` are the known ones (bot.scenarios), passed in so that this
    module does not load scenario files.
    """
    name, built = validate_curriculum(session=session, name=name, items=items, scenario_ids=scenario_ids,
                                      personas=personas)
    curriculum = Curriculum(name=name, created_by_id=created_by_id, items=built)
    session.add(curriculum)
    session.flush()
    return curriculum


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
