"""The trainers' session-list filters: read from the query string, checked, turned into
`bot.db.list_sessions` arguments.

The filter form is a GET form, so a filtered list is a URL a trainer can bookmark or share.
Every bad value gets a message next to its field, and what was typed is kept as typed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict, Mapping, Optional

from bot.db import OUTCOMES
from bot.web.api import PERSONAS
from bot.web.evidence import CHECK_LABELS

FIELDS = (
    "trainee", "scenario", "persona", "outcome", "date_from", "date_to",
    "score_min", "score_max", "flagged", "unmet", "sort", "order", "per_page",
)
SORTS = {"started_at": "Start time", "score": "Score"}
ORDERS = {"desc": "Newest or highest first", "asc": "Oldest or lowest first"}
PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25


@dataclass
class SessionFilters:
    # What the form shows: the values as typed (trimmed), "" when not given.
    values: Dict[str, str]
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE
    # Field name -> message.
    errors: Dict[str, str] = field(default_factory=dict)
    # Arguments for bot.db.list_sessions, without limit/offset.
    query: Dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def url_args(self, **changes: Any) -> Dict[str, Any]:
        """The non-empty filters as query-string arguments (for paging and export links)."""
        args: Dict[str, Any] = {k: v for k, v in self.values.items() if v}
        if self.page != 1:
            args["page"] = self.page
        args.update(changes)
        return {k: v for k, v in args.items() if v not in ("", None)}


def _whole_number(raw: str, what: str, *, low: Optional[int] = None, high: Optional[int] = None) -> int:
    try:
        number = int(raw)
    except ValueError:
        raise ValueError(f"{what} must be a whole number, not “{raw}”.") from None
    if (low is not None and number < low) or (high is not None and number > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{what} must be {span}, not {number}.")
    return number


def _day(raw: str, what: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{what} must be a date like 2026-03-31, not “{raw}”.") from None


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def parse_filters(args: Mapping[str, str]) -> SessionFilters:
    values = {name: (args.get(name) or "").strip() for name in FIELDS}
    filters = SessionFilters(values=values)
    errors, query = filters.errors, filters.query

    def attempt(name: str, parse: Any) -> Any:
        if not values[name]:
            return None
        try:
            return parse(values[name])
        except ValueError as exc:
            errors[name] = str(exc)
            return None

    trainee = attempt("trainee", lambda v: _whole_number(v, "The trainee", low=1))
    if trainee is not None:
        query["user_id"] = trainee
    if values["scenario"]:
        query["scenario"] = values["scenario"]
    if values["persona"]:
        if values["persona"] in PERSONAS:
            query["persona"] = values["persona"]
        else:
            errors["persona"] = f"Choose a customer of {', '.join(PERSONAS)}."
    if values["outcome"]:
        if values["outcome"] in OUTCOMES:
            query["outcome"] = values["outcome"]
        else:
            errors["outcome"] = f"Choose an outcome of {', '.join(OUTCOMES)}."
    if values["flagged"]:
        if values["flagged"] in CHECK_LABELS:
            query["flagged_check"] = values["flagged"]
        else:
            errors["flagged"] = f"There is no check “{values['flagged']}”: choose one from the list."
    if values["unmet"]:
        if values["unmet"] in CHECK_LABELS:
            query["never_met_check"] = values["unmet"]
        else:
            errors["unmet"] = f"There is no check “{values['unmet']}”: choose one from the list."

    day_from = attempt("date_from", lambda v: _day(v, "“From”"))
    day_to = attempt("date_to", lambda v: _day(v, "“To”"))
    if day_from and day_to and day_from > day_to:
        errors["date_to"] = "“To” is before “From”: swap them or widen the range."
    if day_from:
        query["started_from"] = _utc_midnight(day_from)
    if day_to:
        # The "to" day counts in full.
        query["started_before"] = _utc_midnight(day_to + timedelta(days=1))

    low = attempt("score_min", lambda v: _whole_number(v, "The lowest score", low=0, high=100))
    high = attempt("score_max", lambda v: _whole_number(v, "The highest score", low=0, high=100))
    if low is not None and high is not None and low > high:
        errors["score_max"] = f"The highest score ({high}) is below the lowest ({low})."
    if low is not None:
        query["min_score"] = low
    if high is not None:
        query["max_score"] = high

    sort = values["sort"] or "started_at"
    if sort not in SORTS:
        errors["sort"] = f"Sort by one of {', '.join(SORTS)}."
    order = values["order"] or "desc"
    if order not in ORDERS:
        errors["order"] = "The order is “desc” or “asc”."
    query["sort"] = sort if sort in SORTS else "started_at"
    query["descending"] = order != "asc"

    per_page = attempt("per_page", lambda v: _whole_number(v, "Rows per page", low=1, high=max(PAGE_SIZES)))
    filters.per_page = per_page or DEFAULT_PAGE_SIZE
    raw_page = (args.get("page") or "").strip()
    if raw_page:
        try:
            filters.page = _whole_number(raw_page, "The page", low=1)
        except ValueError as exc:
            errors["page"] = str(exc)
    return filters
