"""The relay between the chat page and Rasa's REST channel.

The browser never talks to Rasa: Rasa's webhook (our channel, bot.rasa_channel) answers only
requests carrying the shared service secret, which only the relay sends, and trusts whatever
sender id it is given. The relay picks the sender id (the conversation id in the signed
session cookie), sends one message per conversation at a time, and turns every way Rasa can
fail into an error the page can show, never an empty answer.

One message at a time matters for speed as well as order: Rasa serialises the messages of one
conversation itself, but a message arriving while another is processed waits on a lock that
Rasa polls once a second. Queuing here costs nothing.

A page that lost its connection retries a message under the id it gave it; `AnswerCache`
remembers the answer, so a message Rasa already answered is answered again from memory and
never reaches Rasa twice.

Several Rasa servers (COACH_RASA_URLS): each conversation goes to the server picked by a stable
hash of its id, and to the next one in the list when that server refuses or drops the
connection, or answers nothing because its action server is down (its readiness route says
so). That is safe because every server reads the same tracker (PostgreSQL) under the same lock
(Redis), and a message whose server died before answering left no trace that a second try
would repeat: Rasa saves the tracker only after the last action, and our turns are stored
under the tracker's turn number (a message whose action failed left the practice state as it
was, so the next server stores it under the same number). A read timeout is not moved: that
server still has the message and would answer it, so a copy sent elsewhere would be answered
twice. A server that failed is skipped until it is ready again (bot.web.rasa_servers), so the
trainees on it do not each wait for it to fail first.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import requests
import requests.adapters

from bot import service_secret
from bot.web.rasa_servers import CONNECT_TIMEOUT, RasaServers, server_order  # noqa: F401 (server_order: re-exported)

log = logging.getLogger(__name__)


class RelayError(Exception):
    """Rasa did not give a usable answer; `status`, `code` and `str()` go to the client."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code

    def as_json(self) -> Dict[str, Any]:
        return {"error": {"code": self.code, "message": str(self)}}


RASA_DOWN = "The practice server is not answering. Try again in a moment."
NO_ANSWER = "The customer could not answer: the action server may be down. Try again."


def normalise(answer: Any) -> List[Dict[str, Any]]:
    """Rasa's REST answer as [{"kind": "text", "text"}, {"kind": "custom", "payload"}].

    Raises RelayError when the answer is not a list or holds nothing to show: Rasa answers
    `200 []` when a custom action fails, and a silent customer looks like a hung page.
    """
    if not isinstance(answer, list):
        raise RelayError(502, "rasa_error", "The practice server sent an answer the page cannot read. Try again.")
    messages: List[Dict[str, Any]] = []
    for item in answer:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("text"), str):
            messages.append({"kind": "text", "text": item["text"]})
        if isinstance(item.get("custom"), dict):
            messages.append({"kind": "custom", "payload": item["custom"]})
    if not messages or all(_is_no_answer(m) for m in messages):
        raise RelayError(502, "no_answer", NO_ANSWER)
    return messages


def _is_no_answer(message: Dict[str, Any]) -> bool:
    # Our Rasa channel says `no_answer` where stock Rasa answers `200 []`.
    return message["kind"] == "custom" and message["payload"].get("code") == "no_answer"


