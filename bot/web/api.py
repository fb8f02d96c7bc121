"""The JSON relay the chat page talks to: scenarios, sessions, messages, health.

The conversation id that Rasa sees as the sender is chosen here and kept in the signed
session cookie; nothing the browser sends can pick or change it.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, Dict, List, Optional, Tuple

from flask import Blueprint, current_app, g, jsonify, request, session

from bot import db
from bot.rasa_client import END_COMMAND, start_command
from bot.web import auth
from bot.web.relay import RasaRelay, RelayError

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

# The same values as bot.scenarios.PERSONAS and bot.simulation.MODES (tests/test_web.py checks
# they agree). Importing bot.simulation here would load the reply checkers into the web process.
PERSONAS = ("angry", "dispassionate")
MODES = ("coach", "assessment")
SESSION_KEY = "conversation"


def _error(status: int, code: str, message: str):
    return jsonify(error={"code": code, "message": message}), status


def _relay() -> RasaRelay:
    return current_app.extensions["rasa_relay"]


def _json_body() -> Tuple[Optional[Dict[str, Any]], Any]:
    """The request's JSON object, or (None, error response).

    Requiring the JSON content type also keeps other sites out: a cross-site form cannot send
    it, and a script on another origin needs a CORS preflight, which this app never grants.
    """
    if not request.is_json:
        return None, _error(415, "not_json", "Send the request as JSON (Content-Type: application/json).")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, _error(400, "bad_request", "The request body must be a JSON object.")
    return body, None


def _relayed(conversation: str, message: str) -> Tuple[Optional[List[Dict[str, Any]]], Any]:
    try:
        return _relay().send(conversation=conversation, message=message), None
    except RelayError as exc:
        return None, (jsonify(exc.as_json()), exc.status)


def _started(messages: List[Dict[str, Any]]) -> bool:
    return any(m["kind"] == "custom" and m["payload"].get("type") == "session_started" for m in messages)


@bp.get("/healthz")
def healthz():
    """Always 200 once the web app answers; says whether Rasa answers too."""
    return jsonify(web="ok", rasa="ok" if _relay().is_up() else "down")


@bp.get("/api/scenarios")
@auth.require_role()
def scenarios():
    try:
        from bot.scenarios import list_scenarios
    except ImportError as exc:
        log.error("Cannot import bot.scenarios.list_scenarios: %s", exc)
        return _error(503, "scenarios_unavailable", "The scenario list is not available on this server yet.")
    try:
        listed = list_scenarios()
    except Exception as exc:  # a broken scenario file must not take the chat page down
        log.exception("Listing the scenarios failed")
        return _error(503, "scenarios_unavailable", f"The scenarios could not be loaded: {exc}")
    return jsonify(
        scenarios=[{"id": s.id, "title": s.title, "customer_name": s.customer.name} for s in listed],
        personas=list(PERSONAS),
        modes=list(MODES),
        max_message_chars=current_app.config["MAX_MESSAGE_CHARS"],
    )


def new_conversation_id(user: db.User) -> str:
    """A Rasa sender id of the trainee's own: their user id and a random part nobody can guess."""
    return f"u{user.id}-{uuid.uuid4().hex}"


@bp.post("/api/session")
@auth.require_role()
def start_session():
    body, failure = _json_body()
    if failure:
        return failure
    scenario, persona, mode = body.get("scenario"), body.get("persona"), body.get("mode")
    if not isinstance(scenario, str) or not scenario.strip():
        return _error(400, "bad_scenario", "Choose a scenario to practise.")
    if persona not in PERSONAS:
        return _error(400, "bad_persona", f"Unknown persona {persona!r}: choose one of {', '.join(PERSONAS)}.")
    if mode not in MODES:
        return _error(400, "bad_mode", f"Unknown mode {mode!r}: choose one of {', '.join(MODES)}.")
    conversation = new_conversation_id(g.user)
    with db.session_scope(auth.engine()) as dbs:
        # Before Rasa hears of it, so the action server can file the session under this trainee.
        db.claim_conversation(session=dbs, sender_id=conversation, user_id=g.user.id)
    messages, failure = _relayed(conversation, start_command(scenario.strip(), persona, mode))
    if failure:
        return failure
    if _started(messages):
        # Only a session that started replaces the previous one: a refused start (unknown
        # scenario) leaves the trainee's running conversation where it was.
        session[SESSION_KEY] = conversation
    return jsonify(conversation=conversation if _started(messages) else None, messages=messages)


@bp.post("/api/message")
@auth.require_role()
def message():
    body, failure = _json_body()
    if failure:
        return failure
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return _error(400, "empty_message", "Your reply is empty: type what you would say to the customer.")
    text = text.strip()
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    if len(text) > limit:
        return _error(
            400,
            "message_too_long",
            f"Your reply is {len(text)} characters long; the limit is {limit}. Shorten it and send it again.",
        )
    if text.startswith("/"):
        # Rasa reads a message starting with "/" as a command (/end_session, /start_scenario...).
        return _error(
            400,
            "slash_command",
            "A reply cannot start with \"/\": Rasa would read it as a command. Use the buttons to start or end.",
        )
    conversation = session.get(SESSION_KEY)
    if not conversation:
        return _error(409, "no_session", "No practice session is running. Choose a scenario and start one.")
    messages, failure = _relayed(conversation, text)
    if failure:
        return failure
    return jsonify(messages=messages)


@bp.post("/api/end")
@auth.require_role()
def end_session():
    _, failure = _json_body()
    if failure:
        return failure
    conversation = session.get(SESSION_KEY)
    if not conversation:
        return _error(409, "no_session", "No practice session is running, so there is nothing to end.")
    messages, failure = _relayed(conversation, END_COMMAND)
    if failure:
        return failure
    return jsonify(messages=messages)
