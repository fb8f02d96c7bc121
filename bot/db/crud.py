"""Data access: every function takes keyword-only arguments, starting with the `session`.

Use one `session_scope(engine)` per request or action call. Commits:
- The three functions that record a live conversation (`record_session_start`, `record_turn`,
  `record_session_end`) commit before they return: the action server can be killed at any
  moment and a completed turn must already be on disk. They are idempotent, so a retried
  action call does not duplicate anything.
- Every other writer only flushes; `session_scope` commits what one request did together.

Machine verdicts are never edited. A trainer's verdict is a new `CheckOverride` or
`OutcomeOverride` row; the latest one (by creation) per turn and check, or per session, wins.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import and_, exists, func, select, true
from sqlalchemy.orm import Session, joinedload

from bot.db.errors import NotAllowed, get_or_raise, require_outcome
from bot.db.models import (
    REVIEWER_ROLES,
    CheckOverride,
    OutcomeOverride,
    PracticeSession,
    Scorecard,
    Turn,
    TurnComment,
    User,
)
from bot.db.recording import add_scorecard
from bot.db.users import normalise_email
from bot.errors import CoachError

# Largest page list_sessions returns: a review table shows tens of rows, not thousands.
MAX_PAGE_SIZE = 500
SORT_KEYS = ("started_at", "score")


# --- listing and reading transcripts ------------------------------------------------------


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
        self._latest = _latest_per_turn_check(self.check_overrides)

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


def _latest_per_turn_check(overrides: Iterable[CheckOverride]) -> Dict[Tuple[int, str], CheckOverride]:
    latest: Dict[Tuple[int, str], CheckOverride] = {}
    for override in sorted(overrides, key=lambda o: (o.created_at, o.id)):
        latest[(override.turn_id, override.check)] = override
    return latest


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


# --- reviews -----------------------------------------------------------------------------


def _require_reviewer(session: Session, reviewer_id: int) -> User:
    reviewer = get_or_raise(session, User, reviewer_id, "user")
    if not reviewer.roles & set(REVIEWER_ROLES) or not reviewer.active:
        raise NotAllowed(f"Only an active {' or '.join(REVIEWER_ROLES)} may overrule the machine.")
    return reviewer


def _require_reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise CoachError("Say why: an override needs a reason.")
    return reason.strip()


def override_check(
    *, session: Session, turn_id: int, check: str, trainer_found: bool, reason: str, reviewer_id: int
) -> CheckOverride:
    """Record a trainer's verdict on one check of one turn (agreeing with the machine counts too)."""
    reason = _require_reason(reason)
    turn = get_or_raise(session, Turn, turn_id, "turn")
    if check not in turn.checks:
        raise CoachError(f"Turn {turn.number} has no check {check!r}: it has {', '.join(sorted(turn.checks))}.")
    _require_reviewer(session, reviewer_id)
    override = CheckOverride(
        turn_id=turn_id,
        check=check,
        machine_found=bool(turn.checks[check]["found"]),
        trainer_found=bool(trainer_found),
        reason=reason,
        reviewer_id=reviewer_id,
    )
    session.add(override)
    session.flush()
    return override


def override_outcome(
    *, session: Session, session_id: str, outcome: str, reason: str, reviewer_id: int
) -> OutcomeOverride:
    reason = _require_reason(reason)
    require_outcome(outcome, allow_none=False)
    practice = get_or_raise(session, PracticeSession, session_id, "practice session")
    _require_reviewer(session, reviewer_id)
    override = OutcomeOverride(
        session_id=session_id,
        machine_outcome=practice.outcome,
        outcome=outcome,
        reason=reason,
        reviewer_id=reviewer_id,
    )
    session.add(override)
    session.flush()
    return override


def add_comment(*, session: Session, turn_id: int, author_id: int, text: str) -> TurnComment:
    if not text or not text.strip():
        raise CoachError("A comment cannot be empty.")
    get_or_raise(session, Turn, turn_id, "turn")
    get_or_raise(session, User, author_id, "user")
    comment = TurnComment(turn_id=turn_id, author_id=author_id, text=text)
    session.add(comment)
    session.flush()
    return comment


# --- agreement between the machine and the trainers -----------------------------------------


@dataclass(frozen=True)
class CheckAgreement:
    """Machine verdicts against the trainers' latest verdicts on the same turns, for one check."""

    check: str
    # The 2x2 table: found by both, by the machine only, by the trainer only, by neither.
    both: int
    machine_only: int
    trainer_only: int
    neither: int

    @property
    def n(self) -> int:
        return self.both + self.machine_only + self.trainer_only + self.neither

    @property
    def agreement(self) -> Optional[float]:
        """Share of reviewed turns where machine and trainer agree (0..1); None when n == 0."""
        return float(Fraction(self.both + self.neither, self.n)) if self.n else None

    @property
    def kappa(self) -> Optional[float]:
        return cohens_kappa(
            both=self.both, machine_only=self.machine_only, trainer_only=self.trainer_only, neither=self.neither
        )


