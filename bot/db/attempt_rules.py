"""Which attempts count towards a requirement, and when it was passed.

- An attempt counts from the day its curriculum was assigned to the trainee (UTC days, so an
  attempt the same morning as an afternoon assignment counts: HR assigns what people are
  already practising). Practice before that day was not towards this curriculum.
- The *pass date* is the day the first attempt reaching the pass mark ended; a pass is *late*
  when that day is after the due date, by that many days.

Functions over `bot.db.progress` rows (duck-typed, so this module imports nothing of progress).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, List, Optional, Sequence, TypeVar

A = TypeVar("A")


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(timezone.utc).date()


def since_assignment(requirement: Any, attempts: Sequence[A]) -> List[A]:
    """The attempts started on or after the day `requirement` was assigned (all when unknown)."""
    assigned_at: Optional[datetime] = getattr(requirement, "assigned_at", None)
    if assigned_at is None:
        return list(attempts)
    first_day = _utc_day(assigned_at)
    return [a for a in attempts if _utc_day(a.started_at) >= first_day]


def passing_attempt(row: Any) -> Optional[Any]:
    """The first attempt (by when it ended) that reached the pass mark, if any."""
    passing = [a for a in row.attempts if row.passes(a) and a.ended_at is not None]
    return min(passing, key=lambda a: a.ended_at) if passing else None


def pass_date(row: Any) -> Optional[date]:
    first = passing_attempt(row)
    return _utc_day(first.ended_at) if first is not None else None


def days_late(row: Any) -> Optional[int]:
    """Days between the due date and the pass date, when the pass came after the due date."""
    passed_on, due = pass_date(row), row.requirement.due_date
    if passed_on is None or due is None or passed_on <= due:
        return None
    return (passed_on - due).days


def last_attempt(row: Any) -> Optional[datetime]:
    """When the latest counted attempt ended."""
    ended = [a.ended_at for a in row.attempts if a.ended_at is not None]
    return max(ended) if ended else None
