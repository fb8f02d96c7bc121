"""HR pages: rosters, curricula, completion status and exports.

- `/hr/` the team overview (counts per status, the overdue list, every trainee) — HR, admins;
- `/hr/roster` import a CSV roster; the new people's initial passwords are shown once;
- `/hr/curricula` define curricula of required scenarios and assign them to trainees or teams
  (bot/web/hr_curricula.py);
- `/hr/trainees/<id>` one trainee's statuses and attempts — HR, trainers and admins; trainers
  sign off passes there (HR sees the sign-off but cannot give one);
- `/hr/sign-offs` passes waiting for a trainer's sign-off — trainers and admins;
- `/hr/export.csv` and `/hr/statements.json` statuses as CSV, attempts as xAPI statements;
- `/hr/me` anyone's own progress, and nobody else's.

HR sees completion and scores, never transcripts: links to a transcript are only shown to
users who may open the trainer pages (trainers and admins).
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timezone
from typing import Any, Dict, List, Optional

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from bot import db, xapi
from bot.db import assignments, attempt_rules, certification, models, progress, roster_import, training
from bot.scenarios import list_scenarios
from bot.web.auth import audit, engine, has_role, require_role

bp = Blueprint("hr", __name__, url_prefix="/hr")

FLASH = "hr"
PERSONA_LABELS = {"angry": "Angry", "dispassionate": "Matter-of-fact"}
MODE_LABELS = {"assessment": "Assessment", "coach": "Coach (practice with tips)"}
# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
STATUS_COLUMNS = (
    "name", "email", "team", "curriculum", "scenario", "persona", "mode", "pass_mark", "due_date",
    "status", "attempts", "best_score", "certified", "signed_off_by", "signed_off_at",
    "pass_date", "days_late", "last_attempt",
)
TRANSCRIPT_ENDPOINT = "trainer.transcript"


# --- helpers ---------------------------------------------------------------------------------


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: List[str], rows: List[List[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def _download(body: str, *, filename: str, mimetype: str, no_store: bool = False) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if no_store:
        response.headers["Cache-Control"] = "no-store"
    return response


def _titles() -> Dict[str, str]:
    return {s.id: s.title for s in list_scenarios()}


def _today() -> date:
    # Tests set HR_TODAY to see what happens after a due date.
    configured = current_app.config.get("HR_TODAY")
    return date.fromisoformat(configured) if configured else progress.today_utc()


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")


def _transcript_url(session_id: str) -> Optional[str]:
    if not has_role(g.user, "trainer") or TRANSCRIPT_ENDPOINT not in current_app.view_functions:
        return None
    return url_for(TRANSCRIPT_ENDPOINT, session_id=session_id)


def _context(**extra: Any) -> Dict[str, Any]:
    return {
        "titles": _titles(),
        "status_labels": progress.STATUS_LABELS,
        "persona_labels": PERSONA_LABELS,
        "mode_labels": MODE_LABELS,
        "transcript_url": _transcript_url,
        "may_sign_off": has_role(g.user, "trainer"),
        "pass_date": attempt_rules.pass_date,
        "days_late": attempt_rules.days_late,
        "last_attempt": attempt_rules.last_attempt,
        **extra,
    }


def _team_arg() -> Optional[str]:
    return (request.args.get("team") or "").strip() or None


@bp.app_template_test("late_pass")
def _late_pass(row: progress.RequirementStatus) -> bool:
    return attempt_rules.days_late(row) is not None


@bp.app_template_filter("hr_time")
def _hr_time(value: Optional[datetime]) -> str:
    if value is None:
        return "—"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# --- overview --------------------------------------------------------------------------------


@bp.get("/")
@require_role("hr")
def overview():
    team = _team_arg()
    with db.session_scope(engine()) as dbs:
        teams = assignments.list_teams(session=dbs)
        summary = progress.overview(session=dbs, team=team, today=_today())
        return render_template(
            "hr/overview.html", **_context(summary=summary, teams=teams, team=team, statuses=progress.STATUSES)
        )


# --- roster ----------------------------------------------------------------------------------


@bp.get("/roster")
@require_role("hr")
def roster():
    return render_template("hr/roster.html", **_context(error=None, result=None))


@bp.post("/roster")
@require_role("hr")
def import_roster():
    upload = request.files.get("roster")
    if upload is None or not upload.filename:
        return render_template("hr/roster.html", **_context(error="Choose a CSV file to import.", result=None)), 400
    data = upload.read()
    try:
        with db.session_scope(engine()) as dbs:
            result = roster_import.import_roster(session=dbs, data=data)
        audit("roster_imported", after={"file": upload.filename, "created": [a.email for a in result.created],
                                        "updated": [a.email for a in result.updated], "problems": len(result.problems)})
    except training.TrainingError as exc:
        return render_template("hr/roster.html", **_context(error=str(exc), result=None)), 400
    response = Response(render_template("hr/roster.html", **_context(error=None, result=result)))
    # The page holds passwords in clear: no browser or proxy may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/roster/passwords.csv")
@require_role("hr")
def passwords_csv():
    """The passwords from the import page as a CSV: the page posts back what it shows.

    Nothing is stored in clear on the server, so this is the only way to a file of them.
    """
    names = request.form.getlist("name")
    emails = request.form.getlist("email")
    teams = request.form.getlist("team")
    passwords = request.form.getlist("password")
    if not emails or not len(names) == len(emails) == len(teams) == len(passwords):
        abort(400, description="There are no passwords to download: import a roster first.")
    rows = [list(row) for row in zip(names, emails, teams, passwords)]
    audit("passwords_exported", after={"emails": emails})
    return _download(
        csv_text(["name", "email", "team", "initial_password"], rows),
        filename=f"initial-passwords-{_stamp()}.csv",
        mimetype="text/csv",
        no_store=True,
    )


# --- one trainee, sign-offs --------------------------------------------------------------------


@bp.get("/trainees/<int:user_id>")
@require_role("hr", "trainer")
def trainee(user_id: int):
    with db.session_scope(engine()) as dbs:
        person = db.get_user(session=dbs, user_id=user_id)
        if person is None:
            abort(404, description="No such trainee.")
        rows = progress.trainee_progress(session=dbs, user_id=user_id, today=_today())
        entry = roster_import.roster_entry(session=dbs, user_id=user_id)
        return render_template(
            "hr/trainee.html", **_context(person=person, rows=rows, entry=entry, own=False)
        )


@bp.get("/sign-offs")
@require_role("trainer")
def sign_offs():
    with db.session_scope(engine()) as dbs:
        summary = progress.overview(session=dbs, today=_today())
        waiting = [r for r in summary.awaiting_sign_off if r.user.id != g.user.id]
        return render_template("hr/sign_offs.html", **_context(waiting=waiting))


@bp.post("/sign-offs")
@require_role("trainer")
def sign_off():
    session_id = request.form.get("session_id", "").strip()
    note = request.form.get("note", "")
    back = request.form.get("back", "")
    owner: Optional[int] = None
    try:
        with db.session_scope(engine()) as dbs:
            practice = db.get_session(session=dbs, session_id=session_id)
            owner = practice.user_id if practice is not None else None
            signed = certification.sign_off(session=dbs, session_id=session_id, signer_id=g.user.id, note=note)
            title = _titles().get(practice.scenario, practice.scenario)
            message = f"Signed off: {title} ({practice.persona}), score {_score_of(signed, dbs)}. The pass is certified."
        audit("signed_off", subject=("session", session_id), after={"trainee_id": owner, "note": note})
    except (db.NotFound, db.NotAllowed, training.TrainingError) as exc:
        message = f"Not signed off: {exc}"
    flash(message, FLASH)
    # Back where the trainer pressed the button: the list, or the trainee's page.
    if back == "list" or owner is None:
        return redirect(url_for("hr.sign_offs"))
    return redirect(url_for("hr.trainee", user_id=owner))


def _score_of(signed: models.SignOff, dbs: Any) -> str:
    card = db.get_current_scorecard(session=dbs, session_id=signed.session_id)
    return str(card.score) if card is not None else "—"


# --- exports ---------------------------------------------------------------------------------


def _status_record(row: progress.RequirementStatus) -> List[Any]:
    req = row.requirement
    return [
        row.user.name,
        row.user.email,
        row.user.team or "",
        req.curriculum,
        req.scenario,
        req.persona,
        req.mode,
        req.pass_mark,
        req.due_date.isoformat() if req.due_date else "",
        row.status,
        row.attempt_count,
        "" if row.best_score is None else row.best_score,
        "yes" if row.certified else "no",
        row.sign_off.signed_by.name if row.sign_off else "",
        row.sign_off.created_at.astimezone(timezone.utc).isoformat(timespec="seconds") if row.sign_off else "",
        _iso_day(attempt_rules.pass_date(row)),
        attempt_rules.days_late(row) or "",
        _iso_moment(attempt_rules.last_attempt(row)),
    ]


def _iso_day(day: Optional[date]) -> str:
    return day.isoformat() if day else ""


def _iso_moment(moment: Optional[datetime]) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds") if moment else ""


@bp.get("/export.csv")
@require_role("hr")
def export_csv():
    team = _team_arg()
    with db.session_scope(engine()) as dbs:
        summary = progress.overview(session=dbs, team=team, today=_today())
        body = csv_text(list(STATUS_COLUMNS), [_status_record(r) for r in summary.rows])
    audit("progress_exported", after={"format": "csv", "team": team, "rows": len(summary.rows)})
    return _download(body, filename=f"training-status-{_stamp()}.csv", mimetype="text/csv")


@bp.get("/statements.json")
@require_role("hr")
def export_xapi():
    team = _team_arg()
    with db.session_scope(engine()) as dbs:
        summary = progress.overview(session=dbs, team=team, today=_today())
        statements = xapi.statements(summary.rows, titles=_titles())
    audit("statements_exported", after={"format": "xapi", "team": team, "statements": len(statements)})
    body = json.dumps(statements, indent=2, ensure_ascii=False)
    return _download(body, filename=f"xapi-statements-{_stamp()}.json", mimetype="application/json")


# --- my own progress -----------------------------------------------------------------------------


@bp.get("/me")
@require_role()
def my_progress():
    with db.session_scope(engine()) as dbs:
        rows = progress.trainee_progress(session=dbs, user_id=g.user.id, today=_today())
        context = _context(person=g.user, rows=rows, entry=None, own=True)
        # Your own page never offers sign-off or transcripts: a trainer's attempts are signed by another.
        context["may_sign_off"] = False
        context["transcript_url"] = lambda session_id: None
        return render_template("hr/trainee.html", **context)


# The curriculum pages live in their own module, on this blueprint.
from bot.web import hr_curricula  # noqa: E402,F401
