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

Each turn Rasa retrieves the tracker, handles the message and saves the same tracker object,
under the conversation's lock. Rasa's save counted the stored events again (a query) to know
which are new, and blanking the last value of the state slot needed another query to find its
row. The rows read by `retrieve` already say both: how many events are stored and which row
holds each state slot's last value. They are kept on the tracker (`_Stored`) and used by
`save`, which writes the new events in one statement; a tracker this store did not retrieve
(a new conversation, a full tracker across sessions) is saved with the queries, as before.

Reading the rows back as events (JSON, then Rasa's event classes) was most of `retrieve` and grew
with the conversation, though only a turn's few new rows had not been read before. Rows are
kept parsed by row id (`_read_rows`) and parsed again only when their data changed (the blanked
state slot value above, or rows written by hand); trackers read later share those event objects,
which Rasa does not change once they are stored (a replay sets on a user message the same
featurization flag each time).
"""
from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

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


# Stored events kept parsed, by row id (`_read_rows`): about 2.3 KB each (the row's text, its
# dict and its event; measured with tracemalloc), so about 18 MB for 8,000 rows, over a hundred
# 12-turn conversations of about 73 events: two classes of 50 trainees at once.
ROWS_KEPT = 8_000

# The attribute of a retrieved tracker that keeps what `retrieve` read (see the module's doc).
STORED_ATTRIBUTE = "_coach_stored"


@dataclass(frozen=True)
class _Stored:
    sender_id: str
    # Events of the latest session in the store when the tracker was read.
    count: int
    # State slot name -> (row id, stored event data) of its last stored `slot` event; a slot
    # missing here is looked up with a query (its last row may be in an earlier session).
    last_slot_rows: Dict[str, Tuple[int, Dict[str, Any]]]


class CompactSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore writing events through `compact_event`, keeping one value of state slots."""

    def _state_slots(self) -> FrozenSet[str]:
        slots = self.domain.slots if self.domain else []
        return frozenset(slot.name for slot in slots if not slot.influence_conversation)

    def _latest_session_query(self, session: Any, sender_id: str) -> Any:
        """Rasa's query for the events of the latest session (SQLTrackerStore._event_query),
        built from the table once: building the ORM query on every turn cost more than running it."""
        statement = getattr(self, "_latest_session_statement", None)
        if statement is None:
            events = self.SQLEvent.__table__
            start = (
                sa.select(sa.func.max(events.c.timestamp))
                .where(events.c.sender_id == sa.bindparam("sender_id"), events.c.type_name == "session_started")
                .scalar_subquery()
            )
            statement = (
                sa.select(events.c.id, events.c.type_name, events.c.action_name, events.c.data)
                .where(events.c.sender_id == sa.bindparam("sender_id"), sa.or_(events.c.timestamp >= start, start.is_(None)))
                .order_by(events.c.id)
            )
            self._latest_session_statement = statement
        return session.execute(statement, {"sender_id": sender_id}).all()

    def _read_rows(self, rows: List[Any]) -> Tuple[List[Dict[str, Any]], List[Any]]:
        """Each row's event data and event, from `_read` when the row's data is as it was then."""
        read = getattr(self, "_read", None)
        if read is None:
            read = self._read = OrderedDict()
        datas, events = [], []
        for row in rows:
            known = read.get(row.id)
            if known is None or known[0] != row.data:
                data = json.loads(row.data)
                event = Event.from_parameters(data) if "event" in data else None
                known = read[row.id] = (row.data, data, event)
            else:
                read.move_to_end(row.id)
            datas.append(known[1])
            if known[2] is not None:
                events.append(known[2])
        while len(read) > ROWS_KEPT:
            read.popitem(last=False)
        return datas, events

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        if fetch_events_from_all_sessions:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            rows = self._latest_session_query(session, sender_id)
        datas, events = self._read_rows(rows)
        if not (self.domain and datas):
            return None
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        state_slots = self._state_slots()
        last_slot_rows = {
            row.action_name: (row.id, data)
            for row, data in zip(rows, datas)
            if row.type_name == "slot" and row.action_name in state_slots
        }
        setattr(tracker, STORED_ATTRIBUTE, _Stored(sender_id, len(rows), last_slot_rows))
        return tracker

    @staticmethod
    def _stored(tracker: Any) -> Optional[_Stored]:
        stored = getattr(tracker, STORED_ATTRIBUTE, None)
        if isinstance(stored, _Stored) and stored.sender_id == tracker.sender_id and stored.count <= len(tracker.events):
            return stored
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """SQLTrackerStore.save, with the new events known from `retrieve` and written in one statement."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = [
                {
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                }
                for event in self._additional_events(session, tracker)
                for data in (event.as_dict(),)
            ]
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
        # Saved again (Rasa saves a new tracker at once, then after the turn): the count goes on.
        setattr(tracker, STORED_ATTRIBUTE, _Stored(tracker.sender_id, len(tracker.events), {}))

    def _additional_events(self, session: Any, tracker: Any) -> Iterator:
        # Called by save() within its transaction, before the new events are added.
        stored = self._stored(tracker)
        if stored is not None:
            fresh: List[Any] = list(itertools.islice(tracker.events, stored.count, len(tracker.events)))
        else:
            fresh = list(super()._additional_events(session, tracker))
        new = [_Compacted(event) for event in fresh]
        reset = {e.as_dict().get("name") for e in new if e.type_name == "slot"} & self._state_slots()
        if reset:
            self._drop_earlier_values(session, tracker.sender_id, reset, known=stored.last_slot_rows if stored else {})
        return iter(new)

    def _drop_earlier_values(
        self, session: Any, sender_id: str, slots: set, known: Optional[Dict[str, Tuple[int, Dict[str, Any]]]] = None
    ) -> None:
        """Blank the value of the last stored `slot` event of each of `slots`.

        Only the last one can still hold a value: every earlier one was blanked when the next
        was stored. SQLTrackerStore keeps a slot event's slot name as its action_name. `known`:
        rows read by `retrieve`, which need no query.
        """
        table = self.SQLEvent.__table__
        for name in sorted(slots):
            if name in (known or {}):
                row_id, data = known[name]
            else:
                row = session.execute(
                    sa.select(table.c.id, table.c.data)
                    .where(table.c.sender_id == sender_id, table.c.type_name == "slot", table.c.action_name == name)
                    .order_by(table.c.id.desc())
                    .limit(1)
                ).first()
                if row is None:
                    continue
                row_id, data = row.id, json.loads(row.data)
            if data.get("value") is not None:
                session.execute(table.update().where(table.c.id == row_id).values(data=json.dumps({**data, "value": None})))
