from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import current_state, heard_lines, send
from bot import conversation


class ActionStartScenario(Action):
    def name(self) -> str:
        return "action_start_scenario"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        choices = {key: next(tracker.get_latest_entity_values(key), None) for key in ("scenario", "persona", "mode")}
        # Our Rasa channel lets only strings through; a client reaching Rasa some other way
        # ({"scenario": {"$ne": 1}}) gets an error, not a crash.
        odd = sorted(key for key, value in choices.items() if value is not None and not isinstance(value, str))
        if odd:
            message = f"{', '.join(odd)} must be a text, e.g. \"scenario\": \"laptop_at_home_service\"."
            return send(conversation.error("bad_choice", message, current_state(tracker)), dispatcher, tracker)
        return send(conversation.start(current_state(tracker), choices, heard=heard_lines(tracker)), dispatcher, tracker)
