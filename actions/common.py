"""What every action does with an answer from `bot.conversation`."""
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.conversation import Answer

STATE_SLOT = "practice"


def current_state(tracker: Tracker):
    return tracker.get_slot(STATE_SLOT)


def send(answer: Answer, dispatcher: CollectingDispatcher) -> List[Dict[str, Any]]:
    for message in answer.messages:
        if "text" in message:
            dispatcher.utter_message(text=message["text"])
        else:
            dispatcher.utter_message(json_message=message["custom"])
    return [SlotSet(STATE_SLOT, answer.state)]
