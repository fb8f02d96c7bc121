"""The scenario editor: trainers and admins write, try, publish and archive scenarios.

- `/trainer/scenarios` every scenario with its status and versions;
- `/trainer/scenarios/new` a new scenario (saved as its first draft);
- `/trainer/scenarios/<id>` its draft (or its current version, to start one), with its versions;
  POST saves the draft;
- `POST .../try` plays the draft in the practice chat (coach mode): only trainers and admins can,
  trainees never see drafts;
- `POST .../publish` makes the draft the version new practice plays; `POST .../archive` hides
  the scenario from new practice, keeping every version for old transcripts, and
  `POST .../restore` brings the archived version back;
- `POST .../discard` throws the draft away (a scenario never published goes with it, unless its
  draft was tried: sessions that played a version keep it).

Every save is checked with the rules of `python -m bot scenarios --check`; a failed save stores
nothing and shows the form again as it was sent, each problem beside its field.
"""
from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Tuple

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for

from bot import db
from bot.db import scenario_store
from bot.errors import CoachError
from bot.scenarios import PERSONAS, SITUATIONS
from bot.web import scenario_form
from bot.web.auth import audit, engine, require_role

bp = Blueprint("scenario_editor", __name__, url_prefix="/trainer/scenarios")
FLASH = "review"
STATUS_LABELS = {"draft": "Draft, never published", "published": "Published", "archived": "Archived",
                 "discarded": "Discarded draft"}
SITUATION_LABELS = {s: s.replace("after_", "after ").replace("_", " ").capitalize() for s in SITUATIONS}
_warming = threading.Lock()
_warmed = False


def _warm_checks() -> None:
    """Load the reply checks in the background once: the first save runs them (several seconds)."""
    global _warmed
    if _warmed or not _warming.acquire(blocking=False):
        return

    def load() -> None:
        global _warmed
        try:
            from bot.scenarios import SCENARIO_DIR, all_problems
            import yaml

            all_problems(yaml.safe_load((SCENARIO_DIR / "laptop_at_home_service.yml").read_text(encoding="utf-8")))
            _warmed = True
        finally:
            _warming.release()

    threading.Thread(target=load, name="warm-scenario-checks", daemon=True).start()


def _problems(document: Dict[str, Any]) -> List[Tuple[str, str]]:
    from bot.scenarios import all_problems

    return all_problems(document)


def _versions(scenario_id: str) -> List[Any]:
    """The scenario's versions, newest first; 404 when there is no such scenario."""
    with db.session_scope(engine()) as dbs:
        versions = scenario_store.versions_of(session=dbs, scenario_id=scenario_id)
        for version in versions:
            _ = version.author  # loaded here: the page reads it after the session closed
    if not versions:
        abort(404, description="There is no scenario with that id.")
    return versions


def _render_form(*, scenario_id: Optional[str], form: Dict[str, str], errors: Dict[str, List[str]],
                 status: int = 200, versions: Optional[List[Any]] = None):
    _warm_checks()
    versions = versions if versions is not None else (_versions(scenario_id) if scenario_id else [])
    draft = next((v for v in versions if v.status == "draft"), None)
    current = next((v for v in versions if v.status in scenario_store.RELEASED), None)
    return render_template(
        "trainer/scenario_edit.html",
        scenario_id=scenario_id, form=form, errors=errors, versions=versions, draft=draft, current=current,
        channels=scenario_form.CHANNELS, stages=scenario_form.STAGES, personas=PERSONAS,
        situations=SITUATIONS, situation_labels=SITUATION_LABELS, status_labels=STATUS_LABELS,
        detail_rows=scenario_form.detail_count(form), first_error=next(iter(errors), None),
        label_for=scenario_form.label_for,
        lines_open=any(name.startswith(("replies-", "unanswerable-", "reminders-")) for name in errors),
    ), status


@bp.get("/")
@require_role("trainer")
def index():
    with db.session_scope(engine()) as dbs:
        rows = scenario_store.overview(session=dbs)
    return render_template("trainer/scenarios.html", rows=rows, status_labels=STATUS_LABELS)


@bp.get("/new")
@require_role("trainer")
def new_form():
    return _render_form(scenario_id=None, form=scenario_form.blank_form(), errors={})


@bp.post("/new")
@require_role("trainer")
def create():
    form = request.form.to_dict()
    document = scenario_form.document_from_form(form)
    errors = scenario_form.errors_by_field(_problems(document))
    if not errors:
        try:
            with db.session_scope(engine(), write=True) as dbs:
                scenario_store.create_scenario(session=dbs, document=document, author_id=g.user.id)
        except CoachError as exc:
            errors = {"id": [str(exc)]}
    if errors:
        form["details"] = str(scenario_form.detail_count(form))
        return _render_form(scenario_id=None, form=form, errors=errors, status=400)
    audit("scenario_create", subject=("scenario", document["id"]), after={"version": 1, "status": "draft"})
    flash(f"Saved the draft of “{document['title']}”. Try it, then publish it for trainees.", FLASH)
    return redirect(url_for(".edit_form", scenario_id=document["id"]))


@bp.get("/<scenario_id>")
@require_role("trainer")
def edit_form(scenario_id: str):
    versions = _versions(scenario_id)
    shown = next((v for v in versions if v.status == "draft"), versions[0])
    return _render_form(scenario_id=scenario_id, form=scenario_form.form_from_document(shown.document), errors={},
                        versions=versions)


