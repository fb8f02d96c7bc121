"""The relay between the chat page and Rasa's REST channel.

The browser never talks to Rasa: Rasa's webhook has no authentication and trusts whatever
sender id it is given. The relay picks the sender id (the conversation id in the signed
session cookie), sends one message per conversation at a time, and turns every way Rasa can
fail into an error the page can show, never an empty answer.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Tuple

import requests

log = logging.getLogger(__name__)

# Rasa answers on loopback; if it has not accepted the connection within this, it is down.
CONNECT_TIMEOUT = 3.0


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
    if not messages:
        raise RelayError(502, "no_answer", NO_ANSWER)
    return messages


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


@dataclass
class RasaRelay:
    rasa_url: str
    timeout: float
    locks: ConversationLocks

    @property
    def webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def send(self, *, conversation: str, message: str) -> List[Dict[str, Any]]:
        """Send `message` as `conversation` and return the normalised answer; raises RelayError."""
        with self.locks.hold(conversation):
            try:
                response = requests.post(
                    self.webhook,
                    json={"sender": conversation, "message": message},
                    timeout=(CONNECT_TIMEOUT, self.timeout),
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                # A read timeout lands here too: to the trainee both mean "not answering".
                log.warning("Rasa at %s not answering: %s", self.rasa_url, exc)
                raise RelayError(503, "rasa_down", RASA_DOWN) from None
            except requests.RequestException as exc:
                log.warning("Request to Rasa at %s failed: %s", self.rasa_url, exc)
                raise RelayError(502, "rasa_error", "The practice server could not be reached. Try again.") from None
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
        return normalise(answer)

    def is_up(self, *, timeout: float = 2.0) -> bool:
        try:
            return requests.get(f"{self.rasa_url}/", timeout=timeout).status_code == 200
        except requests.RequestException:
            return False
