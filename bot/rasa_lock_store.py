"""Rasa's Redis lock store, with a waiting message that cannot be stranded by its own ticket.

Rasa 3.6 serves a conversation's messages in ticket order: each message takes a ticket that
lives TICKET_LOCK_LIFETIME seconds and waits, polling once a second, until its ticket is the
first one left. A Rasa server killed while answering leaves its ticket behind, and the server
the web app moves the conversation to waits for it to expire. But its own ticket, taken
moments later, expires moments later too: when both are gone between two polls, Rasa's
`_acquire_lock` finds no first ticket, takes that as "someone else is being served" and waits
for good (in bench/scale.py, every conversation moved off a killed server waited until the web
app gave up after 30 s). Here a waiting message goes ahead as soon as no live ticket older than
its own is left, which is what the ticket order means; the rest is Rasa's own lock store.

Endpoints name it as the lock store's `type` (bot.launcher writes it for COACH_LOCK_STORE_URL).
"""
from __future__ import annotations

import asyncio
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import RedisLockStore


def first_in_line(lock: Any, ticket: int) -> bool:
    """True when no ticket taken before `ticket` is still alive in `lock` (None: no lock left at all)."""
    if lock is None:
        return True
    return not any(t.number < ticket and not t.has_expired() for t in lock.tickets)


class CoachRedisLockStore(RedisLockStore):
    """RedisLockStore built from its endpoint config, as Rasa builds a lock store named by module path."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id)
            if first_in_line(lock, ticket):
                return lock if lock is not None else TicketLock(conversation_id)
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)
