"""Score stored transcripts again after the rubric or the checks changed.

The old scorecards stay beside the new ones (bot.db.rescore_sessions), so a trainer can see
what a change of rubric or checks did to each session. With `recheck`, every stored reply is
judged again by the current checks, against the customer message it answered; the
conversation-level broken_promise verdict is kept as stored.
"""
from __future__ import annotations

from typing import Any, Dict, List

from sqlalchemy.engine import Engine

from bot import db
from bot.checks import assess_reply
from bot.checks.version import CHECKS_VERSION
from bot.scenarios import scenario_of
from bot.scoring import build_scorecard, load_rubric

KEPT_AS_STORED = ("broken_promise",)


def recheck(state: Dict[str, Any]) -> Dict[str, Any]:
    """`state` with each turn's checks run again by the current checks."""
    scenario = scenario_of(state)
    before = state.get("opening") or ""
    for turn in state["turns"]:
        fresh = assess_reply(
            turn["reply"], customer_message=before, customer_name=scenario.customer.name,
            facts=scenario.fact_texts(), jargon_terms=scenario.jargon, max_chars=10**6,
        )
        for name in KEPT_AS_STORED:
            if name in turn["checks"]:
                fresh[name] = turn["checks"][name]
        turn["checks"] = fresh
        before = turn["answer"] or ""
    return state


def rescore(engine: Engine, *, recheck_replies: bool = False, apply_overrides: bool = False, force: bool = False) -> List[str]:
    """Add a current scorecard to every ended session not yet scored with this rubric and checks version."""
    rubric = load_rubric()

    def score(state: Dict[str, Any]) -> Dict[str, Any]:
        return build_scorecard(recheck(state) if recheck_replies else state)

    with db.session_scope(engine) as session:
        added = db.rescore_sessions(
            session=session, score_fn=score, rubric_version=rubric.version, checks_version=str(CHECKS_VERSION),
            apply_overrides=apply_overrides, force=force,
        )
        if not apply_overrides:
            # A new machine scorecard replaces a trainer-adjusted one: adjust the new one too.
            from bot.db.adjusted import refresh_adjusted_scorecard

            for card in added:
                refresh_adjusted_scorecard(session=session, session_id=card.session_id)
        return [card.session_id for card in added]
