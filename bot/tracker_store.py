"""Rasa's SQL tracker store, keeping what the dialogue needs rather than copies of our records.

Rasa loads every event of a conversation from this store on every turn, replays them and sends
them all to the action server, so each stored byte is paid for again at every later turn. Two
kinds of event carried most of a 12-turn conversation's 80 KB without Rasa ever reading it:

- a bot message's custom payload (and its empty buttons, images ...): the feedback (every check with its evidence and tip, the
  focus and praise) and the scorecard. The trainee got the whole payload in the REST answer
  and our database keeps it (turns with their checks and coaching, scorecards), so the store
  keeps only its scalar fields (type, turn, mood, score, passed, ...);
- a user message's parse data: the confidence of every intent, token offsets and a second copy
  of the text. The store keeps the intent and the entities, which is what the policies read
  (Rasa puts the text, message id and metadata back from the event's own fields);
- every earlier value of the `practice` slot, the session state the actions keep (about 2 KB
  at the end): a slot that does not influence the conversation is never featurized for past
  turns, so Rasa only ever reads its current value, the last one set. When a new value is
  stored, the earlier `slot` events of that slot stay in place (the event count is how Rasa
  tells new events from stored ones) with their value dropped.

Rasa's in-memory tracker of the running turn is untouched: only what is written changes. Used
through endpoints.yml (`type: bot.tracker_store.CompactSQLTrackerStore`), with SQLite or
PostgreSQL as Rasa's own `SQL` store.
"""
from __future__ import annotations

import json
from typing import Any, Dict, FrozenSet, Iterator

from rasa.core.tracker_store import SQLTrackerStore

# What a user message's parse data keeps: UserUttered fills in text, message id and metadata.
PARSE_DATA_KEPT = ("intent", "entities")


def _scalars(payload: Dict[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in payload.items() if value is None or isinstance(value, (str, int, float, bool))}


def compact_event(data: Dict[str, Any]) -> Dict[str, Any]:
    """The event dict (Event.as_dict()) as this store writes it."""
    kind = data.get("event")
    if kind == "bot" and isinstance(data.get("data"), dict):
        # Buttons, images and the like are None here; BotUttered reads missing ones as None.
        message = {key: value for key, value in data["data"].items() if value is not None}
        if isinstance(message.get("custom"), dict):
            message["custom"] = _scalars(message["custom"])
        return {**data, "data": message}
    if kind == "user" and isinstance(data.get("parse_data"), dict):
        parse_data = data["parse_data"]
        return {**data, "parse_data": {key: parse_data[key] for key in PARSE_DATA_KEPT if key in parse_data}}
    return data


class _Compacted:
    """An event as SQLTrackerStore.save writes it: it reads `type_name` and `as_dict()`."""

    def __init__(self, event: Any) -> None:
        self.type_name = event.type_name
        self._data = compact_event(event.as_dict())

    def as_dict(self) -> Dict[str, Any]:
        return self._data


class CompactSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore writing events through `compact_event`, keeping one value of state slots."""

    def _state_slots(self) -> FrozenSet[str]:
        slots = self.domain.slots if self.domain else []
        return frozenset(slot.name for slot in slots if not slot.influence_conversation)

    def _additional_events(self, session: Any, tracker: Any) -> Iterator:
        # Called by save() within its transaction, before the new events are added.
        new = [_Compacted(event) for event in super()._additional_events(session, tracker)]
        reset = {e.as_dict().get("name") for e in new if e.type_name == "slot"} & self._state_slots()
        if reset:
            self._drop_earlier_values(session, tracker.sender_id, reset)
        return iter(new)

    def _drop_earlier_values(self, session: Any, sender_id: str, slots: set) -> None:
        """Blank the value of the last stored `slot` event of each of `slots`.

        Only the last one can still hold a value: every earlier one was blanked when the next
        was stored. SQLTrackerStore keeps a slot event's slot name as its action_name.
        """
        for name in sorted(slots):
            row = (
                session.query(self.SQLEvent)
                .filter(self.SQLEvent.sender_id == sender_id, self.SQLEvent.type_name == "slot",
                        self.SQLEvent.action_name == name)
                .order_by(self.SQLEvent.id.desc())
                .first()
            )
            data = json.loads(row.data) if row is not None else {}
            if data.get("value") is not None:
                row.data = json.dumps({**data, "value": None})
