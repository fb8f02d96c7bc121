"""`python -m bot.rasa_main <rasa arguments>`: Rasa's own command line, with three fixes installed first.

Rasa 3.6 checks every action server response with `jsonschema.validate(result, schema)`, which
also checks Rasa's own, never-changing response schema against the JSON Schema meta-schema on
every call: about 20 ms of a 25-50 ms turn on this machine. Here that check is done once, at
start, and every response is then validated by a validator built from the same schema, so a
malformed response is rejected exactly as before (same error, same message).

The second fix is for a SQLite tracker store (the default here): a connection pool instead of a
new connection per use, and the write-ahead log with a disk sync at checkpoints instead of at
every commit (see install_sqlite_tracker_store_tuning). The third remembers which class each
event type name is (install_event_type_cache), a lookup Rasa repeats for every stored event.

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

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
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
    from bot.action_failover import install_action_failover

    if install_action_failover():
        _say("an action whose action server is down runs on another one (COACH_ACTIONS_URLS)")
    from rasa.__main__ import main as rasa_main

    # Rasa reads its arguments from sys.argv, as when started as `rasa ...`.
    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main()
