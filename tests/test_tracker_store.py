"""Rasa's tracker store as endpoints.yml configures it: less written, the same dialogue read back."""
import asyncio
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import yaml

from bot.settings import PROJECT_ROOT
from bot.tracker_store import CompactSQLTrackerStore, compact_event

FEEDBACK = {
    "type": "feedback", "turn": 3, "mood": 53, "mood_change": 19,
    "focus": {"check": "next_step", "tip": "Say what you will do and by when.", "example": "I'll call you by 5 pm."},
    "praise": [{"check": "apology", "text": "You apologized.", "evidence": ["I'm really sorry"]}],
    "checks": {"apology": {"found": True, "evidence": ["I'm really sorry"], "tip": None}},
}
PARSE_DATA = {
    "intent": {"name": "apologize", "confidence": 0.93},
    "entities": [],
    "text": "I'm really sorry about that.",
    "message_id": "m1",
    "metadata": {},
    "text_tokens": [[0, 3], [4, 10]],
    "intent_ranking": [{"name": "apologize", "confidence": 0.93}, {"name": "thank", "confidence": 0.05}],
}


def _run(coroutine):
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one
    # when the browser tests ran first, and asyncio.run refuses to start a second.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _store(tmp_path):
    from rasa.shared.core.domain import Domain

    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    return CompactSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "tracker.db")), domain


def _tracker(domain):
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker("trainee-1", domain.slots)
    tracker.update_with_events(
        [
            ActionExecuted("action_listen"),
            UserUttered("I'm really sorry about that.", PARSE_DATA["intent"], [], parse_data=dict(PARSE_DATA)),
            ActionExecuted("action_customer_reply"),
            BotUttered("Fine. So when is someone coming?", {"custom": FEEDBACK}),
            SlotSet("practice", {"session_id": "s1", "turn": 3, "mood": 53}),
            ActionExecuted("action_listen"),
        ],
        domain,
    )
    return tracker


def test_bot_payloads_keep_their_scalar_fields_and_user_messages_their_intent(tmp_path):
    store, domain = _store(tmp_path)
    _run(store.save(_tracker(domain)))
    with sqlite3.connect(tmp_path / "tracker.db") as connection:
        rows = {kind: json.loads(data) for kind, data in connection.execute("SELECT type_name, data FROM events")}
    assert rows["bot"]["data"] == {"custom": {"type": "feedback", "turn": 3, "mood": 53, "mood_change": 19}}
    assert rows["bot"]["text"] == "Fine. So when is someone coming?"
    assert rows["user"]["parse_data"] == {"intent": {"name": "apologize", "confidence": 0.93}, "entities": []}
    assert rows["user"]["text"] == "I'm really sorry about that."
    assert rows["slot"]["value"] == {"session_id": "s1", "turn": 3, "mood": 53}

    tracker = _run(store.retrieve("trainee-1"))
    assert tracker.get_slot("practice") == {"session_id": "s1", "turn": 3, "mood": 53}
    assert tracker.latest_message.intent["name"] == "apologize"
    assert tracker.latest_message.text == "I'm really sorry about that."
    assert tracker.latest_message.parse_data["text"] == "I'm really sorry about that."
    bot = [e for e in tracker.events if e.type_name == "bot"][-1]
    assert bot.message()["custom"] == {"type": "feedback", "turn": 3, "mood": 53, "mood_change": 19}
    assert [e.type_name for e in tracker.events][-3:] == ["bot", "slot", "action"]


def test_only_new_events_are_written_when_the_tracker_is_saved_again(tmp_path):
    from rasa.shared.core.events import ActionExecuted, BotUttered

    store, domain = _store(tmp_path)
    tracker = _tracker(domain)
    _run(store.save(tracker))
    tracker.update_with_events([ActionExecuted("action_customer_reply"), BotUttered("And?")], domain)
    _run(store.save(tracker))
    with sqlite3.connect(tmp_path / "tracker.db") as connection:
        kinds = [kind for (kind,) in connection.execute("SELECT type_name FROM events ORDER BY id")]
    assert kinds == ["action", "user", "action", "bot", "slot", "action", "action", "bot"]


def test_other_events_and_small_payloads_are_written_as_they_are():
    error = {"event": "bot", "text": None, "data": {"custom": {"type": "error", "code": "no_session", "message": "x"}}}
    # An error payload has only scalar fields: written whole.
    assert compact_event(error) == error
    slot = {"event": "slot", "name": "practice", "value": {"turns": [{"turn": 1}]}}
    assert compact_event(slot) == slot
    plain = {"event": "bot", "text": "Hello.", "data": {"custom": None, "buttons": None}}
    assert compact_event(plain) == {"event": "bot", "text": "Hello.", "data": {}}


def test_endpoints_yml_gives_rasa_this_store(tmp_path):
    # Rasa falls back to an in-memory store, with only a warning, when it cannot load the class.
    from rasa.core.tracker_store import create_tracker_store
    from rasa.utils.endpoints import EndpointConfig

    config = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))["tracker_store"]
    config["db"] = str(tmp_path / "tracker.db")
    assert isinstance(create_tracker_store(EndpointConfig.from_dict(config)), CompactSQLTrackerStore)


