"""Where the database is, how to connect to it, and one transaction per unit of work.

Nothing here connects at import time: `make_engine` builds a lazy engine and the first
`session_scope` opens the first connection.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Union

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

DATABASE_URL_ENV = "COACH_DATABASE_URL"
SQLITE_FILE_NAME = "coach.db"
# How long a SQLite writer waits for another process's write lock before failing. The action
# server and the web app write small rows; a few seconds of waiting means something is stuck.
SQLITE_BUSY_TIMEOUT_SECONDS = 15


def database_url() -> str:
    """COACH_DATABASE_URL, or the SQLite file `<COACH_VAR_DIR>/coach.db`."""
    from_env = os.environ.get(DATABASE_URL_ENV, "").strip()
    if from_env:
        return from_env
    from bot.settings import load_settings

    path = Path(load_settings().var_dir).resolve() / SQLITE_FILE_NAME
    return str(URL.create("sqlite", database=str(path)))


def _dumps(value: Any) -> str:
    # Keep evidence and explanations readable in the database: no \\uXXXX escapes.
    return json.dumps(value, ensure_ascii=False)


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_on_begin);
    # pysqlite's own handling breaks SAVEPOINT, which record_turn relies on.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        # Readers do not block the writer and a killed process cannot leave a half-written page.
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode, NORMAL syncs the disk at checkpoints rather than at every commit (each
        # turn commits): a crashed process loses nothing, a power cut at most the last commits,
        # and the file is never corrupted. FULL made commits most of the action server's time.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


# Execution option naming how a SQLite transaction begins; session_scope(write=True) sets it.
_BEGIN_OPTION = "coach_sqlite_begin"


def _sqlite_on_begin(connection: Any) -> None:
    # A deferred BEGIN that reads first and writes later cannot wait for the write lock: when
    # another connection writes in between, SQLite fails at once with "database is locked"
    # whatever the busy timeout. BEGIN IMMEDIATE takes the write lock up front, and waiting
    # for it does honour the busy timeout, so concurrent writers queue instead of failing.
    connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))


def make_engine(url: Union[str, URL, None] = None, **kwargs: Any) -> Engine:
    """A 2.0-style (future=True) engine for `url` (default: `database_url()`).

    SQLite: foreign keys on, WAL journal, working SAVEPOINTs, the file's folder created.
    PostgreSQL: psycopg2, with connections checked before use.
    """
    parsed = make_url(url if url is not None else database_url())
    options: dict = {"future": True, "json_serializer": _dumps}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        if database and database != ":memory:" and "mode=memory" not in database:
            # SQLAlchemy 1.4 opens a new connection per session for a SQLite file (NullPool);
            # a pool per process keeps them, and their PRAGMAs, for the next call. The pool
            # hands each connection to one thread at a time, so it may cross threads.
            options["poolclass"] = QueuePool
            options["connect_args"]["check_same_thread"] = False
    elif parsed.get_backend_name() == "postgresql":
        options["pool_pre_ping"] = True
    options.update(kwargs)
    engine = create_engine(parsed, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """One Core transaction that writes, begun as session_scope(write=True) begins it.

    For the few statements on a turn's path that need no ORM: an ORM session around two
    prepared statements cost the action server more than SQLite's own work for them.
    """
    if engine.dialect.name == "sqlite":
        engine = engine.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
    with engine.begin() as connection:
        yield connection


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One session for one request or action call: commit on success, roll back on error.

    Objects stay readable after the block (expire_on_commit=False), but relationships that
    were not loaded inside it cannot be loaded any more.

    `write=True` for a unit of work that writes: on SQLite it begins with BEGIN IMMEDIATE, so
    it waits for another writer (up to the busy timeout) instead of failing when it reads
    before it writes. Other databases ignore it.
    """
    if write and engine.dialect.name == "sqlite":
        engine = engine.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
    session = Session(bind=engine, future=True, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
