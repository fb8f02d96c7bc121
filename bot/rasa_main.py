"""`python -m bot.rasa_main <rasa arguments>`: Rasa's own command line, with six fixes installed first.

Rasa 3.6 checks every action server response with `jsonschema.validate(result, schema)`, which
also checks Rasa's own, never-changing response schema against the JSON Schema meta-schema on
every call: about 20 ms of a 25-50 ms turn on this machine. Here that check is done once, at
start, and every response is then validated by a validator built from the same schema, so a
malformed response is rejected exactly as before (same error, same message).

Action responses are first tested by event_dispatching_check: each event against the schema's
alternative for its own type rather than all twenty (a tenth of the time); only a response it
does not accept goes through the full schema, which gives Rasa's error.

The second fix is for a SQLite tracker store (the default here): a connection pool instead of a
new connection per use, and the write-ahead log with a disk sync at checkpoints instead of at
every commit (see install_sqlite_tracker_store_tuning). The third remembers which class each
event type name is (install_event_type_cache), a lookup Rasa repeats for every stored event. The
fourth skips deep copies and formatting of values for debug lines that are dropped
(install_debug_line_copies_skipped). The fifth keeps each conversation's dialogue states between predictions, so that a turn does not
work them out again from the first event (bot.rasa_prior_states). The sixth lets an action
endpoint take only the running turn's events (bot.rasa_action_call).

Nothing inside site-packages is edited. The fixes are installed only on the Rasa versions they were
written for and only when what they replace is there; otherwise Rasa runs as it is and a
line in its log says why.
"""
from __future__ import annotations

import logging
import sys
from typing import Any, Callable, Dict, List, Optional

logger = logging.getLogger(__name__)

# The Rasa releases whose RemoteAction._validate_action_result (rasa/core/actions/action.py),
# create_engine_kwargs (rasa/core/tracker_store.py) and Event.resolve_by_type
# (rasa/shared/core/events.py) these fixes were checked against: on any other, Rasa keeps its own.
PATCHED_FOR = ("3.6.21",)


def _rasa_validate_suffix() -> str:
    # The text Rasa appends to the validation error, kept identical.
    from rasa.shared.constants import DOCS_BASE_URL

    return (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )


def event_dispatching_check(schema: Dict[str, Any], cls: Any) -> Optional[Callable[[Any], bool]]:
    """A faster test of the same validity as `schema`, or None when the schema is not shaped for it.

    Rasa's schema lets each event be `oneOf` about twenty alternatives, one per event type, each
    fixing `event` to its own constant: every alternative is tried on every event, most of the
    validation's time. An alternative whose constant is not the event's type fails, so when the
    constants are all different, an event is valid exactly when it passes the rest of the item
    schema and the one alternative of its type. Only the verdict "valid" is taken from this
    test; anything else is validated again by the full schema for Rasa's own error.
    """
    try:
        items = schema["properties"]["events"]["items"]
        alternatives = items["oneOf"]
        by_type: Dict[str, Any] = {}
        for alternative in alternatives:
            const = alternative["properties"]["event"]["const"]
            if not isinstance(const, str) or const in by_type:
                return None
            by_type[const] = cls(alternative)
    except (KeyError, TypeError):
        return None
    without_choice = {**schema, "properties": {**schema["properties"], "events": {
        **schema["properties"]["events"], "items": {key: value for key, value in items.items() if key != "oneOf"}}}}
    rest = cls(without_choice)

    def valid(result: Any) -> bool:
        if not rest.is_valid(result):
            return False
        events = result.get("events") if isinstance(result, dict) else None
        if not isinstance(events, list):
            return True  # no events, or what `rest` already accepted as none
        for event in events:
            alternative = by_type.get(event["event"])  # `rest` checked each is an object with a string type
            if alternative is None or not alternative.is_valid(event):
                return False
        return True

    return valid


