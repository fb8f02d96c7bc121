"""The yardstick for `make bench`: the same action names answering at once with no work."""
from abc import ABC, abstractmethod
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class _NoOp(Action, ABC):
    # rasa_sdk registers every Action subclass that inspect.isabstract() does not exclude.
    @abstractmethod
    def name(self) -> str:
        ...

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        dispatcher.utter_message(text="ok")
        return []


class NoOpStart(_NoOp):
    def name(self) -> str:
        return "action_start_scenario"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        # The web app keeps a conversation only once it has seen the session start.
        dispatcher.utter_message(text="ok")
        dispatcher.utter_message(json_message={"type": "session_started", "session_id": "no-op"})
        return []


class NoOpReply(_NoOp):
    def name(self) -> str:
        return "action_customer_reply"


class NoOpEnd(_NoOp):
    def name(self) -> str:
        return "action_end_session"
