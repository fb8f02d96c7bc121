"""Our REST input channel for Rasa: only our web app may talk, and only in our protocol.

Configured in credentials.yml instead of Rasa's stock `rest` channel and served at the same
URL, `POST /webhooks/rest/webhook` with `{"sender", "message"}`. Before anything reaches NLU:

- the `X-Coach-Secret` header must carry the shared secret (bot.service_secret): 401 otherwise;
- the body must be a JSON object with a sender id of letters, digits and `_.:@-` and a string
  message: 400 otherwise;
- the text is cleaned of lone surrogates and control characters (bot.text_input);
- a message starting with "/" must be one of our commands, `/end_session` or
  `/start_scenario{...}` with only string values for scenario, persona and mode; the command is
  rebuilt from the checked values, so Rasa never sees `/restart`, `/session_start`, a typed
  intent, a confidence (`@0.9`) or an entity that is not a string;
- a reply longer than COACH_MAX_MESSAGE_CHARS, or an empty one, is refused.

A reply that passed is then sent to the action server's `/prepare` (ReplyPreparer), so the
action server works on it while Rasa runs NLU; see bot.prepared_replies.

Refusals of a well-formed request answer 200 with the protocol's error payload, as the actions
do (`[{"custom": {"type": "error", "code", "message"}}]`); refusals of the request itself use
the same payload with a 4xx status.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import service_secret
from bot.text_input import clean_text

log = logging.getLogger(__name__)

SENDER = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")
START_COMMAND = "/start_scenario"
END_COMMAND = "/end_session"
CHOICE_KEYS = ("scenario", "persona", "mode")
# Scenario ids, persona and mode names are short words; anything longer is not one of ours.
CHOICE_MAX_CHARS = 100
NO_ANSWER = "The customer could not answer: the action server may be down. Try again."


class Refused(Exception):
    def __init__(self, code: str, message: str, status: int = 200):
        super().__init__(message)
        self.code = code
        self.status = status

    def answer(self) -> HTTPResponse:
        payload = {"type": "error", "code": self.code, "message": str(self)}
        return response.json([{"custom": payload}], status=self.status)


def _command(text: str) -> str:
    """The command in `text` rebuilt from checked values; raises Refused."""
    if text == END_COMMAND:
        return END_COMMAND
    if not text.startswith(START_COMMAND + "{"):
        name = text.split("{", 1)[0][:40]
        raise Refused(
            "unknown_command",
            f"{name!r} is not a command of this assistant: use {START_COMMAND}{{...}} or {END_COMMAND}.",
        )
    try:
        choices = json.loads(text[len(START_COMMAND):])
    except ValueError:
        raise Refused("bad_command", f"{START_COMMAND} must be followed by a JSON object.") from None
    if not isinstance(choices, dict):
        raise Refused("bad_command", f"{START_COMMAND} must be followed by a JSON object.")
    unknown = sorted(set(choices) - set(CHOICE_KEYS))
    if unknown:
        raise Refused("bad_command", f"{START_COMMAND} takes only {', '.join(CHOICE_KEYS)}, not {', '.join(unknown)}.")
    for key, value in choices.items():
        if not isinstance(value, str) or len(value) > CHOICE_MAX_CHARS:
            raise Refused("bad_command", f"{key} must be a text of at most {CHOICE_MAX_CHARS} characters.")
    return START_COMMAND + json.dumps({key: choices[key] for key in CHOICE_KEYS if key in choices})


def checked_request(body: bytes, *, max_chars: int) -> Tuple[str, str]:
    """(sender, message to hand to Rasa) from a request body; raises Refused."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise Refused("bad_request", "The request body must be JSON.", 400) from None
    if not isinstance(data, dict):
        raise Refused("bad_request", 'The request body must be a JSON object {"sender", "message"}.', 400)
    sender, text = data.get("sender"), data.get("message")
    if not isinstance(sender, str) or not SENDER.fullmatch(sender):
        raise Refused("bad_sender", "sender must be 1 to 128 letters, digits or _.:@-", 400)
    if not isinstance(text, str):
        raise Refused("bad_request", "message must be a text.", 400)
    text = clean_text(text).strip()
    if not text:
        raise Refused("empty_message", "The message is empty: type what you would say to the customer.")
    if text.startswith("/"):
        return sender, _command(text)
    if len(text) > max_chars:
        raise Refused(
            "message_too_long",
            f"The message is {len(text)} characters long; the limit is {max_chars}. Shorten it and send it again.",
        )
    return sender, text


# The action server answers /health between the actions it is running; on a loaded machine that
# took seconds. Longer than this, and it is as good as gone for a trainee.
ACTIONS_HEALTH_TIMEOUT = 4.0


