"""Store each practice session in our database as it happens, for trainers and HR.

Called after every action with the session state. What the state holds and the database does
not yet (the start, new turns, the end and its scorecard) is written, each turn committed on its
own; `stored_turns` in the state remembers how far it got. When the database is down nothing is
lost: the state keeps every turn not yet stored (in Rasa's tracker store), and the next call
catches up.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Dict, Optional

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot import db
from bot.db import scenario_store
from bot.checks.version import CHECKS_VERSION
from bot.scoring import build_scorecard, load_rubric
from bot.session_history import HistoryUnavailable, with_all_turns

logger = logging.getLogger(__name__)


@lru_cache(maxsize=None)
def engine() -> Engine:
    return db.make_engine()


def store(state: Optional[Dict[str, Any]], *, sender_id: str) -> Optional[str]:
    """Write what is new in `state`; return a message for the trainee if storage failed."""
    if not state:
        return None
    try:
        _store(engine(), state, sender_id=sender_id)
    except (SQLAlchemyError, HistoryUnavailable) as exc:
        logger.error("Could not store session %s: %s", state.get("session_id"), exc)
        return (
            "Your conversation goes on, but the training records database is not answering, so your "
            "trainer cannot see this session yet. It will be saved as soon as the database is back."
        )
    return None


def _store(bind: Engine, state: Dict[str, Any], *, sender_id: str) -> None:
    session_id = state["session_id"]
    rubric_version = load_rubric().version
    if not state.get("stored_start"):
        with db.session_scope(bind, write=True) as session:
            db.record_session_start(
                session=session, session_id=session_id, sender_id=sender_id, scenario=state["scenario"],
                persona=state["persona"], mode=state["mode"], start_mood=state["mood_curve"][0],
                opening=state["turns"][0]["customer"] if state["turns"] else state["last_customer_text"],
            )
            scenario_store.record_played_version(
                session=session, session_id=session_id, version=state.get("scenario_version")
            )
        state["stored_start"] = True
    # The state holds every turn, or (read back from the slot) only those not stored yet.
    for turn in [t for t in state["turns"] if t["turn"] > state.get("stored_turns", 0)]:
        with db.session_scope(bind, write=True) as session:
            db.record_turn(
                session=session, session_id=session_id, number=turn["turn"], trainee_text=turn["reply"],
                customer_text=turn["answer"], checks=turn["checks"], checks_version=CHECKS_VERSION,
                mood=turn["mood"], mood_change=turn["mood"] - state["mood_curve"][turn["turn"] - 1],
                rubric_version=rubric_version,
            )
        state["stored_turns"] = turn["turn"]
    if state.get("outcome") and not state.get("stored_end"):
        card = build_scorecard(with_all_turns(state, engine=bind))
        with db.session_scope(bind, write=True) as session:
            # Already ended and scored (closed as idle by the web app, or a retried call): that
            # end and scorecard stand; a second scorecard of the same end would only repeat it.
            scored = db.get_current_scorecard(session=session, session_id=session_id) is not None
            db.record_session_end(
                session=session, session_id=session_id, outcome=state["outcome"], mood_curve=state["mood_curve"]
            )
            if not scored:
                db.add_scorecard(
                    session=session, session_id=session_id, score=card["score"], passed=card["passed"],
                    criteria=card["criteria"], rubric_version=card["rubric_version"], checks_version=CHECKS_VERSION,
                    outcome=card["outcome"], pass_mark=card["pass_mark"],
                )
        state["stored_end"] = True
