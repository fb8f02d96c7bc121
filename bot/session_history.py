"""The turns of a practice session that have left the Rasa slot, read back from our database.

The `practice` slot travels with every Rasa turn: Rasa loads it, saves it as a new event and
sends it to the action server each time. Keeping every turn (text, checks with evidence and
tips) in it made a 12-turn conversation about 200 KB of tracker events and each turn slower
than the one before. So the slot keeps only what the next turn needs: `bot.recording` writes
each turn to our database as it happens, and `compact` then drops the stored turns from the
slot. A turn the database did not take (it was down) stays in the slot until it is stored.

Only the scorecard needs every turn: `with_all_turns` puts the stored ones back from the
database, and says so (HistoryUnavailable) when it cannot.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import CoachError

SCORECARD_PENDING = (
    "The conversation has ended. Its scorecard is worked out from the turns saved in the training "
    "records database, which is not answering right now. End the session again (/end_session) once "
    "it is back to see your scorecard; nothing you wrote is lost."
)


class HistoryUnavailable(CoachError):
    code = "storage_unavailable"


def _stored_count(state: Dict[str, Any]) -> int:
    return int(state.get("stored_turns") or 0)


def compact(state: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """`state` without the turns our database already holds (what goes back into the slot)."""
    if not state or not state.get("turns"):
        return state
    stored = _stored_count(state)
    pending = [turn for turn in state["turns"] if turn["turn"] > stored]
    if len(pending) == len(state["turns"]):
        return state
    return {**state, "turns": pending}


def missing_turns(state: Dict[str, Any]) -> List[int]:
    """Numbers of the stored turns that are not in `state` (dropped from the slot by `compact`)."""
    present = {turn["turn"] for turn in state.get("turns", [])}
    return [number for number in range(1, _stored_count(state) + 1) if number not in present]


def with_all_turns(state: Dict[str, Any], *, engine: Optional[Engine] = None) -> Dict[str, Any]:
    """`state` with every turn, the stored ones read back from our database.

    Raises HistoryUnavailable when the database does not answer or lacks a stored turn.
    """
    missing = missing_turns(state)
    if not missing:
        return state
    from bot import db, recording

    try:
        with db.session_scope(engine or recording.engine()) as session:
            transcript = db.get_transcript(session=session, session_id=state["session_id"])
            stored = db.scoring_state(transcript)["turns"] if transcript is not None else []
    except SQLAlchemyError as exc:
        raise HistoryUnavailable(SCORECARD_PENDING) from exc
    found = {turn["turn"]: turn for turn in stored if turn["turn"] in set(missing)}
    if len(found) != len(missing):
        lost = sorted(set(missing) - set(found))
        raise HistoryUnavailable(
            f"Turns {lost} of session {state['session_id']} are neither in the conversation nor in the "
            "training records database, so no scorecard can be worked out."
        )
    turns = sorted([*found.values(), *state.get("turns", [])], key=lambda turn: turn["turn"])
    return {**state, "turns": turns}
