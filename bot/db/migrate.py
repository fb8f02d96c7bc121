"""Alembic, driven from Python: bring a database to the newest schema, or say where it is."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from bot.db.engine import database_url, make_engine

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def alembic_config(url: Union[str, URL, None] = None) -> Config:
    """The Alembic config for bot/db/migrations, aimed at `url` (default: `database_url()`)."""
    config = Config(str(ALEMBIC_INI))
    # Passed as an attribute, not as sqlalchemy.url: the ini parser would read "%" in a
    # password as interpolation.
    config.attributes["url"] = url if url is not None else database_url()
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "bot/db/migrations has no revisions"
    return head


def current_revision(url: Union[str, URL, None] = None) -> Optional[str]:
    """The revision the database is at; None for a database Alembic never touched."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: Union[str, URL, None] = None, revision: str = "head") -> Optional[str]:
    """Migrate the database at `url` (default: `database_url()`) and return its new revision."""
    command.upgrade(alembic_config(url), revision)
    return current_revision(url)
