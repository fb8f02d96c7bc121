"""Free loopback ports for services a run starts (tests, benchmarks, the launcher's extra instances).

A port the kernel hands out for `bind(0)` comes from its ephemeral range, the same range it
takes the local ports of outgoing connections from. Between choosing such a port and the service
binding it (Rasa needs seconds to load its model) any outgoing connection on the machine may take
it, and the service then fails with "address already in use" (seen in CI: a second Rasa server on
49664). Ports below the ephemeral range are never given to outgoing connections, so they are
chosen there when the range is known (Linux), checked free, and not handed out twice by a process.
"""
from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Optional, Set, Tuple

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Above the registered ports most local services use (PostgreSQL 5432, Redis 6379, RabbitMQ 5672, ...).
LOWEST = 10000
TRIES = 500
_handed_out: Set[int] = set()


def _ephemeral_range() -> Optional[Tuple[int, int]]:
    try:
        low, high = (int(part) for part in EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return None
    return low, high


def _bindable(port: int, host: str) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port_run(count: int, host: str = "127.0.0.1") -> int:
    """A first port with `count` free consecutive ports from it (several instances need a run)."""
    span = _ephemeral_range()
    if span is not None and span[0] - count > LOWEST:
        for _ in range(TRIES):
            base = random.randint(LOWEST, span[0] - count)
            run = range(base, base + count)
            if not _handed_out.intersection(run) and all(_bindable(port, host) for port in run):
                _handed_out.update(run)
                return base
    while True:  # no known ephemeral range (or no room below it): the kernel's choice
        with socket.socket() as sock:
            sock.bind((host, 0))
            base = sock.getsockname()[1]
        run = range(base, base + count)
        if base + count < 65000 and not _handed_out.intersection(run) and all(_bindable(p, host) for p in run):
            _handed_out.update(run)
            return base


def free_port(host: str = "127.0.0.1") -> int:
    return free_port_run(1, host)
