"""Sign-in, sign-out, who is signed in, and who may see what.

People sign in with e-mail and password (users live in our database, bot.db). The signed-in
user's id is kept in Flask's signed session cookie with the user's session version and the time
of the last request; `g.user` holds the user for the request. The cookie stops working when the
version in the database moves on (sign-out, password change or reset, deactivation: see
bot.db.account_store) or after IDLE_TIMEOUT_MINUTES without a request. Failed sign-ins are
throttled per account and per client address (bot.db.throttle) and written to the audit log.
People may hold several roles (`User.roles`); `require_role` passes anyone holding one of those asked.

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
import time
from functools import wraps
from typing import Any, Callable, List, Optional, Tuple
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
from bot.db import account_store, throttle

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

USER_KEY = "user_id"
VERSION_KEY = "session_version"
SEEN_KEY = "seen"
# A shared office computer left signed in: an hour without a request signs out. Reading a long
# transcript or filling in a curriculum takes well under that.
DEFAULT_IDLE_TIMEOUT_MINUTES = 60
ENDED_MESSAGES = {
    "idle": "You were signed out after a while without activity. Sign in again to go on.",
    "revoked": "This session has ended (signed out, or the password changed). Sign in again.",
}
# The chat's conversation id in the cookie (bot.web.api.SESSION_KEY).
CONVERSATION_KEY = "conversation"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Where each role lands after signing in when no page was asked for.
HOME_ENDPOINT = {"trainee": "chat.index", "trainer": "trainer.sessions", "hr": "hr.overview", "admin": "trainer.sessions"}


def engine() -> Engine:
    """The app's database engine (COACH_DATABASE_URL, else SQLite in the var folder)."""
    return current_app.extensions["db_engine"]


def has_role(user: Optional[db.User], *roles: str) -> bool:
    if user is None:
        return False
    held = user.roles
    return "admin" in held or bool(held & set(roles))


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
                ended = g.get("session_ended")
                if _wants_json():
                    message = ENDED_MESSAGES.get(ended, "Sign in first.")
                    return jsonify(error={"code": "signed_out", "message": message}), 401
                return redirect(url_for("auth.signin", next=request.full_path.rstrip("?"), ended=ended))
            if roles and not has_role(user, *roles):
                if _wants_json():
                    return jsonify(error={"code": "forbidden", "message": "Your account may not do this."}), 403
                abort(403, description="Your account may not open this page.")
            return view(*args, **kwargs)

        return wrapped

    return decorate


def _idle_timeout_seconds() -> float:
    return float(current_app.config.get("IDLE_TIMEOUT_MINUTES", DEFAULT_IDLE_TIMEOUT_MINUTES)) * 60


@bp.before_app_request
def load_user() -> None:
    g.user = None
    user_id = session.get(USER_KEY)
    if user_id is None:
        return
    with db.session_scope(engine()) as dbs:
        user = db.get_user(session=dbs, user_id=user_id)
    if user is None or not user.active or session.get(VERSION_KEY) != user.session_version:
        # Deleted, deactivated, signed out or password changed since this cookie was issued:
        # it no longer stands for anyone.
        session.clear()
        g.session_ended = "revoked"
        return
    now = time.time()
    seen = session.get(SEEN_KEY)
    if not isinstance(seen, (int, float)) or now - seen > _idle_timeout_seconds():
        log.info("Session of user %s ended after being idle", user_id)
        session.clear()
        g.session_ended = "idle"
        return
    session[SEEN_KEY] = int(now)
    g.user = user


def start_session_for(user: db.User) -> None:
    """A fresh cookie for `user` under their current session version."""
    # A fresh session on sign-in, so a session id planted before sign-in is worth nothing.
    session.clear()
    session[USER_KEY] = user.id
    session[VERSION_KEY] = user.session_version
    session[SEEN_KEY] = int(time.time())
    csrf_token()


def audit(action: str, *, subject: Tuple[Optional[str], Any] = (None, None), before: Any = None, after: Any = None,
          actor: Optional[db.User] = None) -> None:
    """One audit-log entry for this request, in a transaction of its own (bot.db.audit)."""
    from bot.db import audit as audit_log

    with db.session_scope(engine()) as dbs:
        audit_log.record(
            session=dbs, action=action, actor=actor if actor is not None else g.get("user"), subject=subject,
            before=before, after=after, client=request.remote_addr,
        )


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
        return render_template(
            "auth/signin.html", next_url=next_url, email="", error=ENDED_MESSAGES.get(request.args.get("ended"))
        )
    email = request.form.get("email", "").strip()[:db.models.EMAIL_MAX]
    password = request.form.get("password", "")
    keys = [throttle.account_key(email), throttle.client_key(request.remote_addr)]
    with db.session_scope(engine()) as dbs:
        wait = throttle.blocked(session=dbs, keys=keys)
    if wait is not None:
        # Not even checked: the answer must not tell whether this attempt was right.
        what = "locked for a while after too many failed sign-ins" if wait.locked else "paused after failed sign-ins"
        response = render_template(
            "auth/signin.html", next_url=next_url, email=email,
            error=f"Sign-in is {what}. Try again in {_duration(wait.seconds)}.",
        )
        return response, 429, {"Retry-After": str(wait.seconds)}
    with db.session_scope(engine()) as dbs:
        user = db.authenticate(session=dbs, email=email, password=password) if email and password else None
    if user is None:
        log.info("Failed sign-in for %r from %s", email, request.remote_addr)
        _failed_sign_in(email, keys)
        return (
            render_template(
                "auth/signin.html", next_url=next_url, email=email,
                error="That e-mail address and password do not match an active account.",
            ),
            401,
        )
    with db.session_scope(engine()) as dbs:
        throttle.clear(session=dbs, key=keys[0])
        conversation = account_store.running_conversation(session=dbs, user_id=user.id)
    start_session_for(user)
    if conversation:
        # Signing in again picks up the conversation the trainee left running (finding 9).
        session[CONVERSATION_KEY] = conversation
    audit("sign_in", actor=user, subject=("user", user.id))
    log.info("%s signed in (%s)", user.email, ", ".join(sorted(user.roles)))
    return redirect(next_url or home_for(user))


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{-(-seconds // 60)} minutes"


def _failed_sign_in(email: str, keys: List[str]) -> None:
    from bot.db import audit as audit_log

    with db.session_scope(engine()) as dbs:
        rows = [throttle.record_failure(session=dbs, key=key) for key in keys]
        client = request.remote_addr
        audit_log.record(session=dbs, action="sign_in_failed", subject=("email", email), client=client,
                         after={"failures": {row.key.split(":")[0]: row.failures for row in rows}})
        for row in rows:
            if throttle.is_locked(row):  # locked now, for the first time or again after a lock ran out
                audit_log.record(session=dbs, action="sign_in_locked", subject=tuple(row.key.split(":", 1)),
                                 after={"failures": row.failures, "until": row.blocked_until.isoformat()}, client=client)


@bp.post("/signout")
def signout():
    user = g.get("user")
    if user is not None:
        # Every copy of this cookie (and the user's other sessions) stops working now.
        with db.session_scope(engine()) as dbs:
            account_store.bump_session_version(session=dbs, user_id=user.id)
        audit("sign_out", subject=("user", user.id))
    session.clear()
    return redirect(url_for("auth.signin"))
