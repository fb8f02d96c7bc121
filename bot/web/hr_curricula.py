"""HR pages to edit and delete a curriculum (on the `hr` blueprint).

- `/hr/curricula/<id>/edit` the curriculum's form, filled in, and the delete button;
- `POST /hr/curricula/<id>/delete` deletes it with its required scenarios and assignments;
  the trainees' attempts, scores and sign-offs stay (bot/db/curriculum_edits.py).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from flask import abort, flash, redirect, render_template, request, url_for

from bot import db
from bot.db import assignments, curriculum_edits, models
from bot.scenarios import PERSONAS, list_scenarios
from bot.web.auth import engine, require_role
from bot.web.hr import CURRICULUM_ROWS, FLASH, _context, bp

FORM_KEYS = ("scenario", "persona", "mode", "pass_mark", "due_date")
# Rows offered beyond the curriculum's own, to add required scenarios while editing.
SPARE_ROWS = 2


def _rows_of(curriculum: models.Curriculum) -> List[Dict[str, str]]:
    rows = [
        {"scenario": i.scenario, "persona": i.persona, "mode": i.mode, "pass_mark": str(i.pass_mark),
         "due_date": i.due_date.isoformat() if i.due_date else ""}
        for i in curriculum.items
    ]
    blank = {"scenario": "", "persona": PERSONAS[0], "mode": models.DEFAULT_MODE,
             "pass_mark": rows[-1]["pass_mark"] if rows else "70", "due_date": ""}
    return rows + [dict(blank) for _ in range(max(SPARE_ROWS, CURRICULUM_ROWS - len(rows)))]


def _render(curriculum_id: int, *, form: Optional[Dict[str, Any]] = None, problems: Optional[List[str]] = None,
            status: int = 200):
    with db.session_scope(engine()) as dbs:
        curriculum = assignments.get_curriculum(session=dbs, curriculum_id=curriculum_id)
        if curriculum is None:
            abort(404, description="There is no curriculum with that number: it may have been deleted.")
        assigned = assignments.assignments_of(session=dbs, curriculum_id=curriculum_id)
        page = render_template(
            "hr/curriculum_edit.html",
            **_context(
                curriculum=curriculum,
                assigned=assigned,
                form=form or {"name": curriculum.name, "items": _rows_of(curriculum)},
                problems=problems or [],
                scenarios=list_scenarios(),
                personas=PERSONAS,
                modes=models.MODES,
            ),
        )
    return page, status


@bp.get("/curricula/<int:curriculum_id>/edit")
@require_role("hr")
def edit_curriculum(curriculum_id: int):
    return _render(curriculum_id)


@bp.post("/curricula/<int:curriculum_id>/edit")
@require_role("hr")
def update_curriculum(curriculum_id: int):
    name = request.form.get("name", "")
    count = int(request.form.get("rows", CURRICULUM_ROWS)) if request.form.get("rows", "").isdigit() else CURRICULUM_ROWS
    rows = [{key: request.form.get(f"item-{n}-{key}", "") for key in FORM_KEYS} for n in range(min(count, 50))]
    specs = [curriculum_edits.ItemSpec(**row, row=n) for n, row in enumerate(rows) if row["scenario"].strip()]
    try:
        with db.session_scope(engine()) as dbs:
            saved = curriculum_edits.update_curriculum(
                session=dbs, curriculum_id=curriculum_id, name=name, items=specs,
                scenario_ids=[s.id for s in list_scenarios()], personas=PERSONAS,
            )
            saved_name = saved.name
    except db.NotFound:
        abort(404, description="There is no curriculum with that number: it may have been deleted.")
    except curriculum_edits.CurriculumInvalid as exc:
        return _render(curriculum_id, form={"name": name, "items": rows, "fields": exc.fields},
                       problems=exc.problems, status=400)
    flash(f"Curriculum {saved_name!r} saved. Statuses follow the new requirements at once.", FLASH)
    return redirect(url_for("hr.curricula", _anchor=f"curriculum-{curriculum_id}"))


@bp.post("/curricula/<int:curriculum_id>/delete")
@require_role("hr")
def delete_curriculum(curriculum_id: int):
    try:
        with db.session_scope(engine()) as dbs:
            deleted = curriculum_edits.delete_curriculum(session=dbs, curriculum_id=curriculum_id)
    except db.NotFound:
        abort(404, description="There is no curriculum with that number: it may have been deleted already.")
    flash(
        f"Curriculum {deleted.name!r} deleted with its {deleted.items} required scenario(s) and "
        f"{deleted.assignments} assignment(s). The trainees' attempts, scores and sign-offs are kept.",
        FLASH,
    )
    return redirect(url_for("hr.curricula"))
