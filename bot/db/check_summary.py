"""The weakest checks per team over a period: how often each scorecard criterion was met.

Read from the sessions' current scorecards (trainer-adjusted where a trainer overruled), so a
criterion a trainer re-judged counts as the trainer judged it. Criteria marked not applicable
on a scorecard are left out of that session's count.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from bot.db.models import PracticeSession, Scorecard, User

# How many of a team's criteria the summary names.
WEAKEST_PER_TEAM = 3
NO_TEAM = "No team"


@dataclass(frozen=True)
class CriterionRate:
    criterion: str
    label: str
    met: int
    sessions: int

    @property
    def share(self) -> float:
        return self.met / self.sessions if self.sessions else 0.0

    @property
    def percent(self) -> int:
        return round(100 * self.share)


@dataclass(frozen=True)
class TeamSummary:
    team: str
    sessions: int
    weakest: List[CriterionRate]


def weakest_checks(
    *, session: Session, started_from: Optional[datetime] = None, started_before: Optional[datetime] = None,
    per_team: int = WEAKEST_PER_TEAM,
) -> List[TeamSummary]:
    """Per team (by name, people without a team last): its `per_team` least often met criteria
    (none when the team met every criterion in every session)."""
    stmt = (
        select(User.team, Scorecard.criteria)
        .join(PracticeSession, PracticeSession.user_id == User.id)
        .join(Scorecard, (Scorecard.session_id == PracticeSession.id) & (Scorecard.is_current == true()))
        .where(PracticeSession.ended_at.is_not(None))
    )
    if started_from is not None:
        stmt = stmt.where(PracticeSession.started_at >= started_from)
    if started_before is not None:
        stmt = stmt.where(PracticeSession.started_at < started_before)
    tallies: Dict[str, Dict[str, List]] = {}
    counts: Dict[str, int] = {}
    for team, criteria in session.execute(stmt):
        name = team or NO_TEAM
        counts[name] = counts.get(name, 0) + 1
        mine = tallies.setdefault(name, {})
        for key, c in (criteria or {}).items():
            if not isinstance(c, dict) or c.get("applicable") is False or c.get("not_applicable"):
                continue
            entry = mine.setdefault(key, [c.get("label") or key, 0, 0])
            entry[1] += 1 if c.get("met") else 0
            entry[2] += 1
    result = []
    for name in sorted(tallies, key=lambda t: (t == NO_TEAM, t.casefold())):
        # A criterion met in every session is nobody's weakness, however short the list gets.
        rates = [CriterionRate(criterion=k, label=v[0], met=v[1], sessions=v[2])
                 for k, v in tallies[name].items() if v[1] < v[2]]
        rates.sort(key=lambda r: (r.share, r.label))
        result.append(TeamSummary(team=name, sessions=counts[name], weakest=rates[:per_team]))
    return result
