"""Administrators' pages: people and their roles, password resets, deactivation, the audit log.

- GET /admin/users: everyone, with their roles, and forms to change roles, reset a password
  (the new one is shown once) and deactivate or reactivate an account.
- GET /admin/audit: the audit log, newest first, filtered by action or by person;
  GET /admin/audit.csv the same as CSV (cells neutralised against spreadsheet formulas).

Every change is written to the audit log with the state before and after. The last active
administrator cannot lose the role or be deactivated, and nobody deactivates themselves.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot import db
from bot.db import account_store
from bot.db import audit as audit_log
from bot.errors import CoachError
from bot.passwords import generate_password
from bot.web.auth import audit, engine, require_role
from bot.web.exports import neutralise

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PER_PAGE = 50


def _roles_of(user: db.User) -> list:
    return sorted(user.roles, key=account_store.PRIMARY_ORDER.index)


def _users_page(*, error=None, notice=None, reset=None, status=200):
    with db.session_scope(engine()) as dbs:
        users = account_store.list_users(session=dbs)
    response = Response(
        render_template(
            "admin/users.html", users=users, roles=db.ROLES, roles_of=_roles_of, error=error, notice=notice, reset=reset
        ),
        status=status,
    )
    if reset:
        # The page holds a password in clear: no browser or proxy may keep a copy.
        response.headers["Cache-Control"] = "no-store"
    return response


def _active_admins(dbs) -> int:
    return dbs.execute(
        select(func.count()).select_from(db.User).where(db.User.role == "admin", db.User.active.is_(True))
    ).scalar_one()


def _target(dbs, user_id: int) -> db.User:
    user = db.get_user(session=dbs, user_id=user_id)
    if user is None:
        abort(404, description="There is no such person.")
    return user


@bp.get("/users")
@require_role("admin")
def users():
    return _users_page()


@bp.post("/users/<int:user_id>/roles")
@require_role("admin")
def set_roles(user_id: int):
    wanted = request.form.getlist("role")
    with db.session_scope(engine()) as dbs:
        user = _target(dbs, user_id)
        before = _roles_of(user)
        try:
            chosen = account_store.normalise_roles(wanted)
        except CoachError as exc:
            return _users_page(error=f"{user.email}: {exc}", status=400)
        if "admin" in before and "admin" not in chosen and user.active and _active_admins(dbs) <= 1:
            return _users_page(error=f"{user.email} is the last active administrator and keeps that role.", status=400)
        user = account_store.set_roles(session=dbs, user_id=user_id, roles=chosen)
        after = _roles_of(user)
    if after != before:
        audit("roles_changed", subject=("user", user_id), before={"email": user.email, "roles": before},
              after={"email": user.email, "roles": after})
    return _users_page(notice=f"{user.email} now has the role(s) {', '.join(after)}.")


@bp.post("/users/<int:user_id>/password")
@require_role("admin")
def reset_password(user_id: int):
    password = generate_password()
    with db.session_scope(engine()) as dbs:
        user = _target(dbs, user_id)
        account_store.change_password(session=dbs, user_id=user_id, password=password)
    audit("password_reset", subject=("user", user_id), after={"email": user.email})
    if user_id == g.user.id:
        from bot.web.auth import start_session_for

        with db.session_scope(engine()) as dbs:
            start_session_for(db.get_user(session=dbs, user_id=user_id))
    return _users_page(reset={"email": user.email, "name": user.name, "password": password})


@bp.post("/users/<int:user_id>/active")
@require_role("admin")
def set_active(user_id: int):
    active = request.form.get("active") == "1"
    with db.session_scope(engine()) as dbs:
        user = _target(dbs, user_id)
        if not active and user_id == g.user.id:
            return _users_page(error="You cannot deactivate your own account.", status=400)
        if not active and user.role == "admin" and user.active and _active_admins(dbs) <= 1:
            return _users_page(error=f"{user.email} is the last active administrator.", status=400)
        was = user.active
        account_store.set_active(session=dbs, user_id=user_id, active=active)
    if was != active:
        audit("user_reactivated" if active else "user_deactivated", subject=("user", user_id),
              before={"email": user.email, "active": was}, after={"email": user.email, "active": active})
    return _users_page(notice=f"{user.email} is {'active' if active else 'deactivated; their sessions have ended'}.")


def _audit_filters():
    action = request.args.get("action", "").strip()
    if action and action not in audit_log.ACTIONS:
        action = ""
    who = request.args.get("who", "").strip()[:200]
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    return action or None, who or None, page


@bp.get("/audit")
@require_role("admin")
def audit_page():
    action, who, page = _audit_filters()
    with db.session_scope(engine()) as dbs:
        listing = audit_log.list_entries(session=dbs, action=action, who=who, page=page, per_page=AUDIT_PER_PAGE)
    return render_template(
        "admin/audit.html", listing=listing, actions=audit_log.ACTIONS, action=action or "", who=who or "",
        csv_url=url_for("admin.audit_csv", action=action, who=who),
    )


@bp.get("/audit.csv")
@require_role("admin")
def audit_csv():
    import csv
    import io

    action, who, _ = _audit_filters()
    with db.session_scope(engine()) as dbs:
        listing = audit_log.list_entries(session=dbs, action=action, who=who, per_page=None)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(audit_log.CSV_COLUMNS)
    for row in audit_log.csv_rows(listing.entries):
        writer.writerow([neutralise(cell) for cell in row])
    audit("audit_exported", after={"action": action, "who": who, "entries": listing.total})
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


@bp.get("/")
@require_role("admin")
def index():
    return redirect(url_for("admin.users"))