def build_action_result_validator() -> Callable[[Any, Dict[str, Any]], bool]:
    """A replacement for RemoteAction._validate_action_result with the schema checked once."""
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # what jsonschema.validate does on every call, done once here
    validator = cls(schema)
    suffix = _rasa_validate_suffix()
    quickly_valid = event_dispatching_check(schema, cls) or validator.is_valid

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        if quickly_valid(result):
            return True
        # As jsonschema.validate: the most relevant of all errors, not the first one found.
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += suffix
            raise error
        return True

    _validate_action_result.built_once = True  # type: ignore[attr-defined]
    return _validate_action_result


def install_action_result_validator() -> Optional[Callable]:
    """Replace Rasa's per-call schema check; return the original method, or None if Rasa's stays.

    The original is returned so a caller (a test) can put it back.
    """
    import rasa
    from rasa.core.actions.action import RemoteAction

    version = getattr(rasa, "__version__", "unknown")
    original = getattr(RemoteAction, "_validate_action_result", None)
    if version not in PATCHED_FOR:
        logger.warning(
            "Rasa %s is not one of %s that bot.rasa_main was written for: action responses are "
            "validated by Rasa's own check (slower, re-checks its schema on every call).",
            version, ", ".join(PATCHED_FOR),
        )
        return None
    if original is None or not callable(getattr(RemoteAction, "action_response_format_spec", None)):
        logger.warning(
            "RemoteAction._validate_action_result or action_response_format_spec is missing in Rasa %s: "
            "action responses are validated by Rasa's own code.", version,
        )
        return None
    if getattr(original, "built_once", False):
        return original  # already installed in this process
    RemoteAction._validate_action_result = build_action_result_validator()
    return original


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        try:
            # The write-ahead log lets a commit append instead of rewriting the file through a
            # rollback journal, and with synchronous=NORMAL it syncs the disk at checkpoints,
            # not at every commit. A crashed process loses nothing; a power cut can lose the
            # last commits (never corrupt the file). Our own database keeps the records.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()


def install_sqlite_tracker_store_tuning() -> bool:
    """Rasa's SQLite tracker store with a connection pool and the write-ahead log.

    Rasa 3.6 gives a SQLite tracker store SQLAlchemy 1.4's default for files, a new connection
    per use (NullPool), and SQLite's rollback journal with a disk sync per commit, several
    times per turn: under load almost half the Rasa server's time. PostgreSQL is left alone.
    """
    import rasa
    import rasa.core.tracker_store as tracker_store

    version = getattr(rasa, "__version__", "unknown")
    original = getattr(tracker_store, "create_engine_kwargs", None)
    if version not in PATCHED_FOR or original is None:
        logger.warning("Rasa %s: its SQLite tracker store keeps its own connection handling.", version)
        return False
    if getattr(original, "tuned", False):
        return True
    from sqlalchemy import event
    from sqlalchemy.engine import Engine, make_url
    from sqlalchemy.pool import QueuePool

    def create_engine_kwargs(url: Any) -> Dict[str, Any]:
        kwargs = original(url)
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            # Rasa's tracker store runs on the server's one event loop thread; the pool may
            # still hand a connection to another thread, one at a time.
            kwargs.update(poolclass=QueuePool, connect_args={"check_same_thread": False})
        return kwargs

    create_engine_kwargs.tuned = True  # type: ignore[attr-defined]
    tracker_store.create_engine_kwargs = create_engine_kwargs
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
    return True


def install_event_type_cache() -> bool:
    """Rasa's Event.resolve_by_type, remembering what it found.

    Rasa looks every event's class up by walking all Event subclasses (with an isabstract test
    on each) for every event it reads back from the tracker store or an action server: a cost
    that grows with the conversation (~6% of the Rasa server's busy time at 12 turns). The
    classes do not change once imported; unknown names still go to Rasa's own lookup.
    """
    import rasa
    from rasa.shared.core.events import Event

    version = getattr(rasa, "__version__", "unknown")
    original = Event.__dict__.get("resolve_by_type")
    if version not in PATCHED_FOR or not isinstance(original, staticmethod):
        logger.warning("Rasa %s: events are looked up by Rasa's own Event.resolve_by_type.", version)
        return False
    resolve = original.__func__
    if getattr(resolve, "cached", False):
        return True
    found: Dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Optional[Any] = None) -> Optional[Any]:
        cls = found.get(type_name)
        if cls is None:
            cls = resolve(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    resolve_by_type.cached = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)
    return True


