"""Training records (HR): what the modules of the training domain share.

The domain, one module each: `roster_import` (people from HR's CSV), `assignments` (curricula
and who they are assigned to, directly or through a team), `curriculum_edits` (creating,
editing and deleting a curriculum), `progress` (each trainee's status per required scenario,
the rules in its docstring), `attempt_rules` (which attempts count, pass dates),
`certification` (a trainer's sign-off of a pass). The tables are in `bot/db/models.py`.
"""
from __future__ import annotations

from datetime import date
from typing import Optional

from bot.errors import CoachError


class TrainingError(CoachError):
    code = "bad_training_input"


def parse_date(text: str, *, what: str = "date") -> Optional[date]:
    """An ISO date (YYYY-MM-DD), None for blank, TrainingError for anything else."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TrainingError(f"{what} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-12-31.") from None
