"""Reading what was recorded: the trainers' filtered list of sessions, and one whole transcript.

A `Transcript` carries the session with its turns, scorecards, overrides and comments, all
loaded, and applies the trainers' latest verdicts (`bot/db/reviews.py`) where a page asks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import and_, exists, func, select, true
from sqlalchemy.orm import Session, joinedload

from bot.db.errors import require_outcome
from bot.db.models import CheckOverride, OutcomeOverride, PracticeSession, Scorecard, Turn, TurnComment, User
from bot.db.reviews import latest_per_turn_check
from bot.db.users import normalise_email
from bot.errors import CoachError

# Largest page list_sessions returns: a review table shows tens of rows, not thousands.
MAX_PAGE_SIZE = 500
SORT_KEYS = ("started_at", "score")


@dataclass(frozen=True)
class SessionRow:
    """One line of the trainers' session list."""

    session_id: str
    user_id: Optional[int]
    email: Optional[str]
    name: Optional[str]
    sender_id: str
    scenario: str
    persona: str
    mode: str
    started_at: datetime
    ended_at: Optional[datetime]
    # The trainer's outcome when one was given, else the machine's.
    outcome: Optional[str]
    machine_outcome: Optional[str]
    turns: int
    # From the current scorecard; None while the session has none.
    score: Optional[int]
    passed: Optional[bool]


@dataclass(frozen=True)
class SessionPage:
    rows: List[SessionRow]
    # How many sessions match the filters, over all pages.
    total: int


def _effective_outcome() -> Any:
    latest_override = (
        select(OutcomeOverride.outcome)
        .where(OutcomeOverride.session_id == PracticeSession.id)
        .order_by(OutcomeOverride.created_at.desc(), OutcomeOverride.id.desc())
        .limit(1)
        .correlate(PracticeSession)
        .scalar_subquery()
    )
    return func.coalesce(latest_override, PracticeSession.outcome)


