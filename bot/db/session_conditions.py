"""Conditions on practice sessions for `bot.db.list_sessions`, kept out of transcripts.py."""
from __future__ import annotations

from typing import Any

from sqlalchemy import exists, true

from bot.db.models import PracticeSession, Turn


def never_found(check: str) -> Any:
    """No reply of the session has `check` found by the machine (e.g. never an apology).

    A turn stored before the check existed has no verdict on it, which counts as not found.
    The check name is a bound parameter inside the JSON path, never part of the SQL text.
    """
    found = Turn.checks[(check, "found")].as_boolean()
    return ~exists().where(Turn.session_id == PracticeSession.id, found == true())
