from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import current_state, send
from bot import conversation


class ActionEndSession(Action):
    def name(self) -> str:
        return "action_end_session"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        return send(conversation.end(current_state(tracker)), dispatcher, tracker)
