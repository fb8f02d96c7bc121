"""The JSON relay the chat page talks to: scenarios, sessions, messages, health.

The conversation id that Rasa sees as the sender is chosen here and kept in the signed
session cookie; nothing the browser sends can pick or change it. Every use of it is checked
against the database's record of whose conversation it is (`db.conversation_owner`), so a
cookie that somehow carries another trainee's conversation is refused, not relayed.

The page may send the conversation id it is showing; that is a check, never a choice: when it
differs from the cookie's (another tab started a new conversation), the message is refused
rather than posted into a conversation the trainee is not looking at.

Routes (all need a signed-in user; errors are `{"error": {"code", "message"}}`):

- GET /api/scenarios: `scenarios` [{id, title, customer_name}], `assigned` [{scenario, persona,
  mode, due_date, curriculum, pass_mark, status, status_label}] from HR's curricula, and
  `assignments`: "available", or "unavailable" when this server has no curricula.
- POST /api/session {scenario, persona, mode}: starts a conversation; `conversation`, `messages`.
- POST /api/message {text, message_id?, conversation?} and POST /api/end {message_id?,
  conversation?}: `messages`, `message_id`, `replayed` (true: answered before under this id, so
  the remembered answer is given and nothing reaches Rasa).
- GET /api/conversation: the running conversation as recorded, for a reloaded page:
  `conversation`, `session` (a session_started payload), `opening`, `turns` [{turn, trainee,
  customer, and in coach mode checks, mood, mood_change}], `answered` (message ids answered so
  far); `{"conversation": null}` when none is running.

Refusals: 401 signed_out, 403 not_your_conversation, 409 no_session / conversation_changed,
400 for bad input, 502 no_answer (an action failed while its action server is up) / rasa_error,
503 rasa_down (no Rasa server with a live action server answers; the page sends the reply again
by itself) / database_down.
"""
from __future__ import annotations

import logging
import re
import threading
import uuid
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

from flask import Blueprint, current_app, g, jsonify, request, session

from bot import db
from bot.rasa_client import END_COMMAND, start_command
from bot.text_input import clean_text
from bot.web import auth, idle
from bot.web.relay import Delivery, RasaRelay, RelayError

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

# The same values as bot.scenarios.PERSONAS and bot.simulation.MODES (tests/test_web.py checks
# they agree). Importing bot.simulation here would load the reply checkers into the web process.
PERSONAS = ("angry", "dispassionate")
MODES = ("coach", "assessment")
SESSION_KEY = "conversation"
# As bot.rasa_channel.CHOICE_MAX_CHARS: longer is no scenario id of ours.
SCENARIO_ID_MAX = 100
# The page makes its message ids with crypto.getRandomValues; anything else of this shape works.
MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


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


def _relayed(
    conversation: str, message: str, message_id: Optional[str] = None
) -> Tuple[Optional[Delivery], Any]:
    try:
        return _relay().deliver(conversation=conversation, message=message, message_id=message_id), None
    except RelayError as exc:
        return None, (jsonify(exc.as_json()), exc.status)


def _message_id(body: Dict[str, Any]) -> Tuple[Optional[str], Any]:
    """The page's id for this message (optional for other clients), or (None, error response)."""
    message_id = body.get("message_id")
    if message_id is None:
        return None, None
    if not isinstance(message_id, str) or not MESSAGE_ID.fullmatch(message_id):
        return None, _error(400, "bad_message_id", "message_id must be 8 to 64 letters, digits, '-' or '_'.")
    return message_id, None


class OwnerCache:
    """(conversation, user) pairs this process found to be the user's own: a conversation id
    belongs to one user for good (db.claim_conversation), so the answer never changes while the
    user exists, and a deleted user is refused before ownership is asked (auth.load_user).
    Only a yes is kept; saves a query per message. Bounded, the oldest dropped first."""

    SIZE = 20_000

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._owned: "OrderedDict[Tuple[Any, ...], None]" = OrderedDict()

    def known(self, key: Tuple[Any, ...]) -> bool:
        with self._guard:
            return key in self._owned

    def remember(self, key: Tuple[Any, ...]) -> None:
        with self._guard:
            self._owned[key] = None
            while len(self._owned) > self.SIZE:
                self._owned.popitem(last=False)


