from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import current_state, heard_lines, send
from bot import conversation, prepared_replies
from bot.text_input import clean_text


class ActionCustomerReply(Action):
    def name(self) -> str:
        return "action_customer_reply"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        text = tracker.latest_message.get("text")
        # Our Rasa channel cleans text already; this guards other ways in (a lone surrogate
        # would fail the answer's UTF-8 encoding and leave the trainee with no answer).
        text = clean_text(text) if isinstance(text, str) else None
        state = current_state(tracker)
        # Worked out while Rasa read the message (bot.prepared_replies), if from this very state.
        answer = prepared_replies.take(tracker.sender_id, tracker.latest_message.get("message_id"), text, state)
        if answer is None:
            answer = conversation.reply(state, text, heard=heard_lines(tracker))
        return send(answer, dispatcher, tracker)
