"""Restart a service that died, instead of taking the others down with it.

A crashed action server used to end the launcher and with it Rasa and the web app. Now each
dead service is started again after a pause that doubles with every quick death (1, 2, 4 ...
capped at MAX_DELAY seconds), so a service that cannot start does not spin the CPU, and
one that ran a good while before dying is restarted at once. The web app tells the trainee
to retry meanwhile; the conversation lives in the stores, so it goes on once the service is back.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
# A service that stayed up this long before dying starts again from FIRST_DELAY.
STABLE_AFTER = 60.0


@dataclass
class _Watch:
    started_at: float
    failures: int = 0
    restart_at: Optional[float] = None


class Supervisor:
    """`check()` (called every half second) notes dead services and restarts them when due.

    A service is anything with `name`, `process` (a Popen) and `start()`; `record` (optional)
    is told about each new process, as bot.process_guard wants.
    """

    def __init__(self, services: List, *, record=None, log: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self.record = record
        self.log = log
        self.clock = clock
        now = clock()
        self._watch: Dict[int, _Watch] = {id(s): _Watch(started_at=now) for s in services}
        self.restarts = 0

    def delay(self, failures: int) -> float:
        return min(MAX_DELAY, FIRST_DELAY * 2 ** max(0, failures - 1))

    def check(self) -> None:
        now = self.clock()
        for service in self.services:
            watch = self._watch[id(service)]
            if watch.restart_at is None:
                code = service.process.poll() if service.process is not None else None
                if service.process is None or code is None:
                    continue
                watch.failures = 1 if now - watch.started_at >= STABLE_AFTER else watch.failures + 1
                wait = self.delay(watch.failures)
                watch.restart_at = now + wait
                self.log(f"{service.name} exited ({_describe(code)}); restarting in {wait:.0f} s "
                         f"(log: {getattr(service, 'log_path', '?')})")
            elif now >= watch.restart_at:
                watch.restart_at = None
                watch.started_at = now
                try:
                    service.start()
                except OSError as exc:  # the executable vanished, the log folder is not writable...
                    self.log(f"{service.name} could not be started again: {exc}")
                    service.process = None
                    watch.failures += 1
                    watch.restart_at = now + self.delay(watch.failures)
                    continue
                self.restarts += 1
                if self.record is not None:
                    self.record.add(service.name, service.process)
                self.log(f"{service.name} restarted (pid {service.process.pid})")


def _describe(code: int) -> str:
    if code < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"