def _owned_conversation(body: Optional[Dict[str, Any]], *, missing: str) -> Tuple[Optional[str], Any]:
    """The signed-in trainee's running conversation from the cookie, or (None, error response)."""
    conversation = session.get(SESSION_KEY)
    if not conversation:
        return None, _error(409, "no_session", missing)
    owners = current_app.extensions.setdefault("conversation_owners", OwnerCache())
    # The user's creation time too: a user id the database gave again after an erasure is another user.
    key = (conversation, g.user.id, g.user.created_at)
    owner = g.user.id if owners.known(key) else None
    if owner is None:
        with db.session_scope(auth.engine()) as dbs:
            owner = db.conversation_owner(session=dbs, sender_id=conversation)
        if owner == g.user.id:
            owners.remember(key)
    if owner != g.user.id:
        log.warning("User %s presented conversation %s, which is not theirs (owner %s)", g.user.id, conversation, owner)
        session.pop(SESSION_KEY, None)
        return None, _error(403, "not_your_conversation", "That conversation is not yours. Start a conversation of your own.")
    shown = (body or {}).get("conversation")
    if shown is not None and shown != conversation:
        return None, _error(
            409,
            "conversation_changed",
            "A newer conversation was started in another tab or window, so this one is closed here. "
            "Reload the page to continue the newer one.",
        )
    return conversation, None


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
        listed = list_scenarios(auth.engine())
    except Exception as exc:  # a broken scenario file must not take the chat page down
        log.exception("Listing the scenarios failed")
        return _error(503, "scenarios_unavailable", f"The scenarios could not be loaded: {exc}")
    known = {s.id for s in listed}
    assigned, assignments = _assignments(known)
    return jsonify(
        scenarios=[{"id": s.id, "title": s.title, "customer_name": s.customer.name} for s in listed],
        assigned=assigned,
        assignments=assignments,
        personas=list(PERSONAS),
        modes=list(MODES),
        max_message_chars=current_app.config["MAX_MESSAGE_CHARS"],
    )


def _assignments(known: set) -> Tuple[List[Dict[str, Any]], str]:
    """The trainee's assigned scenarios from HR's curricula, and "available" or "unavailable".

    Unavailable means this server has no curricula yet; then every scenario is optional.
    """
    try:
        from bot.db import assignments, progress
    except ImportError as exc:
        log.info("No curricula on this server (%s): every scenario is optional.", exc)
        return [], "unavailable"
    with db.session_scope(auth.engine()) as dbs:
        items = assignments.assigned_scenarios(session=dbs, user_id=g.user.id)
    statuses = _statuses(progress)
    assigned = []
    for item in items:
        if item.scenario not in known:
            continue  # a curriculum may name a scenario whose file was removed since: it cannot be played
        status = statuses.get(getattr(item, "item_id", None))
        assigned.append(
            {
                "scenario": item.scenario,
                "persona": item.persona if item.persona in PERSONAS else None,
                "mode": item.mode if item.mode in MODES else None,
                "due_date": item.due_date.isoformat() if item.due_date is not None else None,
                "curriculum": item.curriculum,
                "pass_mark": getattr(item, "pass_mark", None),
                "status": status[0] if status else None,
                "status_label": status[1] if status else None,
            }
        )
    return assigned, "available"


def _statuses(progress: Any) -> Dict[Any, Tuple[str, str]]:
    """(status, label) per curriculum item for the trainee; empty when progress cannot be read.

    Only a help for the trainee's choice: the list of assignments is shown without it.
    """
    trainee_progress = getattr(progress, "trainee_progress", None)
    if trainee_progress is None:
        return {}
    try:
        with db.session_scope(auth.engine()) as dbs:
            rows = trainee_progress(session=dbs, user_id=g.user.id)
            return {row.requirement.item_id: (row.status, row.label) for row in rows}
    except Exception:
        log.exception("Reading the training progress of user %s failed", g.user.id)
        return {}


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
    if not isinstance(scenario, str) or not clean_text(scenario).strip():
        return _error(400, "bad_scenario", "Choose a scenario to practise.")
    scenario = clean_text(scenario).strip()
    if len(scenario) > SCENARIO_ID_MAX:
        return _error(400, "bad_scenario", f"A scenario id has at most {SCENARIO_ID_MAX} characters.")
    if "@" in scenario:
        # "id@3" plays one version, drafts too: only the scenario editor's "try" starts those.
        return _error(400, "bad_scenario", "Choose a scenario from the list: its published version is played.")
    if persona not in PERSONAS:
        return _error(400, "bad_persona", f"Unknown persona {persona!r}: choose one of {', '.join(PERSONAS)}.")
    if mode not in MODES:
        return _error(400, "bad_mode", f"Unknown mode {mode!r}: choose one of {', '.join(MODES)}.")
    conversation = new_conversation_id(g.user)
    with db.session_scope(auth.engine(), write=True) as dbs:
        # Before Rasa hears of it, so the action server can file the session under this trainee.
        db.claim_conversation(session=dbs, sender_id=conversation, user_id=g.user.id)
    delivery, failure = _relayed(conversation, start_command(scenario.strip(), persona, mode))
    if failure:
        return failure
    messages = delivery.messages
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
    if not isinstance(text, str) or not clean_text(text).strip():
        return _error(400, "empty_message", "Your reply is empty: type what you would say to the customer.")
    # Lone surrogates and control characters cannot be stored or sent on (bot.text_input).
    text = clean_text(text).strip()
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
    message_id, failure = _message_id(body)
    if failure:
        return failure
    conversation, failure = _owned_conversation(
        body, missing="No practice session is running. Choose a scenario and start one."
    )
    if failure:
        return failure
    # A retried message that was answered already gets its answer again (the relay keeps it);
    # anything else for a session that has ended (or is closed now for being idle) is refused.
    if message_id is None or message_id not in _relay().answers.ids_for(conversation):
        over = idle.session_over(conversation)
        if over:
            return _error(409, "session_over", over)
    delivery, failure = _relayed(conversation, text, message_id)
    if failure:
        return failure
    return jsonify(messages=delivery.messages, message_id=message_id, replayed=delivery.replayed)


