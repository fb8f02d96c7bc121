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
    path = var_dir / "secret_key"
    var_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process (or an earlier run) made it first.
        key = path.read_text(encoding="ascii").strip()
        if not key:
            raise SystemExit(f"{path} is empty: delete it to have a new key made, or set COACH_SECRET_KEY.")
        return key
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def _relay(config: Dict[str, Any], settings, urls: List[str]) -> RasaRelay:
    """The relay to every Rasa server; with Redis, its cache and locks shared by all web app processes.

    REDIS_URL in `config` (tests) wins over COACH_REDIS_URL; "" means none.
    """
    timeout = float(config["RELAY_TIMEOUT"])
    redis_url = config.get("REDIS_URL", settings.redis_url)
    if not redis_url:
        return RasaRelay(rasa_url=urls[0], rasa_urls=urls, timeout=timeout, locks=ConversationLocks())
    from bot.web.shared_state import RedisAnswerCache, RedisConversationLocks, redis_client

    client = redis_client(redis_url)
    return RasaRelay(
        rasa_url=urls[0], rasa_urls=urls, timeout=timeout,
        # The lease outlasts the longest wait for Rasa; a retry waits that long for the first try.
        locks=RedisConversationLocks(client, lease=timeout + 30, wait=timeout + 10),
        answers=RedisAnswerCache(client),
    )


def create_app(config: Optional[Dict[str, Any]] = None) -> Flask:
    config = dict(config or {})
    settings = load_settings()
    app = Flask(__name__)
    app.config.update(
        RASA_URL=settings.rasa_url,
        MAX_MESSAGE_CHARS=settings.max_message_chars,
        RELAY_TIMEOUT=DEFAULT_RELAY_TIMEOUT,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(settings.var_dir)
    app.config["RASA_URL"] = str(app.config["RASA_URL"]).rstrip("/")

    from bot import db

    # DATABASE_URL in `config` (tests) or COACH_DATABASE_URL, else SQLite in the var folder.
    app.extensions["db_engine"] = db.make_engine(app.config.get("DATABASE_URL") or db.database_url())
    # A RASA_URL or RASA_URLS given in `config` (tests) wins over COACH_RASA_URLS.
    urls = list(config.get("RASA_URLS") or ([app.config["RASA_URL"]] if "RASA_URL" in config else settings.rasa_servers))
    app.extensions["rasa_relay"] = _relay(app.config, settings, urls)

    from bot.web import api, auth, chat, hr, trainer

    app.register_blueprint(auth.bp)
    app.register_blueprint(chat.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(trainer.bp)
    app.register_blueprint(hr.bp)

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # The page's scripts read JSON errors; people opening a wrong URL get the usual page.
        if request.path.startswith("/api/"):
            code = (exc.name or "error").lower().replace(" ", "_")
            return jsonify(error={"code": code, "message": exc.description}), exc.code
        return exc

    @app.errorhandler(SQLAlchemyError)
    def _database_down(exc: SQLAlchemyError):
        # Nothing was changed: the request's transaction was rolled back. Say so and invite a retry.
        app.logger.error("Database error on %s: %s", request.path, exc)
        message = "The training records database is not answering. Nothing was lost; try again in a moment."
        if request.path.startswith("/api/"):
            return jsonify(error={"code": "database_down", "message": message}), 503
        return render_template("error.html", title="Database not answering", message=message), 503

    return app
