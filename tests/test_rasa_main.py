"""bot.rasa_main: Rasa's action response check, with its schema checked once instead of per call."""
from __future__ import annotations

import logging

import jsonschema
import pytest
import rasa
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_main

VALID = {
    "events": [{"event": "slot", "name": "practice", "value": {"session_id": "abc", "mood": 40}}],
    "responses": [{"text": "Hello"}, {"custom": {"type": "feedback", "turn": 1}}],
}
MALFORMED = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "practice", "value": 1}]},  # an event without its type
    {"responses": [["a list, not an object"]]},
    ["not an object"],
]


@pytest.fixture
def installed():
    original = rasa_main.install_action_result_validator()
    assert original is not None, "the validator was not installed on this Rasa version"
    yield RemoteAction("action_customer_reply", EndpointConfig("http://127.0.0.1:1/webhook"))
    RemoteAction._validate_action_result = original


def test_a_valid_action_response_is_accepted(installed):
    assert installed._validate_action_result(dict(VALID)) is True


@pytest.mark.parametrize("response", MALFORMED)
def test_a_malformed_action_response_is_rejected_as_rasa_rejects_it(installed, response):
    with pytest.raises(jsonschema.ValidationError) as ours:
        installed._validate_action_result(response)
    with pytest.raises(jsonschema.ValidationError) as rasas:
        jsonschema.validate(response, RemoteAction.action_response_format_spec())
    assert ours.value.message.startswith(rasas.value.message)
    assert "Failed to validate Action server response" in ours.value.message


SAMPLES = [
    VALID,
    *MALFORMED,
    {},
    {"events": []},
    {"events": [{"event": "slot", "name": "practice"}]},  # a slot event without its value
    {"events": [{"event": "slot", "name": 3, "value": None}]},
    {"events": [{"event": "action", "name": "action_listen", "policy": None, "confidence": 1.0}]},
    {"events": [{"event": "action", "name": "x", "hide_rule_turn": "yes"}]},
    {"events": [{"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet", "confidence": 0.9}}}]},
    {"events": [{"event": "user", "text": "hi", "parse_data": "not an object"}]},
    {"events": [{"event": "bot", "text": "Hi", "data": {"custom": {"type": "feedback"}}}, {"event": "restart"}]},
    {"events": [{"event": 7}]},
    {"events": [{"event": "slot", "name": "practice", "value": 1, "timestamp": "now"}]},
    {"events": [{"event": "entities", "entities": [{"entity": "scenario", "value": "x"}]}]},
    {"events": [{"event": "entities", "entities": [{"entity": "scenario"}]}]},
]


@pytest.mark.parametrize("response", SAMPLES)
def test_the_quick_check_accepts_exactly_what_the_schema_accepts(response):
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    quick = rasa_main.event_dispatching_check(schema, cls)
    assert quick is not None, "Rasa's schema no longer has one alternative per event type"
    assert quick(response) == cls(schema).is_valid(response)


def test_the_schema_is_not_checked_again_per_call(installed, monkeypatch):
    """Rasa's own check calls check_schema on every response: ~20 ms each on this machine."""

    def refuse(*args, **kwargs):
        raise AssertionError("check_schema called per response")

    monkeypatch.setattr(jsonschema.validators.validator_for(RemoteAction.action_response_format_spec()),
                        "check_schema", refuse)
    assert installed._validate_action_result(dict(VALID)) is True


def test_another_rasa_version_keeps_rasas_own_check(monkeypatch, caplog):
    before = RemoteAction._validate_action_result
    monkeypatch.setattr(rasa, "__version__", "9.9.9")
    with caplog.at_level(logging.WARNING, logger="bot.rasa_main"):
        assert rasa_main.install_action_result_validator() is None
    assert RemoteAction._validate_action_result is before
    assert "Rasa 9.9.9 is not one of" in caplog.text