@bp.post("/api/end")
@auth.require_role()
def end_session():
    body, failure = _json_body()
    if failure:
        return failure
    message_id, failure = _message_id(body)
    if failure:
        return failure
    conversation, failure = _owned_conversation(
        body, missing="No practice session is running, so there is nothing to end."
    )
    if failure:
        return failure
    delivery, failure = _relayed(conversation, END_COMMAND, message_id)
    if failure:
        return failure
    return jsonify(messages=delivery.messages, message_id=message_id, replayed=delivery.replayed)


@bp.get("/api/conversation")
@auth.require_role()
def running_conversation():
    """The cookie's conversation as our database recorded it, for a page that was reloaded.

    `{"conversation": null}` when none is running (none started, or it has ended). Read under
    the conversation's relay lock: a message still with Rasa is answered and recorded first,
    so the transcript and `answered` (the message ids answered so far) agree.
    """
    if not session.get(SESSION_KEY):
        return jsonify(conversation=None)
    conversation, failure = _owned_conversation(None, missing="No practice session is running.")
    if failure:
        return failure
    with _relay().locks.hold(conversation):
        answered = _relay().answers.ids_for(conversation)
        with db.session_scope(auth.engine()) as dbs:
            practice = db.latest_session(session=dbs, sender_id=conversation)
            if practice is None or practice.ended_at is not None:
                return jsonify(conversation=None)
            transcript = db.get_transcript(session=dbs, session_id=practice.id)
            return jsonify(conversation=conversation, answered=answered, **_restored(transcript))


def _restored(transcript: db.Transcript) -> Dict[str, Any]:
    """What the page needs to draw a running conversation again; coach feedback in coach mode only."""
    practice = transcript.session
    coach = practice.mode == "coach"
    title, customer_name, turn_limit = practice.scenario, "The customer", None
    try:
        from bot.scenarios import get_scenario

        scenario = get_scenario(practice.scenario, practice.scenario_version, engine=auth.engine())
        title, customer_name, turn_limit = scenario.title, scenario.customer.name, scenario.turn_limit
    except Exception:  # a scenario file removed or broken since: the transcript still shows
        log.warning("Scenario %r of session %s is not in the catalogue", practice.scenario, practice.id)
    turns = []
    for turn in transcript.turns:
        item: Dict[str, Any] = {"turn": turn.number, "trainee": turn.trainee_text, "customer": turn.customer_text}
        if coach:
            item.update(checks=turn.checks, mood=turn.mood, mood_change=turn.mood_change)
        turns.append(item)
    started: Dict[str, Any] = {
        "type": "session_started",
        "session_id": practice.id,
        "scenario": practice.scenario,
        "scenario_version": practice.scenario_version,
        "title": title,
        "persona": practice.persona,
        "mode": practice.mode,
        "customer_name": customer_name,
        "mood": practice.start_mood,
        "turn_limit": turn_limit,
    }
    if not coach:
        started["mood"] = None
    elif transcript.turns and transcript.turns[-1].mood is not None:
        started["mood"] = transcript.turns[-1].mood
    return {"session": started, "opening": practice.opening, "turns": turns}
