"""Our Rasa channel's /prepare request: out before Rasa reads the message, harmless when it fails."""
import asyncio
import json
import socket
import threading
import time
from types import SimpleNamespace

from bot.launcher import free_port
from bot.rasa_channel import PREPARE_SEND_WAIT, ReplyPreparer
from bot.service_secret import HEADER
from tests.asyncio_thread import run_coroutine


def _agent(port):
    return SimpleNamespace(action_endpoint=SimpleNamespace(url=f"http://127.0.0.1:{port}/webhook"))


def _recording_server(port, received):
    """An action server stand-in in a thread: it records each whole request as it arrives."""
    listener = socket.create_server(("127.0.0.1", port))

    def accept():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    def serve(connection):
        buffer = b""
        while True:
            try:
                data = connection.recv(65536)
            except OSError:  # the client closed its connection at the end
                return
            if not data:
                return
            buffer += data
            while b"\r\n\r\n" in buffer:
                head, rest = buffer.split(b"\r\n\r\n", 1)
                lines = head.decode().split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:])
                length = int(headers.get("Content-Length", 0))
                if len(rest) < length:
                    break
                received.append((lines[0].split()[1], headers.get(HEADER), json.loads(rest[:length])))
                buffer = rest[length:]
                connection.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    threading.Thread(target=accept, daemon=True).start()
    return listener


def test_the_prepare_request_is_out_before_rasa_takes_the_event_loop():
    port, received = free_port(), []
    listener = _recording_server(port, received)

    async def send_then_block():
        preparer = ReplyPreparer("the-secret")
        seen = []
        for number in range(3):
            await preparer.start(_agent(port), "trainee-1", f"m{number}", "Hello Dana")
            time.sleep(0.1)  # Rasa's NLU and policies: no await until the action call
            seen.append(len(received))
        await preparer.close()
        return seen

    try:
        assert run_coroutine(send_then_block()) == [1, 2, 3]
    finally:
        listener.close()
    assert received[0] == ("/prepare", "the-secret", {"sender": "trainee-1", "message_id": "m0", "text": "Hello Dana"})


def test_an_action_server_that_is_down_costs_at_most_the_short_wait():
    async def start_once():
        preparer = ReplyPreparer("the-secret")
        began = time.perf_counter()
        await preparer.start(_agent(free_port()), "trainee-1", "m1", "Hello")
        waited = time.perf_counter() - began
        await asyncio.sleep(0.05)
        await preparer.close()
        return waited

    assert run_coroutine(start_once()) < PREPARE_SEND_WAIT + 0.05
