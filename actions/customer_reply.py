from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import current_state, heard_lines, send
from bot import conversation


class ActionCustomerReply(Action):
    def name(self) -> str:
        return "action_customer_reply"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        text = tracker.latest_message.get("text")
        return send(conversation.reply(current_state(tracker), text, heard=heard_lines(tracker)), dispatcher, tracker)