async def readiness_problem(agent: Any) -> Optional[str]:
    """Why this Rasa server cannot answer a trainee now, or None: no model loaded, or its action server down."""
    if agent is None or not agent.is_ready():
        return "no model loaded yet"
    endpoint = getattr(agent, "action_endpoint", None)
    if endpoint is None or not endpoint.url:
        return None
    import aiohttp

    # The action endpoint is .../webhook; rasa_sdk answers GET /health beside it, without the secret.
    health = endpoint.url.rsplit("/", 1)[0] + "/health"
    try:
        timeout = aiohttp.ClientTimeout(total=ACTIONS_HEALTH_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(health) as answer:
                if answer.status != 200:
                    return f"its action server answered HTTP {answer.status}"
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return f"its action server is not answering ({exc.__class__.__name__})"
    return None


# "0" keeps the channel from asking the action server to prepare replies (bot.prepared_replies).
PREPARE_ENV = "COACH_PREPARE_REPLIES"
# A prepare answered later than this is of no use: the action call came long before.
PREPARE_TIMEOUT = 5.0
# More prepares waiting than this means the action server is behind: sending more only adds work.
PREPARE_IN_FLIGHT = 64
# How long the idle connection to the action server stays open (see bot.action_server): a
# prepare that must connect first goes out after Rasa's NLU, too late to gain anything.
PREPARE_KEEP_ALIVE = 60.0
# The longest a message waits for its prepare request to be written (about 0.3 ms on an open
# connection, a little more when connecting); then it goes on to Rasa anyway.
PREPARE_SEND_WAIT = 0.003


class ReplyPreparer:
    """Asks the action server to start on a trainee's reply while Rasa reads it, without waiting for its answer.

    Whatever happens to the request (refused, slow, lost) changes nothing but speed: the action
    uses a prepared answer only when it matches (bot.prepared_replies).
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.session: Any = None
        self.in_flight: set = set()

    async def start(self, agent: Any, sender: str, message_id: str, text: str) -> None:
        endpoint = getattr(agent, "action_endpoint", None)
        if endpoint is None or not endpoint.url or len(self.in_flight) >= PREPARE_IN_FLIGHT:
            return
        if self.session is None or self.session.closed:
            self.session = self._new_session()
        url = endpoint.url.rsplit("/", 1)[0] + "/prepare"
        written = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(self._post(url, {"sender": sender, "message_id": message_id, "text": text}, written))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        task.add_done_callback(lambda _: written.done() or written.set_result(None))
        # Wait until the request is out: Rasa's NLU and policies, which come next, keep the
        # event loop until Rasa itself calls the action server, and a request still in
        # aiohttp's hands then arrives with that call, too late to gain anything. aiohttp says
        # when the headers are written; its task writing the body runs in the loop's next round.
        try:
            await asyncio.wait_for(asyncio.shield(written), PREPARE_SEND_WAIT)
        except asyncio.TimeoutError:
            return
        await asyncio.sleep(0)

    def _new_session(self) -> Any:
        import aiohttp

        trace = aiohttp.TraceConfig()
        trace.on_request_headers_sent.append(self._headers_sent)
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(keepalive_timeout=PREPARE_KEEP_ALIVE),
            timeout=aiohttp.ClientTimeout(total=PREPARE_TIMEOUT),
            trace_configs=[trace],
        )

    @staticmethod
    async def _headers_sent(session: Any, context: Any, params: Any) -> None:
        written = context.trace_request_ctx
        if written is not None and not written.done():
            written.set_result(None)

    async def _post(self, url: str, body: Dict[str, str], written: Any) -> None:
        try:
            headers = {service_secret.HEADER: self.secret}
            async with self.session.post(url, json=body, headers=headers, trace_request_ctx=written) as answer:
                await answer.read()
        except Exception as exc:  # noqa: BLE001 - only speed is lost
            log.debug("Preparing a reply on %s failed: %r", url, exc)

    async def close(self) -> None:
        if self.session is not None and not self.session.closed:
            await self.session.close()


class CoachRestInput(RestInput):
    """Rasa's REST channel behind the shared secret and the protocol checks above."""

    def __init__(self, secret: Optional[str] = None, max_chars: Optional[int] = None) -> None:
        from bot.settings import load_settings

        self.secret = secret or service_secret.load_service_secret()
        self.max_chars = max_chars or load_settings().max_message_chars
        self.preparer = ReplyPreparer(self.secret) if os.environ.get(PREPARE_ENV, "1") != "0" else None

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "CoachRestInput":
        return cls()

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint("coach_webhook", __name__)

        @webhook.listener("before_server_stop")
        async def close_preparer(app: Any, loop: Any) -> None:
            if self.preparer is not None:
                await self.preparer.close()

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            # What the web app asks before sending conversations back to this server (bot.web.rasa_servers).
            problem = await readiness_problem(getattr(request.app.ctx, "agent", None))
            if problem:
                return response.json({"status": "not_ready", "reason": problem}, status=503)
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not service_secret.matches(request.headers.get(service_secret.HEADER), self.secret):
                log.warning("Refused a message without the service secret from %s", request.ip)
                return Refused("unauthorized", f"Missing or wrong {service_secret.HEADER} header.", 401).answer()
            try:
                sender, text = checked_request(request.body, max_chars=self.max_chars)
            except Refused as refusal:
                return refusal.answer()
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender, input_channel=self.name(), message_id=uuid.uuid4().hex)
            if self.preparer is not None and not text.startswith("/"):
                await self.preparer.start(getattr(request.app.ctx, "agent", None), sender, message.message_id, text)
            try:
                await on_new_message(message)
            except Exception:
                log.exception("Handling a message of %s failed", sender)
                return Refused("server_error", "The assistant failed on this message. Try again.", 500).answer()
            if not collector.messages:
                # Stock Rasa answers `200 []` when an action fails; a client cannot tell that
                # from a hang. Say it instead (the web app's relay turns it into 502 no_answer).
                return Refused("no_answer", NO_ANSWER).answer()
            return response.json(collector.messages)

        return webhook
