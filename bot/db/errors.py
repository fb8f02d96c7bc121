"""What the data-access modules raise, and the two argument checks they all share.

`NotFound` and `NotAllowed` are `CoachError`s with a code, so the web app and the command line
turn them into a clear message; `get_or_raise` and `require_outcome` raise them (or a plain
`CoachError`) the same way in every module.
"""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy.orm import Session

from bot.db.models import OUTCOMES
from bot.errors import CoachError


class NotFound(CoachError):
    code = "not_found"


class NotAllowed(CoachError):
    code = "not_allowed"


def get_or_raise(session: Session, model: Any, key: Any, what: str) -> Any:
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"No {what} {key!r}.")
    return row


def require_outcome(outcome: Optional[str], *, allow_none: bool) -> Optional[str]:
    if outcome is None and allow_none:
        return None
    if outcome not in OUTCOMES:
        raise CoachError(f"Unknown outcome {outcome!r}: choose one of {', '.join(OUTCOMES)}.")
    return outcome