def cohens_kappa(*, both: int, machine_only: int, trainer_only: int, neither: int) -> Optional[float]:
    """Cohen's kappa for two raters with a yes/no verdict, from the 2x2 table.

    kappa = (p_o - p_e) / (1 - p_e), p_o the observed agreement, p_e the agreement expected by
    chance from each rater's own share of "found". Computed with exact fractions.

    Rule for the degenerate case: when p_e == 1 (both raters gave every item the same single
    verdict, e.g. all "found") kappa is 0/0 and undefined, and this returns None; the percent
    agreement (then 100%) is the number to show. It also returns None for an empty table.
    """
    n = both + machine_only + trainer_only + neither
    if n == 0:
        return None
    observed = Fraction(both + neither, n)
    machine_yes = Fraction(both + machine_only, n)
    trainer_yes = Fraction(both + trainer_only, n)
    expected = machine_yes * trainer_yes + (1 - machine_yes) * (1 - trainer_yes)
    if expected == 1:
        return None
    return float((observed - expected) / (1 - expected))


def agreement_per_check(
    *, session: Session, checks_version: Optional[str] = None, checks: Optional[Sequence[str]] = None
) -> Dict[str, CheckAgreement]:
    """For each check with trainer verdicts: the 2x2 table, percent agreement and kappa.

    Each (turn, check) counts once, with the trainer's latest verdict. `checks_version` keeps
    only turns judged by that version of the checks; `checks` names checks to report even when
    nobody reviewed them yet (n == 0).
    """
    stmt = select(CheckOverride).join(Turn, CheckOverride.turn_id == Turn.id)
    if checks_version is not None:
        stmt = stmt.where(Turn.checks_version == checks_version)
    latest = _latest_per_turn_check(session.execute(stmt).scalars())
    tables: Dict[str, List[int]] = {name: [0, 0, 0, 0] for name in (checks or ())}
    for (_, check), override in latest.items():
        cell = tables.setdefault(check, [0, 0, 0, 0])
        machine, trainer = override.machine_found, override.trainer_found
        cell[0 if machine and trainer else 1 if machine else 2 if trainer else 3] += 1
    return {
        name: CheckAgreement(check=name, both=c[0], machine_only=c[1], trainer_only=c[2], neither=c[3])
        for name, c in sorted(tables.items())
    }


# --- re-scoring ---------------------------------------------------------------------------

ScoreFn = Callable[[Dict[str, Any]], Mapping[str, Any]]


def scoring_state(transcript: Transcript, *, apply_overrides: bool = False) -> Dict[str, Any]:
    """The session state `bot.scoring.build_scorecard` scores, rebuilt from a stored transcript.

    With apply_overrides, each check's "found" is the trainer's latest verdict where there is
    one, and the outcome the trainer's outcome.
    """
    turns = []
    for turn in transcript.turns:
        checks = transcript.effective_checks(turn) if apply_overrides else turn.checks
        turns.append(
            {
                "turn": turn.number,
                "reply": turn.trainee_text,
                "answer": turn.customer_text,
                "checks": checks,
                "mood": turn.mood,
                "mood_change": turn.mood_change,
            }
        )
    practice = transcript.session
    return {
        "session_id": practice.id,
        "scenario": practice.scenario,
        "persona": practice.persona,
        "mode": practice.mode,
        "outcome": transcript.outcome if apply_overrides else practice.outcome,
        "opening": practice.opening,
        "mood_curve": list(practice.mood_curve or []),
        "turns": turns,
    }


def rescore_sessions(
    *,
    session: Session,
    score_fn: ScoreFn,
    rubric_version: int,
    checks_version: str,
    session_ids: Optional[Sequence[str]] = None,
    apply_overrides: bool = False,
    force: bool = False,
) -> List[Scorecard]:
    """Score ended sessions again with `score_fn` and add the results as current scorecards.

    `score_fn(state)` gets `scoring_state(...)` (so `bot.scoring.build_scorecard` fits) and
    returns a mapping with "score", "passed", "criteria" and optionally "outcome" and
    "pass_mark". The earlier scorecards stay. Sessions whose current scorecard already has
    these versions are skipped unless `force`, so running a re-score twice adds nothing.
    All new scorecards land in the caller's transaction together.
    """
    stmt = select(PracticeSession.id).where(PracticeSession.ended_at.is_not(None)).order_by(PracticeSession.started_at)
    if session_ids is not None:
        stmt = stmt.where(PracticeSession.id.in_(list(session_ids)))
    added = []
    for session_id in session.execute(stmt).scalars().all():
        transcript = get_transcript(session=session, session_id=session_id)
        assert transcript is not None
        current = transcript.scorecard
        if (
            not force
            and current is not None
            and (current.rubric_version, current.checks_version) == (rubric_version, checks_version)
        ):
            continue
        result = score_fn(scoring_state(transcript, apply_overrides=apply_overrides))
        added.append(
            add_scorecard(
                session=session,
                session_id=session_id,
                score=int(result["score"]),
                passed=bool(result["passed"]),
                criteria=result["criteria"],
                outcome=result.get("outcome"),
                pass_mark=result.get("pass_mark"),
                rubric_version=rubric_version,
                checks_version=checks_version,
            )
        )
    return added
