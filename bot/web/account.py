"""Your own account: change your password (`/account/password`).

A new password follows bot.passwords (NIST SP 800-63B: at least 12 characters, not a common
one, no composition rules). Changing it ends every other session of the account; this one goes on.
"""
from __future__ import annotations

from flask import Blueprint, g, render_template, request
from werkzeug.security import check_password_hash

from bot import db
from bot.db import account_store
from bot.passwords import MIN_LENGTH, password_problem
from bot.web.auth import audit, engine, require_role, start_session_for

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(*, error=None, done=False, status=200):
    return render_template("account/password.html", error=error, done=done, min_length=MIN_LENGTH), status


@bp.get("/password")
@require_role()
def password_form():
    return _page()


@bp.post("/password")
@require_role()
def change_password():
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    confirm = request.form.get("confirm_password", "")
    if not check_password_hash(g.user.password_hash, current):
        return _page(error="Your current password is not right.", status=400)
    if new != confirm:
        return _page(error="The two new passwords differ: type the same one twice.", status=400)
    if new == current:
        return _page(error="Choose a password different from the current one.", status=400)
    problem = password_problem(new, email=g.user.email, name=g.user.name)
    if problem:
        return _page(error=problem, status=400)
    with db.session_scope(engine()) as dbs:
        user = account_store.change_password(session=dbs, user_id=g.user.id, password=new)
    audit("password_changed", subject=("user", user.id))
    # Other sessions (a forgotten browser, a copied cookie) end; this one goes on.
    start_session_for(user)
    g.user = user
    return _page(done=True)