def test_a_missing_method_keeps_rasas_own_behaviour(monkeypatch, caplog):
    monkeypatch.delattr(RemoteAction, "_validate_action_result")
    with caplog.at_level(logging.WARNING, logger="bot.rasa_main"):
        assert rasa_main.install_action_result_validator() is None
    assert not hasattr(RemoteAction, "_validate_action_result")
    assert "is missing" in caplog.text


def test_the_launcher_starts_rasa_through_the_entry_point(tmp_path):
    from bot.launcher import rasa_service
    from bot.settings import load_settings

    command = rasa_service(settings=load_settings(), model=tmp_path / "m.tar.gz", endpoints=tmp_path / "e.yml").command
    # Through bot.quiet, which runs the module with the known library warnings hidden.
    assert command[1:5] == ["-m", "bot.quiet", "bot.rasa_main", "run"]


def test_a_sqlite_tracker_store_gets_a_pool_and_the_write_ahead_log(tmp_path, monkeypatch):
    import rasa.core.tracker_store as tracker_store
    from rasa.core.tracker_store import SQLTrackerStore
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import QueuePool

    monkeypatch.setattr(tracker_store, "create_engine_kwargs", tracker_store.create_engine_kwargs)
    assert rasa_main.install_sqlite_tracker_store_tuning() is True
    try:
        store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
        assert isinstance(store.engine.pool, QueuePool)
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        event.remove(Engine, "connect", rasa_main._sqlite_pragmas)


def test_postgresql_tracker_store_settings_are_left_alone(monkeypatch):
    import rasa.core.tracker_store as tracker_store

    monkeypatch.setattr(tracker_store, "create_engine_kwargs", tracker_store.create_engine_kwargs)
    original = tracker_store.create_engine_kwargs
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    try:
        rasa_main.install_sqlite_tracker_store_tuning()
        url = "postgresql://coach@127.0.0.1:5432/coach"
        assert tracker_store.create_engine_kwargs(url) == original(url)
    finally:
        event.remove(Engine, "connect", rasa_main._sqlite_pragmas)


def test_event_types_resolve_as_rasa_resolves_them(monkeypatch):
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    assert rasa_main.install_event_type_cache() is True
    for _ in range(2):  # the second time from what it remembered
        assert Event.resolve_by_type("slot") is SlotSet
        assert Event.resolve_by_type("user") is UserUttered
        assert Event.resolve_by_type("action") is ActionExecuted
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    assert Event.from_parameters({"event": "slot", "name": "practice", "value": 1}) == SlotSet("practice", 1)


def test_values_for_debug_lines_are_copied_only_when_debug_lines_are_kept(monkeypatch):
    import logging as std_logging

    import rasa.core.processor as processor
    import structlog

    from rasa.core.policies.policy import Policy
    from rasa.core.policies.rule_policy import RulePolicy

    monkeypatch.setattr(processor, "copy", processor.copy)  # put Rasa's own back afterwards
    own = vars(RulePolicy).get("format_tracker_states")  # a staticmethod object, or None: Policy's
    saved = structlog.get_config()
    events = [{"event": "slot", "name": "practice", "value": {"turn": 3}}]
    states = [{"user": {"intent": "apologize"}, "prev_action": {"action_name": "action_listen"}}]
    try:
        assert rasa_main.install_debug_line_copies_skipped()
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(std_logging.INFO))
        assert processor.copy.deepcopy(events) is events
        assert RulePolicy.format_tracker_states(states) == ""
        # With --debug the lines are written, and Rasa's anonymizer may change what it is given.
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(std_logging.DEBUG))
        copied = processor.copy.deepcopy(events)
        assert copied == events and copied is not events and copied[0] is not events[0]
        assert RulePolicy.format_tracker_states(states) == Policy.format_tracker_states(states)
        assert "apologize" in RulePolicy.format_tracker_states(states)
    finally:
        structlog.configure(**saved)
        if own is None:
            del RulePolicy.format_tracker_states
        else:
            RulePolicy.format_tracker_states = own