def test_earlier_values_of_the_state_slot_are_dropped_and_the_last_one_read_back(tmp_path):
    from rasa.shared.core.events import ActionExecuted, SlotSet

    store, domain = _store(tmp_path)
    tracker = _tracker(domain)
    _run(store.save(tracker))
    for turn in (4, 5):
        tracker.update_with_events(
            [ActionExecuted("action_customer_reply"), SlotSet("practice", {"session_id": "s1", "turn": turn, "mood": 60})],
            domain,
        )
        _run(store.save(tracker))
    with sqlite3.connect(tmp_path / "tracker.db") as connection:
        values = [json.loads(data)["value"] for (data,) in
                  connection.execute("SELECT data FROM events WHERE type_name = 'slot' ORDER BY id")]
        count = connection.execute("SELECT count(*) FROM events").fetchone()[0]
    assert values == [None, None, {"session_id": "s1", "turn": 5, "mood": 60}]
    assert count == len(tracker.events)
    again = _run(store.retrieve("trainee-1"))
    assert again.get_slot("practice") == {"session_id": "s1", "turn": 5, "mood": 60}
    assert len(again.events) == len(tracker.events)


def _rows(path):
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"
        ).fetchall()


def _timeless(rows):
    """The rows without the moments the events were made (the two stores ran at different times)."""
    return [(*row[:2], *row[3:5], {k: v for k, v in json.loads(row[5]).items() if k != "timestamp"}) for row in rows]


def _turns_through_retrieve(store, domain, *, forget_what_was_read):
    """Three turns as Rasa plays them: retrieve, add the turn's events, save the same tracker."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    from bot.tracker_store import STORED_ATTRIBUTE

    _run(store.save(_tracker(domain)))
    for turn in (4, 5, 6):
        tracker = _run(store.retrieve("trainee-1"))
        if forget_what_was_read:
            delattr(tracker, STORED_ATTRIBUTE)
        tracker.update_with_events(
            [
                UserUttered("And?", PARSE_DATA["intent"], [], parse_data=dict(PARSE_DATA)),
                ActionExecuted("action_customer_reply"),
                BotUttered("Well.", {"custom": FEEDBACK}),
                SlotSet("practice", {"session_id": "s1", "turn": turn}),
                ActionExecuted("action_listen"),
            ],
            domain,
        )
        _run(store.save(tracker))
        _run(store.save(tracker))  # saved twice, as Rasa does with a new tracker: nothing written twice


def test_what_retrieve_read_replaces_the_queries_with_the_same_rows_written(tmp_path):
    # Rasa counted the stored events and looked the state slot's last row up on every save; the
    # rows retrieve read say the same, and the store must write exactly what the queries gave.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fast, domain = _store(tmp_path / "a")
    slow, _ = _store(tmp_path / "b")
    _turns_through_retrieve(fast, domain, forget_what_was_read=False)
    _turns_through_retrieve(slow, domain, forget_what_was_read=True)
    written, queried = _rows(tmp_path / "a" / "tracker.db"), _rows(tmp_path / "b" / "tracker.db")
    assert _timeless(written) == _timeless(queried)
    assert len(written) == 6 + 3 * 5
    values = [json.loads(row[5])["value"] for row in written if row[1] == "slot"]
    assert values == [None, None, None, {"session_id": "s1", "turn": 6}]
    assert _run(fast.retrieve("trainee-1")).get_slot("practice") == {"session_id": "s1", "turn": 6}


def test_rows_read_before_are_not_parsed_again_unless_their_data_changed(tmp_path, monkeypatch):
    from rasa.shared.core.trackers import DialogueStateTracker

    import bot.tracker_store as tracker_store

    store, domain = _store(tmp_path)
    _turns_through_retrieve(store, domain, forget_what_was_read=False)
    first = _run(store.retrieve("trainee-1"))
    stored = [json.loads(row[5]) for row in _rows(tmp_path / "tracker.db")]
    parsed = []

    class CountingJson:
        dumps = staticmethod(json.dumps)

        @staticmethod
        def loads(text, **kwargs):
            parsed.append(text)
            return json.loads(text, **kwargs)

    monkeypatch.setattr(tracker_store, "json", CountingJson)
    again = _run(store.retrieve("trainee-1"))
    assert parsed == []
    assert again.events == first.events == DialogueStateTracker.from_dict("trainee-1", stored, domain.slots).events
    assert again.get_slot("practice") == {"session_id": "s1", "turn": 6}
    # A row written again (here by hand; the store blanks earlier values of the state slot) is read again.
    with sqlite3.connect(tmp_path / "tracker.db") as connection:
        connection.execute("UPDATE events SET data = replace(data, '\"turn\": 6', '\"turn\": 7') WHERE type_name = 'slot'")
    changed = _run(store.retrieve("trainee-1"))
    assert len(parsed) == 1
    assert changed.get_slot("practice") == {"session_id": "s1", "turn": 7}


def test_the_rows_kept_parsed_are_bounded(tmp_path, monkeypatch):
    import bot.tracker_store as tracker_store

    monkeypatch.setattr(tracker_store, "ROWS_KEPT", 4)
    store, domain = _store(tmp_path)
    _turns_through_retrieve(store, domain, forget_what_was_read=False)
    assert len(_run(store.retrieve("trainee-1")).events) == 21
    assert len(store._read) == 4