class ConversationLocks:
    """One lock per conversation id, dropped again once nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: Dict[str, Tuple[threading.Lock, List[int]]] = {}

    @contextmanager
    def hold(self, conversation: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.setdefault(conversation, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[conversation]

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)


# A retry comes within minutes (the page backs off to half a minute between tries); an hour
# covers a laptop closed for lunch. The size bounds memory: a few KB per answer.
ANSWER_TTL_SECONDS = 3600.0
ANSWER_CACHE_ENTRIES = 5000


class AnswerCache:
    """Rasa's answer per (conversation, message id), the oldest dropped first, each for `ttl` seconds."""

    def __init__(
        self,
        *,
        max_entries: int = ANSWER_CACHE_ENTRIES,
        ttl: float = ANSWER_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._guard = threading.Lock()
        self._answers: "OrderedDict[Tuple[str, str], Tuple[float, List[Dict[str, Any]]]]" = OrderedDict()

    def _expire(self, now: float) -> None:
        while self._answers:
            key, (stored_at, _) = next(iter(self._answers.items()))
            if now - stored_at < self.ttl and len(self._answers) <= self.max_entries:
                break
            del self._answers[key]

    def get(self, conversation: str, message_id: str) -> Optional[List[Dict[str, Any]]]:
        with self._guard:
            self._expire(self._clock())
            entry = self._answers.get((conversation, message_id))
            return entry[1] if entry else None

    def put(self, conversation: str, message_id: str, messages: List[Dict[str, Any]]) -> None:
        with self._guard:
            self._answers[(conversation, message_id)] = (self._clock(), messages)
            self._answers.move_to_end((conversation, message_id))
            self._expire(self._clock())

    def ids_for(self, conversation: str) -> List[str]:
        """The message ids of `conversation` with a remembered answer, oldest first."""
        with self._guard:
            self._expire(self._clock())
            return [mid for (conv, mid) in self._answers if conv == conversation]

    def __len__(self) -> int:
        with self._guard:
            return len(self._answers)


@dataclass
class Delivery:
    messages: List[Dict[str, Any]]
    # True when the answer came from AnswerCache: this message id had been answered before.
    replayed: bool = False


# Connections kept open to each Rasa server: waitress serves the web app with 8 threads.
KEPT_CONNECTIONS = 16


def _dropped_kept_connection(exc: requests.ConnectionError) -> bool:
    """Whether the connection failed after it was made (the server closed or reset it), rather
    than could not be made: only a kept connection can fail that way before Rasa reads the message."""
    import urllib3.exceptions

    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # MaxRetryError wraps the cause
    return isinstance(reason, urllib3.exceptions.ProtocolError)


class _ServerDown(Exception):
    """The server refused or dropped the connection, or its action server is down: another may take the message."""


@dataclass
class RasaRelay:
    rasa_url: str
    timeout: float
    locks: ConversationLocks
    answers: AnswerCache = field(default_factory=AnswerCache)
    # The shared secret our Rasa channel requires (bot.service_secret).
    secret: str = ""
    # Every Rasa server; empty means rasa_url alone.
    rasa_urls: Sequence[str] = ()
    # Which of them answer; made from rasa_urls when not given.
    servers: Optional[RasaServers] = None

    def __post_init__(self) -> None:
        self.rasa_urls = tuple(url.rstrip("/") for url in (self.rasa_urls or (self.rasa_url,)))
        self.rasa_url = self.rasa_urls[0]
        if self.servers is None:
            self.servers = RasaServers(self.rasa_urls)
        # Connections to Rasa kept open between messages: a new one per message cost the web app
        # and Rasa more CPU than relaying the message. The pool is thread-safe; it holds up to
        # KEPT_CONNECTIONS per server, and more are opened (and closed after use) when needed.
        self.http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=len(self.rasa_urls), pool_maxsize=KEPT_CONNECTIONS)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    @property
    def webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def send(self, *, conversation: str, message: str) -> List[Dict[str, Any]]:
        """Send `message` as `conversation` and return the normalised answer; raises RelayError."""
        return self.deliver(conversation=conversation, message=message).messages

    def deliver(self, *, conversation: str, message: str, message_id: Optional[str] = None) -> Delivery:
        """Like `send`; with a `message_id`, a message answered before gets the same answer again.

        The cache is read under the conversation's lock, so a retry that arrives while the first
        try is still with Rasa waits for that answer instead of sending the message again.
        """
        with self.locks.hold(conversation):
            if message_id is not None:
                remembered = self.answers.get(conversation, message_id)
                if remembered is not None:
                    return Delivery(messages=remembered, replayed=True)
            messages = self._post(conversation, message)
            if message_id is not None:
                self.answers.put(conversation, message_id, messages)
            return Delivery(messages=messages)

    def _post(self, conversation: str, message: str) -> List[Dict[str, Any]]:
        servers = self.servers.order(conversation)
        for number, server in enumerate(servers):
            try:
                return self._post_to(server, conversation, message)
            except _ServerDown as exc:
                self.servers.mark_down(server, str(exc))
                if number + 1 < len(servers):
                    log.warning("Conversation %s moves from %s to %s", conversation, server, servers[number + 1])
        # 503: the page keeps the reply and sends it again by itself until a server is back.
        raise RelayError(503, "rasa_down", RASA_DOWN)

    def _send(self, server: str, conversation: str, message: str) -> requests.Response:
        def post() -> requests.Response:
            return self.http.post(
                f"{server}/webhooks/rest/webhook",
                json={"sender": conversation, "message": message},
                headers={service_secret.HEADER: self.secret},
                timeout=(CONNECT_TIMEOUT, self.timeout),
            )

        try:
            return post()
        except requests.ConnectionError as exc:
            if not _dropped_kept_connection(exc):
                raise
        # The connection broke after it was made: most often Rasa closed a kept connection as the
        # message went out (its keep-alive time ran out). The message goes again on a new
        # connection, as safe as sending it to another server (see the module's doc); a server
        # that died refuses the new connection, and the message moves on as before.
        return post()

    def _post_to(self, server: str, conversation: str, message: str) -> List[Dict[str, Any]]:
        try:
            response = self._send(server, conversation, message)
        except requests.ReadTimeout as exc:
            # To the trainee as "not answering", but never sent elsewhere (see the module's doc).
            log.warning("Rasa at %s did not answer within %.0f s: %s", server, self.timeout, exc)
            raise RelayError(503, "rasa_down", RASA_DOWN) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _ServerDown(f"connection failed: {exc}") from None
        except requests.RequestException as exc:
            log.warning("Request to Rasa at %s failed: %s", server, exc)
            raise RelayError(502, "rasa_error", "The practice server could not be reached. Try again.") from None
        if response.status_code == 401:
            log.error("Rasa refused the service secret: is COACH_VAR_DIR the same for the web app and Rasa?")
            raise RelayError(
                502, "rasa_refused", "The practice server refused this web app's credentials. Tell an administrator."
            )
        if response.status_code != 200:
            log.warning("Rasa answered HTTP %s: %.300s", response.status_code, response.text)
            raise RelayError(
                502, "rasa_error", f"The practice server failed to answer (HTTP {response.status_code}). Try again."
            )
        try:
            answer = response.json()
        except ValueError:
            log.warning("Rasa answered with something that is not JSON: %.300s", response.text)
            answer = None
        try:
            return normalise(answer)
        except RelayError as exc:
            # Rasa answers nothing when an action fails. When its action server is down, another
            # server can answer; when the action itself failed, another would fail the same way.
            if exc.code == "no_answer" and not self.servers.probe(server):
                raise _ServerDown("its action server is not answering") from exc
            raise

    def is_up(self, *, timeout: float = 2.0) -> bool:
        """True when at least one Rasa server answers."""
        for server in self.rasa_urls:
            try:
                if requests.get(f"{server}/", timeout=timeout).status_code == 200:
                    return True
            except requests.RequestException:
                continue
        return False
