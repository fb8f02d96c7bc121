"""The period of the trainers' "weakest checks" summary: two dates from the query string.

Defaults to the last DEFAULT_DAYS days up to today (UTC); the "to" day counts in full.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict, Mapping, Optional

DEFAULT_DAYS = 30


@dataclass
class Period:
    start: Optional[date]
    end: Optional[date]
    values: Dict[str, str]
    errors: Dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def query(self) -> Dict[str, Any]:
        """Arguments for bot.db.check_summary.weakest_checks."""
        result: Dict[str, Any] = {}
        if self.start:
            result["started_from"] = datetime.combine(self.start, time.min, tzinfo=timezone.utc)
        if self.end:
            result["started_before"] = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=timezone.utc)
        return result


def _day(raw: str, what: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{what} must be a date like 2026-03-31, not “{raw}”.") from None


def parse_period(args: Mapping[str, str], *, today: Optional[date] = None) -> Period:
    today = today or datetime.now(timezone.utc).date()
    raw_from = (args.get("period_from") or "").strip()
    raw_to = (args.get("period_to") or "").strip()
    period = Period(start=None, end=None, values={"period_from": raw_from, "period_to": raw_to})
    try:
        period.start = _day(raw_from, "“From”") if raw_from else today - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError as exc:
        period.errors["period_from"] = str(exc)
    try:
        period.end = _day(raw_to, "“To”") if raw_to else today
    except ValueError as exc:
        period.errors["period_to"] = str(exc)
    if period.start and period.end and period.start > period.end:
        period.errors["period_to"] = "“To” is before “From”: swap them or widen the range."
    if not raw_from and period.start:
        period.values["period_from"] = period.start.isoformat()
    if not raw_to and period.end:
        period.values["period_to"] = period.end.isoformat()
    return period
