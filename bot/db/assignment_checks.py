"""Who a curriculum may be assigned to: a team someone is in, or people who exist.

A misspelled team ("Nrth") would otherwise be a valid assignment that reaches nobody; it is
refused with the closest existing team names as suggestions.
"""
from __future__ import annotations

import difflib
from typing import List, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import User
from bot.errors import CoachError

# difflib's similarity ratio from which a team name is offered as "did you mean": "Nrth" and
# "North" score 0.89, "Sales" and "North" 0.2.
SUGGESTION_CUTOFF = 0.6
MAX_SUGGESTIONS = 3


class UnknownAssignee(CoachError):
    code = "unknown_assignee"

    def __init__(self, message: str, suggestions: Sequence[str] = (), *, field: str = "team"):
        super().__init__(message)
        self.suggestions = list(suggestions)
        # The form field in error: "team" or "user_id".
        self.field = field


def existing_teams(*, session: Session) -> List[str]:
    """Every team at least one active person is in, by name."""
    rows = session.execute(
        select(User.team).where(User.team.is_not(None), User.active.is_(True)).distinct().order_by(User.team)
    )
    return [team for (team,) in rows]


def existing_team(*, session: Session, team: str) -> str:
    """The team as it is spelled on the roster; UnknownAssignee with suggestions when nobody is in it.

    Case and spacing do not matter ("north " is North).
    """
    wanted = " ".join((team or "").split())
    teams = existing_teams(session=session)
    for name in teams:
        if name.casefold() == wanted.casefold():
            return name
    close = difflib.get_close_matches(wanted.casefold(), [t.casefold() for t in teams], n=MAX_SUGGESTIONS,
                                      cutoff=SUGGESTION_CUTOFF)
    suggestions = [next(t for t in teams if t.casefold() == c) for c in close]
    message = f"There is no team “{wanted}”: nobody on the roster is in it."
    if suggestions:
        message += " Did you mean " + " or ".join(f"“{s}”" for s in suggestions) + "?"
    elif teams:
        message += " The teams are: " + ", ".join(teams) + "."
    else:
        message += " Import a roster with teams first, or assign the curriculum to trainees."
    raise UnknownAssignee(message, suggestions)


def existing_people(*, session: Session, user_ids: Sequence[int]) -> List[User]:
    """The active people with these ids; UnknownAssignee naming how many are not."""
    if not user_ids:
        return []
    found = list(session.execute(select(User).where(User.id.in_(list(user_ids)), User.active.is_(True))).scalars())
    missing = set(user_ids) - {u.id for u in found}
    if missing:
        raise UnknownAssignee(
            f"{len(missing)} of the chosen trainees {'is' if len(missing) == 1 else 'are'} no longer on the roster: "
            "reload the page and choose again.",
            field="user_id",
        )
    return found
