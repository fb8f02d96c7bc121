"""Keep a session's trainer-adjusted scorecard in step with the trainers' overrides.

After every override (`refresh_adjusted_scorecard`), the session's current scorecard is:
- the machine's latest scorecard when no trainer verdict differs from the machine's, or
- a trainer-adjusted scorecard (`Scorecard.adjusted_from_id` = that machine scorecard) made by
  `bot.adjusted_score.adjust`, which everything reading the current scorecard then uses: the
  session list and its exports, HR statuses, sign-off.
Earlier scorecards stay, as with re-scoring. Agreement figures read the overrides, not these.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import select, true, update
from sqlalchemy.orm import Session, aliased

from bot.adjusted_score import AdjustedScore, Overruling, adjust, overrulings_by_criterion
from bot.db.models import Scorecard
from bot.db.recording import add_scorecard
from bot.db.rescoring import scoring_state
from bot.db.transcripts import Transcript, get_transcript


def machine_scorecard(transcript: Transcript) -> Optional[Scorecard]:
    """The latest scorecard the machine made (current or not)."""
    machine = [s for s in transcript.scorecards if s.adjusted_from_id is None]
    return machine[-1] if machine else None


def overrulings(transcript: Transcript) -> List[Overruling]:
    """The trainers' latest verdicts that differ from the machine's, in reply order."""
    found: List[Overruling] = []
    for turn in transcript.turns:
        for check in turn.checks:
            o = transcript.override_for(turn, check)
            if o is not None and o.trainer_found != o.machine_found:
                found.append(Overruling(reviewer=o.reviewer.name, reason=o.reason, at=o.created_at.isoformat(),
                                        check=check, turn=turn.number, found=o.trainer_found))
    if transcript.outcome_overrides:
        o = transcript.outcome_overrides[-1]
        if o.outcome != transcript.session.outcome:
            found.append(Overruling(reviewer=o.reviewer.name, reason=o.reason, at=o.created_at.isoformat(),
                                    outcome=o.outcome))
    return found


def adjusted_score(transcript: Transcript) -> Optional[AdjustedScore]:
    """The trainer-adjusted score of a scored session, or None when no trainer verdict differs."""
    from bot.scoring import build_scorecard, load_rubric

    machine = machine_scorecard(transcript)
    if machine is None:
        return None
    notes = overrulings(transcript)
    overruled = overrulings_by_criterion(load_rubric(), notes, machine.criteria or {})
    if not overruled:
        return None
    rejudged = build_scorecard(scoring_state(transcript, apply_overrides=True))["criteria"]
    return adjust(
        machine={"score": machine.score, "passed": machine.passed, "pass_mark": machine.pass_mark,
                 "outcome": machine.outcome, "criteria": machine.criteria},
        rejudged=rejudged,
        overruled=overruled,
        outcome=transcript.outcome,
    )


def machine_scores_of(*, session: Session, session_ids: Sequence[str]) -> Dict[str, int]:
    """Session id -> the machine's score, for those of `session_ids` whose current scorecard is
    trainer-adjusted."""
    if not session_ids:
        return {}
    machine = aliased(Scorecard)
    rows = session.execute(
        select(Scorecard.session_id, machine.score)
        .join(machine, machine.id == Scorecard.adjusted_from_id)
        .where(Scorecard.is_current == true(), Scorecard.session_id.in_(list(session_ids)))
    )
    return {session_id: score for session_id, score in rows}


def refresh_adjusted_scorecard(*, session: Session, session_id: str) -> Optional[Scorecard]:
    """Make the session's current scorecard agree with the overrides; return it (None if unscored).

    Adds a scorecard only when the adjusted result differs from the current one, so saving the
    same verdict twice adds nothing.
    """
    transcript = get_transcript(session=session, session_id=session_id)
    if transcript is None:
        return None
    machine = machine_scorecard(transcript)
    if machine is None:
        return None
    current = transcript.scorecard
    result = adjusted_score(transcript)
    if result is None:
        if current is not None and current.id != machine.id:
            # Every overruling was taken back: the machine's scorecard stands again.
            _make_current(session, session_id, machine)
        return machine
    if (
        current is not None
        and current.adjusted_from_id == machine.id
        and (current.score, current.passed, _without_times(current.criteria))
        == (result.score, result.passed, _without_times(result.criteria))
    ):
        return current
    card = add_scorecard(
        session=session, session_id=session_id, score=result.score, passed=result.passed,
        criteria=result.criteria, rubric_version=machine.rubric_version, checks_version=machine.checks_version,
        outcome=result.outcome, pass_mark=result.pass_mark,
    )
    card.adjusted_from_id = machine.id
    session.flush()
    return card


def _without_times(criteria: Dict[str, Any]) -> Dict[str, Any]:
    """Criteria compared without when each overruling was saved: the same verdict and reason
    saved again is no news."""
    return {
        name: dict(c, overruled_by=[{k: v for k, v in o.items() if k != "at"} for o in c.get("overruled_by") or []])
        for name, c in (criteria or {}).items()
    }


def _make_current(session: Session, session_id: str, card: Scorecard) -> None:
    session.execute(
        update(Scorecard)
        .where(Scorecard.session_id == session_id, Scorecard.is_current == true())
        .values(is_current=False)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    card.is_current = True
    session.flush()
