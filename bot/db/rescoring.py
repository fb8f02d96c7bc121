"""Re-scoring stored sessions: the state a scorecard is built from, rebuilt from a transcript.

After a change to the rubric or the checks, `rescore_sessions` adds a current scorecard to each
ended session (the old ones stay beside it); `scoring_state` is also what the idle sweep and
the trainer-adjusted scorecard score. New scorecards are only flushed, into the caller's
transaction.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import PracticeSession, Scorecard
from bot.db.recording import add_scorecard
from bot.db.transcripts import Transcript, get_transcript

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
