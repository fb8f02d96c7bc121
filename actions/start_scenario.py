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
        return send(conversation.start(current_state(tracker), choices, heard=heard_lines(tracker)), dispatcher, tracker)
