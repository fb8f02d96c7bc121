"""The web app: the trainee's practice chat and the JSON relay to Rasa.

`create_app(config)` builds a fresh app; tests pass their own RASA_URL and SECRET_KEY.
Pages for each audience live in their own module (`chat` for trainees); `api` is the relay.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Dict, List, Optional

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from bot.private_files import kept_secret
from bot.service_secret import load_service_secret
from bot.settings import load_settings
from bot.web.relay import ConversationLocks, RasaRelay

# How long to wait for Rasa's answer to one message. The actions answer in well under a
# second; this leaves room for a busy machine without leaving the trainee staring forever.
DEFAULT_RELAY_TIMEOUT = 30.0
# Largest request body accepted: a message of the longest allowed length is far smaller.
MAX_REQUEST_BYTES = 64 * 1024

SECURITY_HEADERS = {
    # Only our own scripts and styles: even if untrusted text reached the DOM as HTML, no
    # inline script would run.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def secret_key(var_dir: Path) -> str:
    """COACH_SECRET_KEY, or a random key kept in `var_dir/secret_key` (0600) across restarts."""
    from_env = os.environ.get("COACH_SECRET_KEY", "").strip()
    if from_env:
        return from_env
    return kept_secret(var_dir / "secret_key", lambda: secrets.token_hex(32), env="COACH_SECRET_KEY")


def settings_idle_minutes() -> float:
    """COACH_IDLE_TIMEOUT_MINUTES, else the default in bot.web.auth."""
    from bot.web.auth import DEFAULT_IDLE_TIMEOUT_MINUTES

    raw = os.environ.get("COACH_IDLE_TIMEOUT_MINUTES", "").strip()
    try:
        return float(raw) if raw else DEFAULT_IDLE_TIMEOUT_MINUTES
    except ValueError:
        raise SystemExit(f"COACH_IDLE_TIMEOUT_MINUTES must be a number of minutes, got {raw!r}") from None


# Page titles and the message shown when the error carries none of its own.
ERROR_TEXTS = {
    400: ("That request could not be used", "Something in the request was not right."),
    403: ("Not for your account", "Your account may not open this page."),
    404: ("Page not found", "There is no page at this address. It may have moved, or the link was mistyped."),
    405: ("Not available that way", "This address does not accept that kind of request."),
    413: ("Too large", "What you sent is larger than this site accepts."),
    500: ("Something went wrong", "Something went wrong on our side and has been logged. Nothing you did caused it; "
                                  "try again in a moment."),
    503: ("Not available right now", "A part of the site is not answering. Try again in a moment."),
}


def error_page(status: int, description: Optional[str], *, title: Optional[str] = None, retry: bool = False) -> str:
    """An error in the site's layout with a way back: the signed-in user's home, else sign-in."""
    from flask import g, url_for

    from bot.web.auth import home_for

    default_title, default_message = ERROR_TEXTS.get(status, ("Something went wrong", "The request failed."))
    # werkzeug's stock descriptions talk to developers ("The requested URL was not found on the server...").
    generic = getattr(HTTPException, "description", None)
    stock = {cls.description for cls in HTTPException.__subclasses__()} | {generic}
    message = description if description and description not in stock else default_message
    user = g.get("user")
    if user is not None:
        home_url, home_label = home_for(user), "Back to your home page"
    else:
        home_url, home_label = url_for("auth.signin"), "Go to the sign-in page"
    return render_template(
        "error.html", title=title or default_title, message=message, status=status, retry=retry or status >= 500,
        home_url=home_url, home_label=home_label,
    )


def _relay(config: Dict[str, Any], settings, urls: List[str], secret: str) -> RasaRelay:
    """The relay to every Rasa server; with Redis, its cache and locks shared by all web app processes.

    REDIS_URL in `config` (tests) wins over COACH_REDIS_URL; "" means none.
    """
    timeout = float(config["RELAY_TIMEOUT"])
    redis_url = config.get("REDIS_URL", settings.redis_url)
    if not redis_url:
        return RasaRelay(rasa_url=urls[0], rasa_urls=urls, timeout=timeout, locks=ConversationLocks(), secret=secret)
    from bot.web.shared_state import RedisAnswerCache, RedisConversationLocks, redis_client

    client = redis_client(redis_url)
    return RasaRelay(
        rasa_url=urls[0], rasa_urls=urls, timeout=timeout, secret=secret,
        # The lease outlasts the longest wait for Rasa; a retry waits that long for the first try.
        locks=RedisConversationLocks(client, lease=timeout + 30, wait=timeout + 10),
        answers=RedisAnswerCache(client),
    )


def _trust_proxies(app: Flask, count: int) -> None:
    """Behind `count` proxies (COACH_TRUSTED_PROXIES), take the client's address and scheme from
    the X-Forwarded-For and X-Forwarded-Proto entries those proxies added.

    Only when told: a client can send these headers itself, and the sign-in throttle and the
    audit log key on the client's address.
    """
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def create_app(config: Optional[Dict[str, Any]] = None) -> Flask:
    config = dict(config or {})
    settings = load_settings()
    app = Flask(__name__)
    app.config.update(
        RASA_URL=settings.rasa_url,
        MAX_MESSAGE_CHARS=settings.max_message_chars,
        IDLE_MINUTES=settings.idle_minutes,
        RELAY_TIMEOUT=DEFAULT_RELAY_TIMEOUT,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        IDLE_TIMEOUT_MINUTES=settings_idle_minutes(),
        TRUSTED_PROXIES=settings.trusted_proxies,
    )
    app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(settings.var_dir)
    app.config["RASA_URL"] = str(app.config["RASA_URL"]).rstrip("/")
    _trust_proxies(app, int(app.config["TRUSTED_PROXIES"]))

    from bot import db

    # DATABASE_URL in `config` (tests) or COACH_DATABASE_URL, else SQLite in the var folder.
    app.extensions["db_engine"] = db.make_engine(app.config.get("DATABASE_URL") or db.database_url())
    # A RASA_URL or RASA_URLS given in `config` (tests) wins over COACH_RASA_URLS.
    urls = list(config.get("RASA_URLS") or ([app.config["RASA_URL"]] if "RASA_URL" in config else settings.rasa_servers))
    app.extensions["rasa_relay"] = _relay(
        app.config, settings, urls, app.config.get("SERVICE_SECRET") or load_service_secret(settings.var_dir)
    )

    from bot.web import account, admin, api, auth, chat, history, hr, idle, trainer

    app.register_blueprint(auth.bp)
    app.register_blueprint(chat.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(trainer.bp)
    app.register_blueprint(hr.bp)
    app.register_blueprint(history.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(admin.bp)
    idle.install(app)

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # The page's scripts read JSON errors; people get a page in the site's layout with a way back.
        if request.path.startswith("/api/"):
            code = (exc.name or "error").lower().replace(" ", "_")
            return jsonify(error={"code": code, "message": exc.description}), exc.code
        if exc.code is None or exc.code < 400:
            return exc
        return error_page(exc.code, exc.description), exc.code

    @app.errorhandler(500)
    def _server_error(exc: Exception):
        # Flask hands unhandled exceptions here wrapped in InternalServerError; the log has the trace.
        if request.path.startswith("/api/"):
            return jsonify(error={"code": "internal_server_error", "message": ERROR_TEXTS[500][1]}), 500
        return error_page(500, None), 500

    @app.errorhandler(SQLAlchemyError)
    def _database_down(exc: SQLAlchemyError):
        # Nothing was changed: the request's transaction was rolled back. Say so and invite a retry.
        app.logger.error("Database error on %s: %s", request.path, exc)
        message = "The training records database is not answering. Nothing was lost; try again in a moment."
        if request.path.startswith("/api/"):
            return jsonify(error={"code": "database_down", "message": message}), 503
        return error_page(503, message, title="Database not answering", retry=True), 503

    return app
