"""Trainer pages: scored transcripts to review and overrule. Only trainers and admins.

- `/trainer/` the session list, filtered by a GET form (a shareable URL), sorted and paged;
- `/trainer/sessions/<id>` one transcript: evidence highlighted in the trainee's words, each
  check's verdict and tip, the mood chart, the scorecard, and the forms to overrule a check
  or the outcome and to comment on a turn (POST, then redirect back);
- `/trainer/agreement` how often trainers agree with each check (percent and Cohen's kappa);
- CSV and JSON exports of one session and of a filtered list.

The machine's verdicts are never changed: an override is a row of its own (bot.db).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from bot import db
from bot.db.adjusted import machine_scorecard, machine_scores_of, refresh_adjusted_scorecard
from bot.errors import CoachError
from bot.web.auth import audit, engine, require_role
from bot.web.evidence import CHECK_LABELS, check_label, ordered_checks
from bot.web.exports import session_row, sessions_csv, transcript_csv, transcript_json
from bot.web.mood_chart import mood_chart
from bot.db.check_summary import weakest_checks
from bot.db.review_queue import REASONS, review_queue
from bot.web.review_period import parse_period
from bot.web.transcript_view import turn_views
from bot.web.weak_checks_chart import weak_checks_chart
from bot.web.session_filters import ORDERS, PAGE_SIZES, SORTS, SessionFilters, parse_filters

bp = Blueprint("trainer", __name__, url_prefix="/trainer")

OUTCOME_LABELS = {
    "resolved": "Resolved: the customer accepted the plan",
    "churned": "Churned: the customer gave up and left",
    "escalated": "Escalated: the customer asked for a manager",
    "abandoned": "Abandoned: the trainee ended it first",
}
PERSONA_LABELS = {"angry": "Angry", "dispassionate": "Matter-of-fact"}
# Kappa up to 0.40 is at best "fair" agreement on Landis & Koch's (1977) scale: a check that
# trainers overrule that often needs looking at.
WEAK_KAPPA = 0.40
# Below this many reviewed verdicts one disagreement moves kappa a lot; the page says so.
FEW_REVIEWS = 10
FLASH = "review"
# Queue rows on the landing page; the counts cover them all.
QUEUE_ROWS = 25


@bp.app_template_filter("review_time")
def _review_time(value: Optional[datetime]) -> str:
    if value is None:
        return "—"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _scenario_titles() -> Dict[str, str]:
    """Scenario id -> title from the catalogue; ids alone when it cannot be read."""
    try:
        from bot.scenarios import list_scenarios

        return {s.id: s.title for s in list_scenarios()}
    except Exception:  # a broken scenario file must not take the review pages down
        return {}


def _context(**extra: Any) -> Dict[str, Any]:
    return dict(
        check_label=check_label,
        outcome_labels=OUTCOME_LABELS,
        persona_labels=PERSONA_LABELS,
        **extra,
    )


# --- the session list ---------------------------------------------------------------------


@bp.get("/")
@require_role("trainer")
def sessions():
    filters = parse_filters(request.args)
    period = parse_period(request.args)
    titles = _scenario_titles()
    page: Optional[db.SessionPage] = None
    with db.session_scope(engine()) as dbs:
        trainees = db.list_session_owners(session=dbs)
        if filters.ok:
            page = db.list_sessions(
                session=dbs, **filters.query, limit=filters.per_page, offset=(filters.page - 1) * filters.per_page
            )
        queue = review_queue(session=dbs, awaiting_sign_off=_awaiting_sign_off(dbs))
        weakest = weakest_checks(session=dbs, **period.query) if period.ok else []
    pages = max(1, -(-page.total // filters.per_page)) if page else 1
    return render_template(
        "trainer/sessions.html",
        **_context(
            filters=filters,
            page=page,
            pages=pages,
            trainees=trainees,
            scenario_titles=titles,
            scenario_ids=sorted(set(titles) | ({filters.values["scenario"]} - {""})),
            queue=queue,
            queue_shown=queue.items if request.args.get("queue") == "all" else queue.items[:QUEUE_ROWS],
            reasons=REASONS,
            period=period,
            weak_chart=weak_checks_chart(weakest),
            personas=PERSONA_LABELS,
            outcomes=OUTCOME_LABELS,
            checks=CHECK_LABELS,
            sorts=SORTS,
            orders=ORDERS,
            page_sizes=PAGE_SIZES,
        ),
    ), (200 if filters.ok and period.ok else 400)


def _awaiting_sign_off(dbs: Any) -> List[str]:
    """Session ids of passes waiting for a trainer's sign-off (not the trainer's own)."""
    from bot.db import progress

    summary = progress.overview(session=dbs)
    return [r.best_session_id for r in summary.awaiting_sign_off if r.best_session_id and r.user.id != g.user.id]


def _all_matching(filters: SessionFilters) -> List[db.SessionRow]:
    rows: List[db.SessionRow] = []
    with db.session_scope(engine()) as dbs:
        while True:
            chunk = db.list_sessions(session=dbs, **filters.query, limit=db.transcripts.MAX_PAGE_SIZE, offset=len(rows))
            rows.extend(chunk.rows)
            if not chunk.rows or len(rows) >= chunk.total:
                return rows


def _download(body: str, *, filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _filtered_for_export() -> SessionFilters:
    filters = parse_filters(request.args)
    if not filters.ok:
        abort(400, description="The filters are not valid: " + " ".join(filters.errors.values()))
    return filters


def _export_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")


@bp.get("/sessions.csv")
@require_role("trainer")
def export_sessions_csv():
    rows = _all_matching(_filtered_for_export())
    with db.session_scope(engine()) as dbs:
        machine = machine_scores_of(session=dbs, session_ids=[r.session_id for r in rows])
    audit("sessions_exported", after={"format": "csv", "sessions": len(rows), "filters": request.args.to_dict()})
    return _download(sessions_csv(rows, machine), filename=f"sessions-{_export_stamp()}.csv", mimetype="text/csv")


@bp.get("/sessions.json")
@require_role("trainer")
def export_sessions_json():
    filters = _filtered_for_export()
    rows = _all_matching(filters)
    with db.session_scope(engine()) as dbs:
        machine = machine_scores_of(session=dbs, session_ids=[r.session_id for r in rows])
    body = {
        "filters": {k: v for k, v in filters.values.items() if v},
        "total": len(rows),
        "sessions": [session_row(r, machine) for r in rows],
    }
    audit("sessions_exported", after={"format": "json", "sessions": len(rows), "filters": request.args.to_dict()})
    return _download(
        json.dumps(body, ensure_ascii=False, indent=2),
        filename=f"sessions-{_export_stamp()}.json",
        mimetype="application/json",
    )


# --- one transcript -------------------------------------------------------------------------


def _load(dbs: Any, session_id: str) -> db.Transcript:
    transcript = db.get_transcript(session=dbs, session_id=session_id)
    if transcript is None:
        abort(404, description="There is no practice session with that id.")
    return transcript


def _render_transcript(session_id: str, *, forms: Optional[Dict[str, Any]] = None, status: int = 200):
    with db.session_scope(engine()) as dbs:
        t = _load(dbs, session_id)
        titles = _scenario_titles()
        body = render_template(
            "trainer/transcript.html",
            **_context(
                t=t,
                practice=t.session,
                scenario_title=titles.get(t.session.scenario, t.session.scenario),
                turns=turn_views(t),
                chart=mood_chart(t.session.mood_curve),
                machine_card=machine_scorecard(t),
                forms=forms or {},
                outcomes=OUTCOME_LABELS,
            ),
        )
    return body, status


@bp.get("/sessions/<session_id>")
@require_role("trainer")
def transcript(session_id: str):
    return _render_transcript(session_id)


def _find_turn(t: db.Transcript, number: int) -> db.Turn:
    for turn in t.turns:
        if turn.number == number:
            return turn
    abort(404, description=f"This session has no reply number {number}.")


def _back_to(session_id: str, anchor: str):
    return redirect(url_for("trainer.transcript", session_id=session_id, _anchor=anchor), code=303)


def _score_note(card: Optional[db.Scorecard]) -> str:
    if card is None:
        return ""
    if card.trainer_adjusted:
        return f" The trainer-adjusted score is {card.score} / 100 ({'passed' if card.passed else 'not passed'})."
    return f" The score stays the machine's {card.score} / 100."


@bp.post("/sessions/<session_id>/turns/<int:number>/checks")
@require_role("trainer")
def override_check(session_id: str, number: int):
    check = request.form.get("check", "").strip()
    found = request.form.get("found", "")
    reason = request.form.get("reason", "")
    errors: Dict[str, str] = {}
    with db.session_scope(engine()) as dbs:
        t = _load(dbs, session_id)
        turn = _find_turn(t, number)
        if not check:
            errors["check"] = "Choose the check you are overruling."
        elif check not in turn.checks:
            errors["check"] = (
                f"Reply {number} has no check “{check}”: choose one of "
                f"{', '.join(check_label(c) for c in ordered_checks(turn.checks))}."
            )
        if found not in ("yes", "no"):
            errors["found"] = "Say whether the behaviour is there (found) or not (not found)."
        if not reason.strip():
            errors["reason"] = "Say why: an override needs a reason the trainee and other trainers can read."
        if not errors:
            try:
                db.override_check(session=dbs, turn_id=turn.id, check=check, trainer_found=found == "yes",
                                  reason=reason, reviewer_id=g.user.id)
                audit_before = {"turn": number, "check": check, "machine_found": bool(turn.checks[check].get("found"))}
                score_note = _score_note(refresh_adjusted_scorecard(session=dbs, session_id=session_id))
            except db.NotAllowed as exc:
                abort(403, description=str(exc))
            except CoachError as exc:
                errors["check"] = str(exc)
    if errors:
        form = {"turn": number, "errors": errors, "check": check, "found": found, "reason": reason}
        return _render_transcript(session_id, forms={"override": form}, status=400)
    audit("check_overridden", subject=("session", session_id), before=audit_before,
          after={"turn": number, "check": check, "found": found == "yes", "reason": reason})
    verdict = "found" if found == "yes" else "not found"
    flash(f"Saved: {check_label(check)} on reply {number} is now “{verdict}”.{score_note}", FLASH)
    return _back_to(session_id, f"turn-{number}")


@bp.post("/sessions/<session_id>/outcome")
@require_role("trainer")
def override_outcome(session_id: str):
    outcome = request.form.get("outcome", "")
    reason = request.form.get("reason", "")
    errors: Dict[str, str] = {}
    if outcome not in OUTCOME_LABELS:
        errors["outcome"] = "Choose how the conversation really ended."
    if not reason.strip():
        errors["reason"] = "Say why: an override needs a reason the trainee and other trainers can read."
    with db.session_scope(engine()) as dbs:
        audit_before = {"outcome": _load(dbs, session_id).session.outcome}
        if not errors:
            try:
                db.override_outcome(session=dbs, session_id=session_id, outcome=outcome, reason=reason,
                                    reviewer_id=g.user.id)
                score_note = _score_note(refresh_adjusted_scorecard(session=dbs, session_id=session_id))
            except db.NotAllowed as exc:
                abort(403, description=str(exc))
            except CoachError as exc:
                errors["outcome"] = str(exc)
    if errors:
        form = {"errors": errors, "outcome": outcome, "reason": reason}
        return _render_transcript(session_id, forms={"outcome": form}, status=400)
    audit("outcome_overridden", subject=("session", session_id), before=audit_before,
          after={"outcome": outcome, "reason": reason})
    flash(f"Saved: the outcome is now “{outcome}”.{score_note}", FLASH)
    return _back_to(session_id, "outcome")


@bp.post("/sessions/<session_id>/turns/<int:number>/comments")
@require_role("trainer")
def comment(session_id: str, number: int):
    text = request.form.get("text", "")
    errors: Dict[str, str] = {}
    with db.session_scope(engine()) as dbs:
        turn = _find_turn(_load(dbs, session_id), number)
        if not text.strip():
            errors["text"] = "The comment is empty: write what the trainee should know about this reply."
        else:
            db.add_comment(session=dbs, turn_id=turn.id, author_id=g.user.id, text=text.strip())
    if errors:
        form = {"turn": number, "errors": errors, "text": text}
        return _render_transcript(session_id, forms={"comment": form}, status=400)
    flash(f"Saved your comment on reply {number}.", FLASH)
    return _back_to(session_id, f"turn-{number}")


@bp.get("/sessions/<session_id>/export.csv")
@require_role("trainer")
def export_transcript_csv(session_id: str):
    with db.session_scope(engine()) as dbs:
        body = transcript_csv(_load(dbs, session_id))
    audit("transcript_exported", subject=("session", session_id), after={"format": "csv"})
    return _download(body, filename=f"session-{session_id}.csv", mimetype="text/csv")


@bp.get("/sessions/<session_id>/export.json")
@require_role("trainer")
def export_transcript_json(session_id: str):
    with db.session_scope(engine()) as dbs:
        body = transcript_json(_load(dbs, session_id))
    audit("transcript_exported", subject=("session", session_id), after={"format": "json"})
    return _download(json.dumps(body, ensure_ascii=False, indent=2), filename=f"session-{session_id}.json",
                     mimetype="application/json")


# --- agreement between the machine and the trainers ---------------------------------------


def _standing(row: db.CheckAgreement) -> str:
    if row.n == 0:
        return "none"
    if row.kappa is not None:
        return "weak" if row.kappa <= WEAK_KAPPA else "good"
    # Kappa is undefined when every verdict was the same; then the percentage tells.
    return "good" if row.agreement == 1 else "weak"


@bp.get("/agreement")
@require_role("trainer")
def agreement():
    with db.session_scope(engine()) as dbs:
        table = db.agreement_per_check(session=dbs, checks=list(CHECK_LABELS))
    rows = [
        {"row": table[name], "label": check_label(name), "standing": _standing(table[name]),
         "few": 0 < table[name].n < FEW_REVIEWS}
        for name in ordered_checks(table)
    ]
    return render_template(
        "trainer/agreement.html", **_context(rows=rows, weak_kappa=WEAK_KAPPA, few_reviews=FEW_REVIEWS)
    )
