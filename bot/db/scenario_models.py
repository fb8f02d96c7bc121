"""The scenario tables: a scenario by its id and its versions (bot/db/scenario_store.py uses them)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Integer, String, UniqueConstraint, column
from sqlalchemy.orm import relationship

from bot.db.base import Base, UTCDateTime, utcnow


def _one_of(name: str, values: tuple) -> Any:
    return column(name).in_(values)


# "discarded": a draft thrown away after it was tried in the practice chat (kept for those sessions).
SCENARIO_STATUSES = ("draft", "published", "archived", "discarded")


class ScenarioRecord(Base):
    """A scenario by its id; what it says is in its versions (bot/db/scenario_store.py)."""

    __tablename__ = "scenarios"

    id = Column(String(100), primary_key=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    # Null for the shipped scenarios, loaded from bot/resources/scenarios/.
    created_by = Column(Integer, ForeignKey("users.id"), nullable=True)


class ScenarioVersion(Base):
    """One version of a scenario: the whole scenario document, as a scenario file holds it.

    At most one draft per scenario, numbered one above the newest version; publishing it keeps
    the number. Published documents are never changed: sessions name the version they played.
    """

    __tablename__ = "scenario_versions"
    __table_args__ = (
        UniqueConstraint("scenario_id", "version"),
        CheckConstraint(_one_of("status", SCENARIO_STATUSES), name="status"),
    )

    id = Column(Integer, primary_key=True)
    scenario_id = Column(String(100), ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False, index=True)
    version = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False, default="draft")
    document = Column(JSON, nullable=False)
    author_id = Column(Integer, ForeignKey("users.id"), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    # When the status last changed (published, archived): the catalogue's caches key on it.
    changed_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    # "shipped" for a version loaded from bot/resources/scenarios/, "editor" or "import".
    source = Column(String(16), nullable=False, default="editor")

    author = relationship("User")
