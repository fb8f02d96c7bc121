"""The relay keeps its connections to Rasa open between messages, and survives Rasa closing one."""
from __future__ import annotations

import json
import socketserver
import threading
from typing import Iterator, List

import pytest
import requests
import urllib3

from bot.web.relay import ConversationLocks, RasaRelay, _dropped_kept_connection

ANSWER = [{"recipient_id": "c1", "text": "Fine."}]


class _Rasa(socketserver.ThreadingTCPServer):
    """A webhook speaking HTTP/1.1 with keep-alive; with `drop_second`, it closes a connection
    when a second request comes on it, unanswered, as Rasa does when its keep-alive time runs out."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, drop_second: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.drop_second = drop_second
        self.connections = 0
        self.requests: List[str] = []


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.server.connections += 1
        answered = 0
        while True:
            line = self.rfile.readline()
            if not line:
                return
            headers = {}
            while True:
                header = self.rfile.readline().decode().strip()
                if not header:
                    break
                name, _, value = header.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = self.rfile.read(int(headers.get("content-length", 0)))
            if answered and self.server.drop_second:
                return  # closed with the request unread and unanswered
            self.server.requests.append(json.loads(body)["message"])
            payload = json.dumps(ANSWER).encode()
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (len(payload), payload))
            self.wfile.flush()
            answered += 1


def _serve(drop_second: bool) -> Iterator[_Rasa]:
    server = _Rasa(drop_second)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def keeping() -> Iterator[_Rasa]:
    yield from _serve(drop_second=False)


@pytest.fixture
def dropping() -> Iterator[_Rasa]:
    yield from _serve(drop_second=True)


def _relay(server: _Rasa) -> RasaRelay:
    return RasaRelay(rasa_url=f"http://127.0.0.1:{server.server_address[1]}", timeout=5, locks=ConversationLocks())


def test_messages_share_one_kept_connection(keeping):
    relay = _relay(keeping)
    for text in ("one", "two", "three"):
        assert relay.send(conversation="c1", message=text) == [{"kind": "text", "text": "Fine."}]
    assert keeping.requests == ["one", "two", "three"]
    assert keeping.connections == 1


def test_a_kept_connection_rasa_closed_is_replaced_and_the_message_answered_once(dropping):
    relay = _relay(dropping)
    assert relay.send(conversation="c1", message="one") == [{"kind": "text", "text": "Fine."}]
    assert relay.send(conversation="c1", message="two") == [{"kind": "text", "text": "Fine."}]
    assert dropping.requests == ["one", "two"]
    assert dropping.connections == 2


def test_only_a_broken_connection_is_tried_again_not_a_refused_one():
    broken = requests.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError()))
    refused = requests.ConnectionError(urllib3.exceptions.MaxRetryError(
        None, "/", urllib3.exceptions.NewConnectionError(None, "Connection refused")))
    assert _dropped_kept_connection(broken)
    assert not _dropped_kept_connection(refused)