@bp.post("/<scenario_id>")
@require_role("trainer")
def save(scenario_id: str):
    versions = _versions(scenario_id)
    form = request.form.to_dict()
    form["id"] = scenario_id  # the id is fixed once created
    document = scenario_form.document_from_form(form)
    errors = scenario_form.errors_by_field(_problems(document))
    if errors:
        form["details"] = str(scenario_form.detail_count(form))
        return _render_form(scenario_id=scenario_id, form=form, errors=errors, status=400, versions=versions)
    with db.session_scope(engine(), write=True) as dbs:
        draft = scenario_store.save_draft(session=dbs, scenario_id=scenario_id, document=document, author_id=g.user.id)
        number = draft.version
    audit("scenario_save_draft", subject=("scenario", scenario_id), after={"version": number})
    flash(f"Saved draft version {number}. Trainees still practise the published version until you publish this one.", FLASH)
    return redirect(url_for(".edit_form", scenario_id=scenario_id))


def _make_current(scenario_id: str, change, action: str, message: str):
    """Publish the draft or restore the archived version (`change`), audit it and say so."""
    try:
        with db.session_scope(engine(), write=True) as dbs:
            number = change(session=dbs, scenario_id=scenario_id).version
    except CoachError as exc:
        return _refused(scenario_id, str(exc))
    audit(action, subject=("scenario", scenario_id), after={"version": number, "status": "published"})
    flash(message.format(number=number), FLASH)
    return redirect(url_for(".edit_form", scenario_id=scenario_id))


@bp.post("/<scenario_id>/publish")
@require_role("trainer")
def publish(scenario_id: str):
    return _make_current(scenario_id, scenario_store.publish, "scenario_publish",
                         "Published version {number}: new practice sessions play it from now on.")


@bp.post("/<scenario_id>/archive")
@require_role("trainer")
def archive(scenario_id: str):
    with db.session_scope(engine(), write=True) as dbs:
        count = scenario_store.archive(session=dbs, scenario_id=scenario_id)
    if not count:
        return _refused(scenario_id, "Only a published scenario can be archived.")
    audit("scenario_archive", subject=("scenario", scenario_id), after={"status": "archived"})
    flash("Archived: trainees cannot start it any more; its sessions and versions are kept. "
          "Restore brings it back.", FLASH)
    return redirect(url_for(".edit_form", scenario_id=scenario_id))


@bp.post("/<scenario_id>/restore")
@require_role("trainer")
def restore(scenario_id: str):
    return _make_current(scenario_id, scenario_store.restore, "scenario_restore",
                         "Restored: trainees can start version {number} again.")


@bp.post("/<scenario_id>/discard")
@require_role("trainer")
def discard(scenario_id: str):
    _versions(scenario_id)  # 404 for an unknown scenario
    try:
        with db.session_scope(engine(), write=True) as dbs:
            number, played = scenario_store.discard_draft(session=dbs, scenario_id=scenario_id)
            remaining = scenario_store.versions_of(session=dbs, scenario_id=scenario_id)
    except CoachError as exc:
        return _refused(scenario_id, str(exc))
    audit("scenario_discard_draft", subject=("scenario", scenario_id),
          after={"version": number, "kept_for_sessions": played})
    kept = (f" It was tried in {played} practice session{'s' if played != 1 else ''}, so it stays in the "
            "version list for their transcripts.") if played else ""
    if not remaining:
        flash(f"Discarded the draft: the scenario “{scenario_id}” is gone, and its id is free again.", FLASH)
        return redirect(url_for(".index"))
    flash(f"Discarded draft version {number}.{kept}", FLASH)
    return redirect(url_for(".edit_form", scenario_id=scenario_id))


def _refused(scenario_id: str, message: str):
    _versions(scenario_id)  # 404 for an unknown scenario
    flash(message, FLASH)
    return redirect(url_for(".edit_form", scenario_id=scenario_id))


@bp.post("/<scenario_id>/try")
@require_role("trainer")
def try_draft(scenario_id: str):
    """Start a coach-mode conversation with the draft and open the practice chat on it."""
    from bot.rasa_client import start_command
    from bot.web.api import SESSION_KEY, new_conversation_id
    from bot.web.relay import RelayError

    with db.session_scope(engine()) as dbs:
        draft = scenario_store.draft_of(session=dbs, scenario_id=scenario_id)
    if draft is None:
        return _refused(scenario_id, "There is no draft to try: save your changes first.")
    persona = request.form.get("persona") if request.form.get("persona") in PERSONAS else PERSONAS[0]
    conversation = new_conversation_id(g.user)
    with db.session_scope(engine(), write=True) as dbs:
        db.claim_conversation(session=dbs, sender_id=conversation, user_id=g.user.id)
    try:
        delivery = current_app.extensions["rasa_relay"].deliver(
            conversation=conversation, message=start_command(f"{scenario_id}@{draft.version}", persona, "coach")
        )
    except RelayError as exc:
        return _refused(scenario_id, f"The practice chat could not start the draft: {exc}")
    started = any(m["kind"] == "custom" and m["payload"].get("type") == "session_started" for m in delivery.messages)
    if not started:
        reasons = [m["payload"].get("message", "") for m in delivery.messages if m["kind"] == "custom"]
        return _refused(scenario_id, "The practice chat could not start the draft: " + " ".join(reasons))
    session[SESSION_KEY] = conversation
    return redirect(url_for("chat.index"))
