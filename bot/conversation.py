"""The conversation protocol, independent of Rasa: what each message gets as an answer.

Each handler takes the session state kept in the Rasa slot (or None) and returns the messages
to send, as Rasa's REST channel shows them ({"text": ...} or {"custom": {...}}), and the new
state. The slot holds only the turns not yet in our database (bot.session_history); the
scorecard reads the others back. Every bad input gets an error payload, never silence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Dict, List, Mapping, Optional

from bot import simulation
from bot.coaching import coach_turn
from bot.errors import CoachError
from bot.scenarios import PERSONAS, get_scenario
from bot.scoring import build_scorecard
from bot.session_history import HistoryUnavailable, with_all_turns
from bot.settings import load_settings


@dataclass
class Answer:
    messages: List[Dict[str, Any]] = field(default_factory=list)
    state: Optional[Dict[str, Any]] = None
    # The scorecard among the messages, if any: bot.recording stores this one.
    scorecard: Optional[Dict[str, Any]] = None

    def text(self, text: str) -> "Answer":
        self.messages.append({"text": text})
        return self

    def custom(self, payload: Dict[str, Any]) -> "Answer":
        self.messages.append({"custom": payload})
        return self


# What this conversation's trainee heard in earlier sessions of a scenario, as part ids
# (bot/customer_voice.py): called with (scenario id, persona, the running session's id or None).
HeardLines = Callable[[str, str, Optional[str]], Collection[str]]


def error(code: str, message: str, state: Optional[Dict[str, Any]] = None) -> Answer:
    return Answer(state=state).custom({"type": "error", "code": code, "message": message})


def start(
    state: Optional[Dict[str, Any]], choices: Mapping[str, Optional[str]], *, heard: Optional[HeardLines] = None
) -> Answer:
    """`/start_scenario{...}`: a new session replaces any previous one of this sender."""
    scenario_id, persona = choices.get("scenario"), choices.get("persona") or "angry"
    try:
        earlier = heard(get_scenario(scenario_id).id, persona, None) if heard and persona in PERSONAS else ()
    except CoachError:
        earlier = ()  # start_session explains the bad choice below
    try:
        new_state = simulation.start_session(scenario_id, choices.get("persona"), choices.get("mode"), heard=earlier)
    except CoachError as exc:
        # Keep the previous session: a typo in a scenario id must not lose a conversation.
        return error(exc.code, str(exc), state)
    scenario = get_scenario(new_state["scenario"])
    return (
        Answer(state=new_state)
        .text(simulation.opening_text(new_state))
        .custom(
            {
                "type": "session_started",
                "session_id": new_state["session_id"],
                "scenario": scenario.id,
                "title": scenario.title,
                "persona": new_state["persona"],
                "mode": new_state["mode"],
                "customer_name": scenario.customer.name,
                "mood": new_state["mood"],
                "turn_limit": scenario.turn_limit,
            }
        )
    )


def reply(state: Optional[Dict[str, Any]], text: Optional[str], *, heard: Optional[HeardLines] = None) -> Answer:
    """Any other message: the trainee's reply to the customer."""
    if not state:
        return error(
            "no_session",
            'No practice session is running. Start one with /start_scenario{"scenario": "<id>", '
            '"persona": "angry", "mode": "coach"}.',
        )
    if state.get("outcome"):
        return error(
            "session_over",
            f"This session has ended ({state['outcome']}). Start a new one with /start_scenario.",
            state,
        )
    try:
        earlier = heard(state["scenario"], state["persona"], state["session_id"]) if heard else ()
        result = simulation.take_turn(state, text or "", max_chars=load_settings().max_message_chars, heard=earlier)
    except CoachError as exc:
        return error(exc.code, str(exc), state)
    # Coached in both modes: the stored turn keeps the tips a trainer reviews later.
    coached = coach_turn(state)
    feedback = {
        "type": "feedback",
        "turn": result.feedback["turn"],
        "focus": coached["focus"],
        "praise": coached["praise"],
        "checks": coached["checks"],
        "mood": result.feedback["mood"],
        "mood_change": result.feedback["mood_change"],
    }
    answer = Answer(state=state).text(result.customer_text)
    if state["mode"] == "coach":
        answer.custom(feedback)
    if result.ended:
        _add_scorecard(answer, state)
    return answer


def end(state: Optional[Dict[str, Any]]) -> Answer:
    """`/end_session`: the trainee stops; the scorecard says so. Repeating it is harmless.

    After the customer accepted the plan, ending without a closing reply still counts as resolved.
    """
    if not state:
        return error("no_session", "No practice session is running, so there is nothing to end.")
    if not state.get("outcome"):
        state["outcome"] = "resolved" if state.get("accepted") else "abandoned"
    return _add_scorecard(Answer(state=state), state)


def _add_scorecard(answer: Answer, state: Dict[str, Any]) -> Answer:
    """The scorecard, over every turn: those no longer in the slot come back from our database.

    When the database is down the session has still ended; the scorecard waits until it is
    back, and `/end_session` then shows it (see bot.session_history).
    """
    try:
        complete = with_all_turns(state)
    except HistoryUnavailable as exc:
        return answer.custom({"type": "error", "code": exc.code, "message": str(exc)})
    answer.scorecard = build_scorecard(complete)
    return answer.custom(answer.scorecard)