def _debug_lines_dropped() -> bool:
    """Whether structlog, as Rasa configured it, drops debug lines before any processor sees them."""
    import structlog
    from structlog import _native

    return getattr(structlog.get_config().get("wrapper_class"), "debug", None) is getattr(_native, "_nop", object())


class _CopyForDebugLines:
    """rasa.core.processor's `copy`: it deep-copies only values it hands to debug log lines.

    Those copies (the action's events, the slots: our session state with them) were about a
    tenth of the Rasa server's extra work for a coach turn, for lines that are dropped unless
    Rasa runs with --debug. Then they are copied as before, so that a log processor (Rasa's
    anonymizer) never changes the tracker's own events.
    """

    def __getattr__(self, name: str) -> Any:
        import copy

        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Optional[Dict[int, Any]] = None) -> Any:
        import copy

        return value if _debug_lines_dropped() else copy.deepcopy(value, memo)


def _states_for_debug_lines(original: Callable[[Any], str]) -> Callable[[Any], str]:
    """RulePolicy's format_tracker_states, for its one debug line: not worked out when that line is dropped.

    It wrote every dialogue state of the conversation into a string three times a turn, work
    that grew with the conversation, for a line only `--debug` keeps.
    """

    def format_tracker_states(states: Any) -> str:
        return "" if _debug_lines_dropped() else original(states)

    format_tracker_states.for_debug_lines = True  # type: ignore[attr-defined]
    return format_tracker_states


def install_debug_line_copies_skipped() -> bool:
    """Rasa's processor and RulePolicy without copies or formatting for debug lines that are dropped."""
    import rasa
    import rasa.core.processor as processor
    from rasa.core.policies.rule_policy import RulePolicy
    from structlog import _native

    version = getattr(rasa, "__version__", "unknown")
    if version not in PATCHED_FOR or not hasattr(_native, "_nop") or not hasattr(processor, "copy"):
        logger.warning("Rasa %s: its processor copies every value it logs at debug level.", version)
        return False
    if not isinstance(processor.copy, _CopyForDebugLines):
        processor.copy = _CopyForDebugLines()
    if not getattr(RulePolicy.format_tracker_states, "for_debug_lines", False):
        RulePolicy.format_tracker_states = staticmethod(_states_for_debug_lines(RulePolicy.format_tracker_states))
    return True


def _say(message: str) -> None:
    # Before Rasa sets up logging nothing else reaches its log file; one line says which check runs.
    print(f"bot.rasa_main: {message}", file=sys.stderr, flush=True)


def main(argv: Optional[List[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if install_action_result_validator() is not None:
        _say("action server responses are validated with a schema validator built once")
    else:
        _say("action server responses are validated by Rasa's own check (see the warning above)")
    if install_sqlite_tracker_store_tuning():
        _say("a SQLite tracker store gets a connection pool and the write-ahead log")
    if install_event_type_cache():
        _say("event classes are looked up once per event type")
    if install_debug_line_copies_skipped():
        _say("values for dropped debug lines are neither deep-copied nor formatted")
    from bot.rasa_prior_states import install_prior_states_cache

    if install_prior_states_cache(PATCHED_FOR) is not None:
        _say("dialogue states carry on from where the conversation's last prediction left them")
    from bot.rasa_action_call import install_latest_turn_events

    if install_latest_turn_events(PATCHED_FOR):
        _say("action calls can carry only the running turn's events (tracker_events in endpoints.yml)")
    from bot.action_failover import install_action_failover

    if install_action_failover():
        _say("an action whose action server is down runs on another one (COACH_ACTIONS_URLS)")
    from rasa.__main__ import main as rasa_main

    # Rasa reads its arguments from sys.argv, as when started as `rasa ...`.
    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main()
