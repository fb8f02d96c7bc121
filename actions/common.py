"""What every action does with an answer from `bot.conversation`."""
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import customer_memory, prepared_replies, recording, session_history
from bot.conversation import Answer, HeardLines

STATE_SLOT = "practice"


def current_state(tracker: Tracker):
    return tracker.get_slot(STATE_SLOT)


def heard_lines(tracker: Tracker) -> HeardLines:
    """What this conversation's trainee heard in earlier sessions (nothing when it has no owner)."""
    return heard_lines_of(tracker.sender_id)


def heard_lines_of(sender_id: str) -> HeardLines:
    def heard(scenario: str, persona: str, session_id):
        return customer_memory.heard_before(
            sender_id=sender_id, scenario=scenario, persona=persona, session_id=session_id
        )

    return heard


def utterances(messages: List[Dict[str, Any]]) -> List[Tuple[Optional[str], Optional[Dict[str, Any]]]]:
    """(text, payload) per bot message: a text and the payload right after it go as one.

    Rasa's channel still answers them as two messages, text first, but the tracker keeps one
    event for the pair instead of two, and every stored event is loaded again at each turn.
    """
    paired: List[Tuple[Optional[str], Optional[Dict[str, Any]]]] = []
    for message in messages:
        if "custom" in message and paired and paired[-1][0] is not None and paired[-1][1] is None:
            paired[-1] = (paired[-1][0], message["custom"])
        else:
            paired.append((message.get("text"), message.get("custom")))
    return paired


def send(answer: Answer, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[str, Any]]:
    """Store the session, send the answer, and keep in the tracker what the next turn needs."""
    storage_problem = recording.store(answer.state, sender_id=tracker.sender_id, scorecard=answer.scorecard)
    told = any(m.get("custom", {}).get("code") == "storage_unavailable" for m in answer.messages)
    for text, payload in utterances(answer.messages):
        dispatcher.utter_message(text=text, json_message=payload)
    if storage_problem and not told:
        dispatcher.utter_message(json_message={"type": "error", "code": "storage_unavailable", "message": storage_problem})
    # Stored turns leave the slot: it is saved and sent again on every turn (bot.session_history).
    slot = session_history.compact(answer.state)
    prepared_replies.remember(tracker.sender_id, slot)
    return [SlotSet(STATE_SLOT, slot)]
