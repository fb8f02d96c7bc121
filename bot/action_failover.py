"""Any Rasa server may call any action server: another one takes the call when its own is down.

Each Rasa server calls the action server named in its endpoints file. When that one is killed,
Rasa answers every message with nothing until it is back (7-12 s on a loaded machine in
bench/scale.py), although the action servers of the other instances are up: they hold no
state (the practice state lives in the tracker, our records in the database). So when the call
cannot reach its action server (connection refused or dropped), the same call goes to the next
one in COACH_ACTIONS_URLS. That is as safe as the web app moving a message to another Rasa: an
action that died halfway returned no events, and the turn it may have stored is stored under the
same turn number again, which the database keeps once.

Installed by bot.rasa_main on the Rasa versions it was written for, like its other fixes.
"""
from __future__ import annotations

import copy
import logging
import os
from typing import Any, Callable, List, Optional

logger = logging.getLogger(__name__)

ACTIONS_URLS_ENV = "COACH_ACTIONS_URLS"
PATCHED_FOR = ("3.6.21",)


def fallback_urls(own: str, environ: Optional[dict] = None) -> List[str]:
    """The webhook URLs of the other action servers in COACH_ACTIONS_URLS (base URLs, comma separated)."""
    raw = (os.environ if environ is None else environ).get(ACTIONS_URLS_ENV, "")
    urls = [f"{u.strip().rstrip('/')}/webhook" for u in raw.split(",") if u.strip()]
    return [u for u in urls if u != own.rstrip("/")]


def _unreachable(exc: BaseException) -> bool:
    """True when a RasaException from RemoteAction.run says the action server could not be reached."""
    import asyncio

    import aiohttp

    cause = exc.__cause__ or exc.__context__
    # A timeout is not "unreachable": that action server may still be running the action.
    return isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, asyncio.TimeoutError)


def with_failover(run: Callable) -> Callable:
    """RemoteAction.run, trying the other action servers when its own cannot be reached."""
    from rasa.shared.exceptions import RasaException

    async def run_with_failover(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> Any:
        try:
            return await run(self, output_channel, nlg, tracker, domain)
        except RasaException as exc:
            if self.action_endpoint is None or not _unreachable(exc):
                raise
            failure = exc
        for url in fallback_urls(self.action_endpoint.url):
            endpoint = copy.copy(self.action_endpoint)
            endpoint.url = url
            other = copy.copy(self)
            other.action_endpoint = endpoint
            try:
                events = await run(other, output_channel, nlg, tracker, domain)
            except RasaException as exc:
                if not _unreachable(exc):
                    raise
                continue
            logger.warning("Action %s ran on %s: %s could not be reached", self.name(), url, self.action_endpoint.url)
            return events
        raise failure

    run_with_failover.failover = True  # type: ignore[attr-defined]
    return run_with_failover


def install_action_failover() -> bool:
    """Wrap RemoteAction.run; False (Rasa's own stays) on another Rasa version or without other action servers."""
    import rasa
    from rasa.core.actions.action import RemoteAction

    if not os.environ.get(ACTIONS_URLS_ENV, "").strip():
        return False
    version = getattr(rasa, "__version__", "unknown")
    if version not in PATCHED_FOR:
        logger.warning("Rasa %s: a Rasa server calls only its own action server (%s is not used).",
                       version, ACTIONS_URLS_ENV)
        return False
    if not getattr(RemoteAction.run, "failover", False):
        RemoteAction.run = with_failover(RemoteAction.run)
    return True
