"""Sign-in throttling per account and per client address: growing delays, then a temporary lock.

After a few free failures each further failure doubles the wait before the next attempt is even
checked; at LOCK_AFTER failures the key is locked for LOCK_MINUTES. A client address gets more
free failures than an account (many people can share one office address). A success clears the
account's count; counts left alone for FORGET_AFTER start again from zero.
(OWASP Authentication Cheat Sheet, "Login Throttling"; NIST SP 800-63B 5.2.2 "Rate Limiting".)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Optional

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.db.models import SignInThrottle, utcnow


@dataclass(frozen=True)
class Policy:
    free_failures: int
    lock_after: int
    lock_minutes: int
    max_delay_seconds: int = 60


ACCOUNT = Policy(free_failures=3, lock_after=10, lock_minutes=15)
CLIENT = Policy(free_failures=10, lock_after=50, lock_minutes=15)
FORGET_AFTER = timedelta(hours=1)


def account_key(email: str) -> str:
    return "email:" + email.strip().lower()[:290]


def client_key(address: Optional[str]) -> str:
    return "ip:" + (address or "unknown")[:290]


@dataclass(frozen=True)
class Blocked:
    seconds: int
    locked: bool


def delay_after(failures: int, policy: Policy) -> timedelta:
    """How long to wait after `failures` failures: 0, then 1, 2, 4 ... s, then the lock."""
    if failures >= policy.lock_after:
        return timedelta(minutes=policy.lock_minutes)
    if failures <= policy.free_failures:
        return timedelta(0)
    return timedelta(seconds=min(2 ** (failures - policy.free_failures - 1), policy.max_delay_seconds))


def blocked(*, session: Session, keys: Iterable[str], now: Optional[datetime] = None) -> Optional[Blocked]:
    """The longest wait any of `keys` is under right now, or None."""
    now = now or utcnow()
    worst: Optional[Blocked] = None
    for key in keys:
        row = session.get(SignInThrottle, key)
        if row is None or row.blocked_until is None or row.blocked_until <= now:
            continue
        seconds = max(1, int((row.blocked_until - now).total_seconds() + 0.999))
        locked = row.failures >= (CLIENT if key.startswith("ip:") else ACCOUNT).lock_after
        if worst is None or seconds > worst.seconds:
            worst = Blocked(seconds=seconds, locked=locked)
    return worst


def record_failure(*, session: Session, key: str, now: Optional[datetime] = None) -> SignInThrottle:
    """Count one failure for `key` and set its wait; the row tells whether it is now locked."""
    now = now or utcnow()
    policy = CLIENT if key.startswith("ip:") else ACCOUNT
    row = session.get(SignInThrottle, key)
    if row is None:
        row = SignInThrottle(key=key, failures=0, last_failure_at=now)
        session.add(row)
    elif now - row.last_failure_at > FORGET_AFTER and (row.blocked_until is None or row.blocked_until <= now):
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    wait = delay_after(row.failures, policy)
    row.blocked_until = now + wait if wait else None
    session.flush()
    return row


def is_locked(row: SignInThrottle) -> bool:
    return row.failures >= (CLIENT if row.key.startswith("ip:") else ACCOUNT).lock_after


def clear(*, session: Session, key: str) -> None:
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))
