"""What Rasa sends our action server on each call: the running turn's events, not the conversation's.

Rasa 3.6 sends the whole tracker with every action call: every event of the conversation turned
into dicts, written as JSON and read again by the action server, about 23 KB at the last turn of
a 12-turn session. That work grew with the conversation (about 1 ms a call from turn 2 to turn
11 on these machines), and our actions never read it: they read the state slot, the latest
message and the sender (actions/), all of which the tracker carries beside its events.

With `tracker_events: latest_turn` under `action_endpoint` in endpoints.yml, the tracker sent
keeps its slots, latest message, active loop and latest action as Rasa has them, and only the
events from the trainee's latest message on. Without that setting, or on another Rasa version,
Rasa sends the whole tracker as before. An action that reads earlier events (rasa_sdk's forms
do) needs the setting removed.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Tuple

logger = logging.getLogger(__name__)

SETTING = "tracker_events"
LATEST_TURN = "latest_turn"


def latest_turn(events: Any) -> List[Any]:
    """The events from the last user message on; all of them when there is none."""
    from rasa.shared.core.events import UserUttered

    ordered = list(events)
    for index in range(len(ordered) - 1, -1, -1):
        if isinstance(ordered[index], UserUttered):
            return ordered[index:]
    return ordered


def install_latest_turn_events(patched_for: Tuple[str, ...]) -> bool:
    """Let RemoteAction._action_call_format honour `tracker_events: latest_turn`; False where it was not checked."""
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.trackers import EventVerbosity

    version = getattr(rasa, "__version__", "unknown")
    original = getattr(RemoteAction, "_action_call_format", None)
    if getattr(original, "latest_turn", False):
        return True
    if version not in patched_for or original is None:
        logger.warning("Rasa %s: action calls carry every event of the conversation.", version)
        return False

    def _action_call_format(self: Any, tracker: Any, domain: Any) -> Dict[str, Any]:
        endpoint = getattr(self, "action_endpoint", None)
        if endpoint is None or endpoint.kwargs.get(SETTING) != LATEST_TURN:
            return original(self, tracker, domain)
        # Rasa's own body, with the events of the latest turn instead of EventVerbosity.ALL.
        tracker_state = tracker.current_state(EventVerbosity.NONE)
        tracker_state["events"] = [event.as_dict() for event in latest_turn(tracker.events)]
        result = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": tracker_state,
            "version": rasa.__version__,
        }
        if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
            result["domain"] = domain.as_dict()
        return result

    _action_call_format.latest_turn = True  # type: ignore[attr-defined]
    RemoteAction._action_call_format = _action_call_format
    return True
