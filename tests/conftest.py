"""Fixtures shared by the test modules: tracker and dispatcher builders, a running assistant."""
from __future__ import annotations

import dataclasses
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.rasa_client import RasaRestClient
from bot.launcher import DEFAULT_MODEL, free_port, prepare_database, start_all
from bot.settings import load_settings


def pytest_configure(config):
    """Known third-party warnings (bot/resources/third_party_warnings.txt) stay out of the summary."""
    from bot.quiet import pytest_filters

    for line in pytest_filters():
        config.addinivalue_line("filterwarnings", line)


@pytest.fixture(scope="session", autouse=True)
def isolated_var_dir(tmp_path_factory):
    """Keep the tests' own database and files out of the project's var/ folder."""
    import os

    from bot import db, recording

    var_dir = tmp_path_factory.mktemp("var")
    previous = os.environ.get("COACH_VAR_DIR")
    os.environ["COACH_VAR_DIR"] = str(var_dir)
    recording.engine.cache_clear()
    if not os.environ.get(db.DATABASE_URL_ENV):
        db.upgrade(db.database_url())
    yield var_dir
    recording.engine.cache_clear()
    if previous is None:
        os.environ.pop("COACH_VAR_DIR", None)
    else:
        os.environ["COACH_VAR_DIR"] = previous


def make_tracker(
    *,
    text: str = "",
    intent: str = "restate_issue",
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    sender_id: str = "trainee-1",
) -> Tracker:
    """A tracker whose latest message is `text`, as the action server receives it."""
    return Tracker(
        sender_id=sender_id,
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def assistant_settings(var_dir: Path):
    """Settings for an assistant of a test's own: free loopback ports, its own var folder."""
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"No trained model at {DEFAULT_MODEL}: `make test` trains it first.")
    return dataclasses.replace(
        load_settings(), host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(),
        web_port=free_port(), var_dir=var_dir,
    )


@pytest.fixture(scope="session")
def assistant(tmp_path_factory) -> Iterator[Dict[str, str]]:
    """The real action server, Rasa server and web app on free loopback ports."""
    settings = assistant_settings(Path(tmp_path_factory.mktemp("assistant-var")))
    with ExitStack() as stack:
        services = start_all(stack, settings=settings, model=DEFAULT_MODEL)
        database_url = prepare_database(settings)
        yield {
            "rasa_url": settings.rasa_url,
            "actions_url": settings.actions_url,
            "web_url": settings.web_url,
            "services": {s.name: s for s in services},
            "settings": settings,
            "database_url": database_url,
        }


# Debian's Chromium, driven by Playwright (its own browser download does not work here), with
# the flags this machine needs: no sandbox as root, and no background connections outside.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test; each test opens its own context."""
    import shutil

    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (scripts/test_services.sh), or `apt-get install chromium`.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def conversation(assistant):
    """A fresh conversation with the running assistant, under a sender id of its own."""
    return RasaRestClient(assistant["rasa_url"], sender=f"test-{uuid.uuid4().hex[:12]}", var_dir=assistant["settings"].var_dir)


# --- Storage (bot/db): the same tests on SQLite and on PostgreSQL ------------------------------
#
# PostgreSQL: an admin connection (COACH_TEST_POSTGRES_URL, else user postgres, then root, on
# 127.0.0.1:5432, database "test", trust auth) creates a fresh coach_test_<random> database
# for the test run and drops it at the end. Unreachable PostgreSQL fails those tests with the
# reason, unless COACH_SKIP_POSTGRES=1.

POSTGRES_ADMIN_URLS = (
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)


def _postgres_admin():
    import os

    import psycopg2

    override = os.environ.get("COACH_TEST_POSTGRES_URL", "").strip()
    candidates = (override,) if override else POSTGRES_ADMIN_URLS
    problems = []
    for dsn in candidates:
        try:
            connection = psycopg2.connect(dsn, connect_timeout=5)
        except psycopg2.OperationalError as exc:
            problems.append(f"  {dsn}: {str(exc).strip()}")
            continue
        connection.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
        return connection, dsn
    message = (
        "PostgreSQL is not reachable, so the PostgreSQL half of the storage tests cannot run:\n"
        + "\n".join(problems)
        + "\nStart PostgreSQL, point COACH_TEST_POSTGRES_URL at an admin connection URL, "
        "or set COACH_SKIP_POSTGRES=1 to skip these tests."
    )
    if os.environ.get("COACH_SKIP_POSTGRES") == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A PostgreSQL database of this test run's own, migrated to the newest schema."""
    from psycopg2 import sql
    from sqlalchemy.engine import make_url

    from bot.db import upgrade

    admin, dsn = _postgres_admin()
    name = f"coach_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = make_url(dsn).set(drivername="postgresql+psycopg2", database=name)
        url_text = url.render_as_string(hide_password=False)
        upgrade(url_text)
        yield url_text
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request, tmp_path) -> str:
    """A migrated, empty database: a temporary SQLite file, or the run's PostgreSQL database."""
    from sqlalchemy.engine import URL

    from bot.db import upgrade

    if request.param == "sqlite":
        url = URL.create("sqlite", database=str(tmp_path / "coach.db")).render_as_string(hide_password=False)
        upgrade(url)
        return url
    return request.getfixturevalue("postgres_database_url")


@pytest.fixture
def storage_engine(storage_url):
    """An engine on `storage_url`; every row is deleted afterwards (the PostgreSQL database is shared)."""
    from sqlalchemy import delete

    from bot.db import Base, make_engine

    engine = make_engine(storage_url)
    yield engine
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))
    engine.dispose()


@pytest.fixture
def url(tmp_path) -> str:
    """A migrated SQLite database of the test's own, for tests of one store (accounts, sign-in,
    data requests) that need no PostgreSQL twin."""
    from bot import db

    url = f"sqlite:///{tmp_path / 'coach.db'}"
    db.upgrade(url)
    return url
