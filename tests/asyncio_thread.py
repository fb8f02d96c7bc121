"""asyncio.run for tests, in a thread of its own."""
from __future__ import annotations

import asyncio
import threading


def run_coroutine(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API keeps an event loop running in the
    test's thread once a browser test ran in the same session, and asyncio.run refuses to nest."""
    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed back to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
