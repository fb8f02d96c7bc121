"""Sign-in, sign-out, who is signed in, and who may see what.

People sign in with e-mail and password (users live in our database, bot.db). The signed-in
user's id is kept in Flask's signed session cookie; `g.user` holds the user for the request.

    @bp.get("/trainer/")
    @require_role("trainer")        # admins pass every role check
    def sessions(): ...

Pages answer a signed-out visitor with a redirect to the sign-in page, `/api/...` routes with
a JSON 401; a signed-in user without the role gets 403. Every state-changing request that is
not JSON must carry the session's CSRF token (`csrf_token()` in templates): a cross-site form
can post a form but not JSON, and JSON from another origin needs a CORS preflight this app
never grants.
"""
from __future__ import annotations

import hmac
import logging
import secrets
from functools import wraps
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy.engine import Engine

from bot import db

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

USER_KEY = "user_id"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Where each role lands after signing in when no page was asked for.
HOME_ENDPOINT = {"trainee": "chat.index", "trainer": "trainer.sessions", "hr": "hr.overview", "admin": "trainer.sessions"}


def engine() -> Engine:
    """The app's database engine (COACH_DATABASE_URL, else SQLite in the var folder)."""
    return current_app.extensions["db_engine"]


def has_role(user: Optional[db.User], *roles: str) -> bool:
    return user is not None and (user.role == "admin" or user.role in roles)


def csrf_token() -> str:
    token = session.get(CSRF_KEY)
    if not token:
        token = session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _safe_next(target: Optional[str]) -> Optional[str]:
    """Only a path on this site: never another host, never a scheme-relative '//host'."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user: db.User) -> str:
    endpoint = HOME_ENDPOINT.get(user.role, "chat.index")
    if endpoint not in current_app.view_functions:
        endpoint = "chat.index"
    return url_for(endpoint)


def require_role(*roles: str) -> Callable:
    """Let the request through only for a signed-in user with one of `roles` (or admin).

    With no roles, any signed-in user passes.
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                if _wants_json():
                    return jsonify(error={"code": "signed_out", "message": "Sign in first."}), 401
                return redirect(url_for("auth.signin", next=request.full_path.rstrip("?")))
            if roles and not has_role(user, *roles):
                if _wants_json():
                    return jsonify(error={"code": "forbidden", "message": "Your account may not do this."}), 403
                abort(403, description="Your account may not open this page.")
            return view(*args, **kwargs)

        return wrapped

    return decorate


@bp.before_app_request
def load_user() -> None:
    g.user = None
    user_id = session.get(USER_KEY)
    if user_id is None:
        return
    with db.session_scope(engine()) as dbs:
        user = db.get_user(session=dbs, user_id=user_id)
    if user is None or not user.active:
        # Deleted or deactivated since signing in: the cookie no longer stands for anyone.
        session.clear()
        return
    g.user = user


@bp.before_app_request
def check_csrf() -> None:
    if request.method not in UNSAFE_METHODS or request.is_json:
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_KEY, "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="This form has expired. Go back, reload the page and try again.")


@bp.app_context_processor
def _template_globals() -> dict:
    return {
        "csrf_token": csrf_token,
        "current_user": g.get("user"),
        "has_role": has_role,
        "nav_endpoints": current_app.view_functions,
    }


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if g.user is not None:
            return redirect(next_url or home_for(g.user))
        return render_template("auth/signin.html", next_url=next_url, email="", error=None)
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    with db.session_scope(engine()) as dbs:
        user = db.authenticate(session=dbs, email=email, password=password) if email and password else None
    if user is None:
        log.info("Failed sign-in for %r from %s", email, request.remote_addr)
        return (
            render_template(
                "auth/signin.html", next_url=next_url, email=email,
                error="That e-mail address and password do not match an active account.",
            ),
            401,
        )
    # A fresh session on sign-in, so a session id planted before sign-in is worth nothing.
    session.clear()
    session[USER_KEY] = user.id
    csrf_token()
    log.info("%s signed in (%s)", user.email, user.role)
    return redirect(next_url or home_for(user))


@bp.post("/signout")
def signout():
    session.clear()
    return redirect(url_for("auth.signin"))