def list_sessions(
    *,
    session: Session,
    user_id: Optional[int] = None,
    email: Optional[str] = None,
    scenario: Optional[str] = None,
    persona: Optional[str] = None,
    outcome: Optional[str] = None,
    started_from: Optional[datetime] = None,
    started_before: Optional[datetime] = None,
    min_score: Optional[int] = None,
    max_score: Optional[int] = None,
    flagged_check: Optional[str] = None,
    never_met_check: Optional[str] = None,
    sort: str = "started_at",
    descending: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> SessionPage:
    """Sessions matching every given filter, one page of them, and how many match in all.

    - `outcome` matches the effective outcome (a trainer's override, else the machine's).
    - `started_from` is inclusive, `started_before` exclusive.
    - `min_score`/`max_score` (inclusive) look at the current scorecard; they leave out
      sessions without one.
    - `flagged_check`: sessions where that check was found (by the machine) in any turn,
      e.g. "defensive"; `never_met_check`: sessions where it was found in no turn.
    - `sort`: "started_at" or "score" (sessions without a score last); ties by start time.
    """
    if sort not in SORT_KEYS:
        raise CoachError(f"Unknown sort {sort!r}: choose one of {', '.join(SORT_KEYS)}.")
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise CoachError(f"limit must be between 1 and {MAX_PAGE_SIZE} and offset at least 0.")
    effective_outcome = _effective_outcome().label("outcome")
    turn_count = (
        select(func.count(Turn.id)).where(Turn.session_id == PracticeSession.id).correlate(PracticeSession).scalar_subquery()
    )
    stmt = (
        select(
            PracticeSession,
            User.email,
            User.name,
            Scorecard.score,
            Scorecard.passed,
            effective_outcome,
            turn_count.label("turns"),
        )
        .outerjoin(User, PracticeSession.user_id == User.id)
        .outerjoin(Scorecard, and_(Scorecard.session_id == PracticeSession.id, Scorecard.is_current == true()))
    )
    conditions = []
    if user_id is not None:
        conditions.append(PracticeSession.user_id == user_id)
    if email is not None:
        conditions.append(User.email == normalise_email(email))
    if scenario is not None:
        conditions.append(PracticeSession.scenario == scenario)
    if persona is not None:
        conditions.append(PracticeSession.persona == persona)
    if outcome is not None:
        conditions.append(_effective_outcome() == require_outcome(outcome, allow_none=False))
    if started_from is not None:
        conditions.append(PracticeSession.started_at >= started_from)
    if started_before is not None:
        conditions.append(PracticeSession.started_at < started_before)
    if min_score is not None:
        conditions.append(Scorecard.score >= min_score)
    if max_score is not None:
        conditions.append(Scorecard.score <= max_score)
    if flagged_check is not None:
        # The check name is a bound parameter inside the JSON path, never part of the SQL text.
        found = Turn.checks[(flagged_check, "found")].as_boolean()
        conditions.append(exists().where(Turn.session_id == PracticeSession.id, found == true()))
    if never_met_check is not None:
        from bot.db.session_conditions import never_found

        conditions.append(never_found(never_met_check))
    stmt = stmt.where(*conditions)

    total = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()

    def direction(column: Any) -> Any:
        return column.desc() if descending else column.asc()

    order = [direction(PracticeSession.started_at), direction(PracticeSession.id)]
    if sort == "score":
        order.insert(0, direction(Scorecard.score).nulls_last())
    result = session.execute(stmt.order_by(*order).limit(limit).offset(offset))
    rows = [
        SessionRow(
            session_id=practice.id,
            user_id=practice.user_id,
            email=email_,
            name=name,
            sender_id=practice.sender_id,
            scenario=practice.scenario,
            persona=practice.persona,
            mode=practice.mode,
            started_at=practice.started_at,
            ended_at=practice.ended_at,
            outcome=effective,
            machine_outcome=practice.outcome,
            turns=turns,
            score=score,
            passed=passed,
        )
        for practice, email_, name, score, passed, effective, turns in result
    ]
    return SessionPage(rows=rows, total=total)


def list_session_owners(*, session: Session) -> List[User]:
    """Everyone who has at least one stored practice session, by name: the trainee filter's choices."""
    has_session = exists().where(PracticeSession.user_id == User.id)
    return list(session.execute(select(User).where(has_session).order_by(User.name, User.email)).scalars())


@dataclass
class Transcript:
    """A session with everything a trainer's review page shows. All of it is loaded."""

    session: PracticeSession
    user: Optional[User]
    turns: List[Turn]
    # The current scorecard, and every scorecard oldest first.
    scorecard: Optional[Scorecard]
    scorecards: List[Scorecard]
    check_overrides: List[CheckOverride]
    outcome_overrides: List[OutcomeOverride]
    comments: List[TurnComment]
    # Overrides and comments are kept in creation order.
    _latest: Dict[Tuple[int, str], CheckOverride] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._latest = latest_per_turn_check(self.check_overrides)

    @property
    def outcome(self) -> Optional[str]:
        """The trainer's outcome when one was given, else the machine's."""
        if self.outcome_overrides:
            return self.outcome_overrides[-1].outcome
        return self.session.outcome

    def override_for(self, turn: Turn, check: str) -> Optional[CheckOverride]:
        """The trainer's latest verdict on one check of one turn, if any."""
        return self._latest.get((turn.id, check))

    def effective_checks(self, turn: Turn) -> Dict[str, Dict[str, Any]]:
        """The turn's checks with each trainer override applied to "found" (evidence kept)."""
        checks = {name: dict(verdict) for name, verdict in turn.checks.items()}
        for name, verdict in checks.items():
            override = self.override_for(turn, name)
            if override is not None:
                verdict["found"] = override.trainer_found
        return checks

    def comments_on(self, turn: Turn) -> List[TurnComment]:
        return [c for c in self.comments if c.turn_id == turn.id]


def get_transcript(*, session: Session, session_id: str) -> Optional[Transcript]:
    practice = session.execute(
        select(PracticeSession).options(joinedload(PracticeSession.user)).where(PracticeSession.id == session_id)
    ).scalar_one_or_none()
    if practice is None:
        return None
    turns = list(session.execute(select(Turn).where(Turn.session_id == session_id).order_by(Turn.number)).scalars())
    scorecards = list(
        session.execute(
            select(Scorecard).where(Scorecard.session_id == session_id).order_by(Scorecard.created_at, Scorecard.id)
        ).scalars()
    )
    check_overrides = list(
        session.execute(
            select(CheckOverride)
            .options(joinedload(CheckOverride.reviewer))
            .join(Turn, CheckOverride.turn_id == Turn.id)
            .where(Turn.session_id == session_id)
            .order_by(CheckOverride.created_at, CheckOverride.id)
        ).scalars()
    )
    outcome_overrides = list(
        session.execute(
            select(OutcomeOverride)
            .options(joinedload(OutcomeOverride.reviewer))
            .where(OutcomeOverride.session_id == session_id)
            .order_by(OutcomeOverride.created_at, OutcomeOverride.id)
        ).scalars()
    )
    comments = list(
        session.execute(
            select(TurnComment)
            .options(joinedload(TurnComment.author))
            .join(Turn, TurnComment.turn_id == Turn.id)
            .where(Turn.session_id == session_id)
            .order_by(TurnComment.created_at, TurnComment.id)
        ).scalars()
    )
    return Transcript(
        session=practice,
        user=practice.user,
        turns=turns,
        scorecard=next((s for s in scorecards if s.is_current), None),
        scorecards=scorecards,
        check_overrides=check_overrides,
        outcome_overrides=outcome_overrides,
        comments=comments,
    )
