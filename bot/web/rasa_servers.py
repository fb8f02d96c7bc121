"""Which Rasa servers can answer, as this web app process last saw them.

A server that refused or dropped a connection, or whose action server is gone, is marked down
and skipped: the conversations hashed to it go straight to a live server instead of trying it
first on every message. A background thread asks each down server's readiness route (our
channel's `GET /webhooks/rest/ready`: Rasa up, model loaded, its action server answering)
every CHECK_EVERY seconds and puts it back once it is ready; its conversations then move back.
Moving either way is safe for the reason the relay gives (the tracker in PostgreSQL, the lock
in Redis). Each web app process keeps its own view: a second process learns the same from its
own first failed try, which costs a refused connection, not a wait.
"""
from __future__ import annotations

import logging
import threading
import time
import zlib
from typing import Callable, Dict, List, Optional, Sequence

import requests

log = logging.getLogger(__name__)

# A down server is asked again this often: a restarted Rasa is used within a second of being ready.
CHECK_EVERY = 1.0
# Loopback or a LAN: a server that has not accepted the connection within this is not there.
# Short, because every conversation whose server is down would wait this long on its first try.
CONNECT_TIMEOUT = 1.0
# The readiness route answers after one call to the action server's /health, which waits behind
# the actions that server is running (bot.rasa_channel.ACTIONS_HEALTH_TIMEOUT, 4 s): a busy
# server is slow, not down.
PROBE_TIMEOUT = 6.0
READY_PATH = "/webhooks/rest/ready"


def server_order(conversation: str, servers: Sequence[str]) -> List[str]:
    """`servers` starting at the conversation's own (a stable hash: the same in every web app process)."""
    first = zlib.crc32(conversation.encode("utf-8")) % len(servers)
    return list(servers[first:]) + list(servers[:first])


def probe_ready(server: str) -> bool:
    """True when `server` says it can answer: Rasa with its model loaded and its action server up.

    A Rasa server without our channel's readiness route (404) counts as ready when it answers at all.
    """
    try:
        response = requests.get(f"{server}{READY_PATH}", timeout=(CONNECT_TIMEOUT, PROBE_TIMEOUT))
        if response.status_code == 404:
            response = requests.get(f"{server}/", timeout=(CONNECT_TIMEOUT, PROBE_TIMEOUT))
    except requests.RequestException:
        return False
    return response.status_code == 200


class RasaServers:
    """The Rasa servers in the order each conversation should try them: live ones first."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        probe: Callable[[str], bool] = probe_ready,
        check_every: float = CHECK_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.urls = tuple(urls)
        self.probe = probe
        self.check_every = check_every
        self.clock = clock
        self._guard = threading.Lock()
        self._probing = threading.Lock()
        self._down: Dict[str, float] = {}  # server -> when it was marked down
        self._checker: Optional[threading.Thread] = None

    def order(self, conversation: str) -> List[str]:
        """The live servers for the conversation, its own first; none when all are down.

        A server known to be down gets no message, not even when every server is down: a Rasa
        whose action server is gone still writes the message into the tracker before answering
        nothing. The background check puts it back within CHECK_EVERY of its being ready; when
        every server is down, the message's own request asks them first. The page sends the
        reply again by itself meanwhile.
        """
        with self._guard:
            down = set(self._down)
        if down and len(down) == len(self.urls) and self._probing.acquire(blocking=False):
            # every server down: ask them now rather than refuse a message the next check would
            # let through (a server back a moment ago); one request asks, the others don't wait
            try:
                self.check_once()
            finally:
                self._probing.release()
            with self._guard:
                down = set(self._down)
        return [s for s in server_order(conversation, self.urls) if s not in down]

    def down(self) -> List[str]:
        with self._guard:
            return list(self._down)

    def mark_down(self, server: str, reason: str) -> None:
        with self._guard:
            if server in self._down:
                return
            self._down[server] = self.clock()
            others = len(self.urls) - len(self._down)
            if self._checker is None or not self._checker.is_alive():
                self._checker = threading.Thread(target=self._check_until_all_up, name="rasa-readiness", daemon=True)
                self._checker.start()
        log.warning("Rasa at %s is down (%s): its conversations go to %s until it is ready again",
                    server, reason, f"the other {others} server(s)" if others else "no other server")

    def mark_up(self, server: str) -> None:
        with self._guard:
            since = self._down.pop(server, None)
        if since is not None:
            log.warning("Rasa at %s is ready again after %.1f s; its conversations go back to it",
                        server, self.clock() - since)

    def check_once(self) -> None:
        """Ask every down server whether it is ready; put back those that are."""
        for server in self.down():
            try:
                ready = self.probe(server)
            except Exception:  # the checker must outlive any probe: it is what brings servers back
                log.exception("Asking %s whether it is ready failed", server)
                ready = False
            if ready:
                self.mark_up(server)

    def _check_until_all_up(self) -> None:
        while True:
            time.sleep(self.check_every)
            self.check_once()
            with self._guard:
                if not self._down:
                    self._checker = None
                    return
