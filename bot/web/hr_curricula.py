"""HR pages for curricula (on the `hr` blueprint).

- `/hr/curricula` every curriculum with its assignments, the form for a new one, and assigning
  one to trainees or a team (only teams someone is in, people on the roster);
- `/hr/curricula/<id>/edit` the curriculum's form, filled in, and the delete button;
- `POST /hr/curricula/<id>/delete` deletes it with its required scenarios and assignments;
  the trainees' attempts, scores and sign-offs stay (bot/db/curriculum_edits.py).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from flask import abort, flash, g, redirect, render_template, request, url_for

from bot import db
from bot.db import assignment_checks, assignments, curriculum_edits, models
from bot.errors import CoachError
from bot.scenarios import PERSONAS, list_scenarios
from bot.web.auth import engine, require_role
from bot.web.hr import FLASH, _context, bp

# Blank rows offered by the curriculum form: enough for a typical curriculum without script.
CURRICULUM_ROWS = 6
FORM_KEYS = ("scenario", "persona", "mode", "pass_mark", "due_date")
# Rows offered beyond the curriculum's own, to add required scenarios while editing.
SPARE_ROWS = 2


# --- curricula -------------------------------------------------------------------------------


def _blank_items() -> List[Dict[str, str]]:
    from bot.scoring import load_rubric

    mark = str(load_rubric().pass_mark)
    return [
        {"scenario": "", "persona": PERSONAS[0], "mode": models.DEFAULT_MODE, "pass_mark": mark, "due_date": ""}
        for _ in range(CURRICULUM_ROWS)
    ]


def _render_curricula(*, form: Optional[Dict[str, Any]] = None, problems: Optional[List[str]] = None,
                      assign_error: Optional[str] = None, assign_field: Optional[Dict[str, Any]] = None,
                      status: int = 200):
    with db.session_scope(engine()) as dbs:
        curricula = assignments.list_curricula(session=dbs)
        assigned = {c.id: assignments.assignments_of(session=dbs, curriculum_id=c.id) for c in curricula}
        page = render_template(
            "hr/curricula.html",
            **_context(
                curricula=curricula,
                assignments=assigned,
                teams=assignment_checks.existing_teams(session=dbs),
                trainees=assignments.list_trainees(session=dbs),
                scenarios=list_scenarios(),
                personas=PERSONAS,
                modes=models.MODES,
                form=form or {"name": "", "items": _blank_items()},
                problems=problems or [],
                assign_error=assign_error,
                assign_field=assign_field,
            ),
        )
    return page, status


@bp.get("/curricula")
@require_role("hr")
def curricula():
    return _render_curricula()


@bp.post("/curricula")
@require_role("hr")
def create_curriculum():
    name = request.form.get("name", "")
    rows = []
    for number in range(CURRICULUM_ROWS):
        row = {key: request.form.get(f"item-{number}-{key}", "") for key in ("scenario", "persona", "mode", "pass_mark", "due_date")}
        rows.append(row)
    # A row without a scenario is one of the spare blank rows, whatever its defaults say.
    specs = [curriculum_edits.ItemSpec(**row, row=n) for n, row in enumerate(rows) if row["scenario"].strip()]
    try:
        with db.session_scope(engine()) as dbs:
            created = curriculum_edits.create_curriculum(
                session=dbs,
                name=name,
                items=specs,
                scenario_ids=[s.id for s in list_scenarios()],
                personas=PERSONAS,
                created_by_id=g.user.id,
            )
            created_name = created.name
    except curriculum_edits.CurriculumInvalid as exc:
        return _render_curricula(form={"name": name, "items": rows, "fields": exc.fields}, problems=exc.problems,
                                 status=400)
    flash(f"Curriculum {created_name!r} saved. Assign it to trainees or teams below.", FLASH)
    return redirect(url_for("hr.curricula"))


@bp.post("/curricula/<int:curriculum_id>/assignments")
@require_role("hr")
def assign(curriculum_id: int):
    user_ids = request.form.getlist("user_id")
    team = (request.form.get("team") or "").strip()
    if not user_ids and not team:
        return _render_curricula(assign_error="Choose trainees or a team to assign the curriculum to.", status=400)
    try:
        parsed = [int(value) for value in user_ids]
    except ValueError:
        return _render_curricula(assign_error="That trainee is not on the list.", status=400)
    try:
        with db.session_scope(engine()) as dbs:
            curriculum = assignments.get_curriculum(session=dbs, curriculum_id=curriculum_id)
            if curriculum is None:
                abort(404, description="No such curriculum.")
            assignment_checks.existing_people(session=dbs, user_ids=parsed)
            if team:
                team = assignment_checks.existing_team(session=dbs, team=team)
            for user_id in parsed:
                assignments.assign_curriculum(
                    session=dbs, curriculum_id=curriculum_id, user_id=user_id, assigned_by_id=g.user.id
                )
            if team:
                assignments.assign_curriculum(session=dbs, curriculum_id=curriculum_id, team=team, assigned_by_id=g.user.id)
            curriculum_name = curriculum.name
    except assignment_checks.UnknownAssignee as exc:
        # Nothing is assigned, not even the trainees ticked with it: fix the team and send again.
        field = {"curriculum_id": curriculum_id, "team": team} if exc.field == "team" else None
        return _render_curricula(assign_error=str(exc), assign_field=field, status=400)
    except CoachError as exc:
        return _render_curricula(assign_error=str(exc), status=400)
    who = []
    if parsed:
        who.append(f"{len(parsed)} trainee{'s' if len(parsed) != 1 else ''}")
    if team:
        who.append(f"team {team}")
    flash(f"{curriculum_name} assigned to {' and '.join(who)}.", FLASH)
    return redirect(url_for("hr.curricula"))


@bp.post("/assignments/<int:assignment_id>/delete")
@require_role("hr")
def unassign(assignment_id: int):
    try:
        with db.session_scope(engine()) as dbs:
            assignments.unassign(session=dbs, assignment_id=assignment_id)
    except db.NotFound:
        abort(404, description="That assignment no longer exists.")
    flash("Assignment removed.", FLASH)
    return redirect(url_for("hr.curricula"))


# --- editing and deleting one ------------------------------------------------------------------


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
