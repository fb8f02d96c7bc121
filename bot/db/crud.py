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

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import CheckOverride, PracticeSession, Scorecard, Turn
from bot.db.recording import add_scorecard
from bot.db.reviews import latest_per_turn_check
from bot.db.transcripts import Transcript, get_transcript


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
    latest = latest_per_turn_check(session.execute(stmt).scalars())
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
