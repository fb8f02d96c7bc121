"""Which scenarios there are, and which version a session plays: the database, then the files.

The database's published versions (bot/db/scenario_store.py) are the catalogue; a scenario the
database does not know (a database not migrated or not seeded yet, as in unit tests, or a new
shipped file before the next start) comes from bot/resources/scenarios/. A database that cannot
be read leaves the shipped files, with a warning in the log, so practice goes on.

Every process sees a newly published version without a restart: the catalogue is read again
when the database's catalogue key (how many versions are published or archived, and when the
last changed) has moved, which is asked at most every REFRESH_SECONDS. A pinned version
(`id@3`, or a session's `scenario_version`) is read once and kept: published documents never
change; a draft is read again after REFRESH_SECONDS, since its author may be editing it.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, Optional, Tuple

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.db import scenario_store
from bot.db.engine import session_scope

log = logging.getLogger(__name__)

# How stale the list of published scenarios may be in a running process: one small query per
# this many seconds at most, however many turns are played.
REFRESH_SECONDS = 2.0
# "laptop_at_home_service@3": a version chosen on purpose (the author trying a draft).
PINNED = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)@(?P<version>[1-9][0-9]{0,5})$")


def split_ref(ref: str) -> Tuple[str, Optional[int]]:
    """("id", None) for a plain id, ("id", 3) for "id@3"."""
    match = PINNED.match(ref or "")
    if match:
        return match.group("id"), int(match.group("version"))
    return ref, None


@dataclass
class _Published:
    key: Any = None
    checked_at: float = float("-inf")
    scenarios: Dict[str, Tuple[int, Any]] = field(default_factory=dict)
    # Every id the database has a version of, archived and draft-only ones too.
    known: FrozenSet[str] = frozenset()


_lock = threading.Lock()
_published: Dict[Any, _Published] = {}
_pinned: Dict[Tuple[Any, str, int], Tuple[float, Any, str]] = {}
_engines: Dict[str, Engine] = {}
# The environment the configured database follows (bot.db.engine.database_url) -> (when looked
# up, its engine or None): working the URL out costs milliseconds, reading these two does not.
_configured: Dict[Tuple[Optional[str], Optional[str]], Tuple[float, Optional[Engine]]] = {}


def database_engine() -> Optional[Engine]:
    """The configured database's engine; None for a SQLite file that does not exist yet (no
    scenarios in it, and connecting would create it), looked at again after REFRESH_SECONDS."""
    from bot.db.engine import DATABASE_URL_ENV, database_url, make_engine

    key = (os.environ.get(DATABASE_URL_ENV), os.environ.get("COACH_VAR_DIR"))
    known = _configured.get(key)
    if known is not None and (known[1] is not None or time.monotonic() - known[0] < REFRESH_SECONDS):
        return known[1]
    url = database_url()
    parsed = make_url(url)
    engine = None
    if not (parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists()):
        with _lock:
            if url not in _engines:
                _engines[url] = make_engine(url)
            engine = _engines[url]
    _configured[key] = (time.monotonic(), engine)
    return engine


def _name(engine: Engine) -> Any:
    # Its URL as text, worked out once per engine: rendering or hashing a URL costs more than
    # the rest of a cached look-up.
    name = getattr(engine, "_coach_catalogue_name", None)
    if name is None:
        name = engine.url.render_as_string(hide_password=True)
        setattr(engine, "_coach_catalogue_name", name)
    return name


def published(engine: Optional[Engine] = None) -> Tuple[Dict[str, Tuple[int, Any]], FrozenSet[str]]:
    """Scenario id -> (version, Scenario) of every published scenario in the database, and the
    ids of every scenario the database has (the shipped files do not speak for those)."""
    from bot.scenarios import scenario_from_document

    engine = engine or database_engine()
    if engine is None:
        return {}, frozenset()
    name = _name(engine)
    entry = _published.get(name)
    if entry is None:
        entry = _published[name] = _Published()
    now = time.monotonic()
    if now - entry.checked_at < REFRESH_SECONDS:
        return entry.scenarios, entry.known
    try:
        with session_scope(engine) as session:
            key = scenario_store.catalogue_key(session=session)
            documents = scenario_store.published_documents(session=session) if key != entry.key else None
            known = frozenset(scenario_store.known_ids(session=session)) if documents is not None else entry.known
    except SQLAlchemyError as exc:
        log.warning("Scenarios are read from the shipped files: the database's cannot be read (%s)", exc.__class__.__name__)
        entry.checked_at = now
        return entry.scenarios, entry.known
    if documents is not None:
        scenarios = {}
        for scenario_id, (version, document) in documents.items():
            try:
                scenarios[scenario_id] = (version, scenario_from_document(document, name=f"{scenario_id} v{version}"))
            except Exception as exc:  # one bad stored version must not hide the others
                log.error("Scenario %s version %s cannot be used: %s", scenario_id, version, exc)
        entry.key, entry.scenarios, entry.known = key, scenarios, known
    entry.checked_at = now
    return entry.scenarios, entry.known


def pinned(scenario_id: str, version: int, engine: Optional[Engine] = None) -> Optional[Tuple[Any, str]]:
    """(Scenario, status) of one version, or None when the database has no such version."""
    from bot.scenarios import scenario_from_document

    engine = engine or database_engine()
    if engine is None:
        return None
    cache_key = (_name(engine), scenario_id, version)
    cached = _pinned.get(cache_key)
    if cached and (cached[2] != "draft" or time.monotonic() - cached[0] < REFRESH_SECONDS):
        return cached[1], cached[2]
    try:
        with session_scope(engine) as session:
            row = scenario_store.get_version(session=session, scenario_id=scenario_id, version=version)
            found = (row.document, row.status) if row is not None else None
    except SQLAlchemyError as exc:
        log.warning("Scenario %s version %s cannot be read: %s", scenario_id, version, exc.__class__.__name__)
        return (cached[1], cached[2]) if cached else None
    if found is None:
        return None
    scenario = scenario_from_document(found[0], name=f"{scenario_id} v{version}")
    _pinned[cache_key] = (time.monotonic(), scenario, found[1])
    return scenario, found[1]


def forget() -> None:
    """Drop every cached catalogue and engine (tests that switch databases)."""
    with _lock:
        _published.clear()
        _pinned.clear()
        _configured.clear()
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
