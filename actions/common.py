"""What every action does with an answer from `bot.conversation`."""
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import customer_memory, recording, session_history
from bot.conversation import Answer, HeardLines

STATE_SLOT = "practice"


def current_state(tracker: Tracker):
    return tracker.get_slot(STATE_SLOT)


def heard_lines(tracker: Tracker) -> HeardLines:
    """What this conversation's trainee heard in earlier sessions (nothing when it has no owner)."""

    def heard(scenario: str, persona: str, session_id):
        return customer_memory.heard_before(
            sender_id=tracker.sender_id, scenario=scenario, persona=persona, session_id=session_id
        )

    return heard


def send(answer: Answer, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[str, Any]]:
    """Store the session, send the answer, and keep in the tracker what the next turn needs."""
    storage_problem = recording.store(answer.state, sender_id=tracker.sender_id)
    told = False
    for message in answer.messages:
        if "text" in message:
            dispatcher.utter_message(text=message["text"])
        else:
            dispatcher.utter_message(json_message=message["custom"])
            told = told or message["custom"].get("code") == "storage_unavailable"
    if storage_problem and not told:
        dispatcher.utter_message(json_message={"type": "error", "code": "storage_unavailable", "message": storage_problem})
    # Stored turns leave the slot: it is saved and sent again on every turn (bot.session_history).
    return [SlotSet(STATE_SLOT, session_history.compact(answer.state))]
