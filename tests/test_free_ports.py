"""Ports for the services a run starts: outside the kernel's ephemeral range, free, never twice."""
from __future__ import annotations

import socket

from bot import free_ports


def test_ports_come_from_below_the_ephemeral_range_and_are_never_handed_out_twice(tmp_path, monkeypatch):
    (tmp_path / "range").write_text("32768\t60999\n")
    monkeypatch.setattr(free_ports, "EPHEMERAL_RANGE_FILE", tmp_path / "range")
    ports = [free_ports.free_port() for _ in range(50)]
    assert all(free_ports.LOWEST <= p < 32768 for p in ports)
    base = free_ports.free_port_run(3)
    assert len(set(ports) | {base, base + 1, base + 2}) == 53
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", base + 1))  # each port of the run was free


def test_a_taken_port_is_never_chosen(tmp_path, monkeypatch):
    (tmp_path / "range").write_text("10010 60999")
    monkeypatch.setattr(free_ports, "EPHEMERAL_RANGE_FILE", tmp_path / "range")
    monkeypatch.setattr(free_ports, "_handed_out", set())
    held = []
    for port in range(10000, 10009):  # all but one port of the room below the range
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
            held.append(sock)
        except OSError:
            sock.close()  # taken by something else already: just as good
    try:
        assert free_ports.free_port() == 10009
    finally:
        for sock in held:
            sock.close()


def test_without_a_known_range_the_kernel_chooses(tmp_path, monkeypatch):
    monkeypatch.setattr(free_ports, "EPHEMERAL_RANGE_FILE", tmp_path / "missing")
    port = free_ports.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
