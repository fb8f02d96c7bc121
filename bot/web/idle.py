"""Idle sessions are closed on next access (bot/db/idle_sessions.py), by the web app.

- Before any page or API request, at most once every SWEEP_INTERVAL seconds per process, every
  session idle for longer than IDLE_MINUTES (COACH_IDLE_MINUTES, default 30) is closed as
  abandoned and scored, so the trainers' and HR's pages never show it "running" for ever.
- Before relaying a trainee's message, their own conversation is checked at once: a session
  closed as idle answers `session_over` instead of going on with a conversation already scored.

On next access rather than a timer in the launcher: it works the same with one web process or
several (each claims a session with a conditional UPDATE), with nothing extra to run.
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Optional

from flask import Flask, current_app, request

from bot import db
from bot.db.idle_sessions import close_idle_sessions, closed_as_idle, latest_session_of

# Sweeping is one query; once a minute per process keeps it off the request path in practice.
SWEEP_INTERVAL = 60.0


def enabled(app: Flask) -> bool:
    """On unless IDLE_SWEEP says otherwise; off by default under TESTING, where pages are tried
    on seeded sessions of fixed past dates that are meant to be still running."""
    return bool(app.config.get("IDLE_SWEEP", not app.testing))


def idle_after(app: Flask) -> timedelta:
    return timedelta(minutes=float(app.config["IDLE_MINUTES"]))


def sweep(app: Flask, *, force: bool = False) -> None:
    state = app.extensions.setdefault("idle_sweep", {"at": float("-inf"), "lock": threading.Lock()})
    with state["lock"]:
        if not force and time.monotonic() - state["at"] < SWEEP_INTERVAL:
            return
        state["at"] = time.monotonic()
    try:
        with db.session_scope(app.extensions["db_engine"]) as dbs:
            closed = close_idle_sessions(session=dbs, idle_after=idle_after(app))
        if closed:
            app.logger.info("Closed %d idle session(s) as abandoned: %s", len(closed), ", ".join(closed))
    except Exception:  # a failed sweep must not fail the page; the next request tries again
        app.logger.exception("Closing idle sessions failed")
        state["at"] = float("-inf")


def session_over(conversation: str) -> Optional[str]:
    """A message for the trainee when their conversation's session has ended, else None.

    Closes the session first when it has been idle too long, and then says so.
    """
    with db.session_scope(current_app.extensions["db_engine"]) as dbs:
        closed = []
        if enabled(current_app):
            closed = close_idle_sessions(session=dbs, idle_after=idle_after(current_app), sender_id=conversation)
        practice = latest_session_of(session=dbs, sender_id=conversation)
        if practice is None or practice.ended_at is None:
            return None
        if closed or closed_as_idle(session=dbs, practice=practice):
            minutes = int(current_app.config["IDLE_MINUTES"])
            return (
                f"This practice session has ended: there was no message for {minutes} minutes, so it was closed "
                "as abandoned and scored. Start a new one to go on practising."
            )
        return f"This practice session has ended ({practice.outcome}). Start a new one to go on practising."


def install(app: Flask) -> None:
    @app.before_request
    def _close_idle_sessions() -> None:
        if request.endpoint == "static" or request.path == "/healthz" or not enabled(app):
            return
        sweep(app)
