"""Scenarios in the database: drafts, published versions, archiving, and the shipped files.

A scenario is its id (`scenarios`) and its versions (`scenario_versions`), each holding the
whole scenario document as a scenario file does. A trainer edits one draft per scenario,
numbered one above the newest version; publishing it makes it the version new practice
sessions play. Published documents are never changed again: every session records the version
it played (`practice_sessions.scenario_version`), so its transcript and re-scoring use that one.
Archiving hides a scenario from new practice and keeps every version; restoring brings the
newest archived version back. A discarded draft is deleted, or kept as "discarded" when a trainer
tried it in the practice chat, since those sessions name its version.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.db.engine import session_scope
from bot.db.models import PracticeSession, ScenarioRecord, ScenarioVersion, utcnow
from bot.errors import CoachError

log = logging.getLogger(__name__)


class ScenarioConflict(CoachError):
    code = "scenario_conflict"


@dataclass(frozen=True)
class ScenarioSummary:
    """One row of the editor's list."""

    id: str
    title: str
    # "published", "archived", or "draft" for a scenario never published.
    status: str
    published_version: Optional[int]
    draft_version: Optional[int]
    changed_at: datetime


def versions_of(*, session: Session, scenario_id: str) -> List[ScenarioVersion]:
    """Every version of the scenario, newest first."""
    return list(session.execute(
        select(ScenarioVersion).where(ScenarioVersion.scenario_id == scenario_id)
        .order_by(ScenarioVersion.version.desc())
    ).scalars())


def get_version(*, session: Session, scenario_id: str, version: int) -> Optional[ScenarioVersion]:
    return session.execute(
        select(ScenarioVersion).where(ScenarioVersion.scenario_id == scenario_id, ScenarioVersion.version == version)
    ).scalar_one_or_none()


def draft_of(*, session: Session, scenario_id: str) -> Optional[ScenarioVersion]:
    return next((v for v in versions_of(session=session, scenario_id=scenario_id) if v.status == "draft"), None)


# The statuses of a version trainees did or do practise (not a draft, not a discarded draft).
RELEASED = ("published", "archived")


def _current(versions: List[ScenarioVersion]) -> Optional[ScenarioVersion]:
    """The newest released version (published, or archived when the scenario is)."""
    return next((v for v in versions if v.status in RELEASED), None)


def overview(*, session: Session) -> List[ScenarioSummary]:
    """Every scenario with its status and versions, by title."""
    by_scenario: Dict[str, List[ScenarioVersion]] = {}
    for row in session.execute(
        select(ScenarioVersion).order_by(ScenarioVersion.scenario_id, ScenarioVersion.version.desc())
    ).scalars():
        by_scenario.setdefault(row.scenario_id, []).append(row)
    rows = []
    for scenario_id, versions in by_scenario.items():
        current, draft = _current(versions), next((v for v in versions if v.status == "draft"), None)
        shown = draft or current
        rows.append(ScenarioSummary(
            id=scenario_id,
            title=str((shown.document or {}).get("title") or scenario_id),
            status=current.status if current else ("draft" if draft else "discarded"),
            published_version=current.version if current and current.status == "published" else None,
            draft_version=draft.version if draft else None,
            changed_at=max(v.changed_at for v in versions),
        ))
    return sorted(rows, key=lambda r: (r.title.lower(), r.id))


def published_documents(*, session: Session) -> Dict[str, Tuple[int, Dict[str, Any]]]:
    """Scenario id -> (version, document) of each scenario's current published version.

    Archived scenarios and those with only a draft are left out: they are not for new practice.
    """
    found: Dict[str, Tuple[int, Dict[str, Any]]] = {}
    hidden = set()
    rows = session.execute(
        select(ScenarioVersion).where(ScenarioVersion.status.in_(RELEASED))
        .order_by(ScenarioVersion.scenario_id, ScenarioVersion.version.desc())
    ).scalars()
    for row in rows:
        if row.scenario_id in found or row.scenario_id in hidden:
            continue
        if row.status == "archived":
            hidden.add(row.scenario_id)
        else:
            found[row.scenario_id] = (row.version, row.document)
    return found


def known_ids(*, session: Session) -> Dict[str, str]:
    """Every scenario id in the database, archived too, with its newest title (for filters)."""
    titles: Dict[str, str] = {}
    for row in session.execute(
        select(ScenarioVersion).order_by(ScenarioVersion.scenario_id, ScenarioVersion.version.desc())
    ).scalars():
        titles.setdefault(row.scenario_id, str((row.document or {}).get("title") or row.scenario_id))
    return titles


def catalogue_key(*, session: Session) -> Tuple[int, Optional[datetime]]:
    """Changes whenever a version is published or archived: what the catalogue caches key on."""
    count, latest = session.execute(
        select(func.count(ScenarioVersion.id), func.max(ScenarioVersion.changed_at))
        .where(ScenarioVersion.status != "draft")
    ).one()
    return int(count), latest


def create_scenario(*, session: Session, document: Dict[str, Any], author_id: Optional[int]) -> ScenarioVersion:
    """A new scenario with its first version as a draft; its id is the document's `id`."""
    scenario_id = document["id"]
    if session.get(ScenarioRecord, scenario_id) is not None:
        raise ScenarioConflict(f"A scenario with the id '{scenario_id}' exists already: choose another id.")
    session.add(ScenarioRecord(id=scenario_id, created_by=author_id))
    draft = ScenarioVersion(scenario_id=scenario_id, version=1, status="draft", document=document, author_id=author_id)
    session.add(draft)
    session.flush()
    return draft


def save_draft(*, session: Session, scenario_id: str, document: Dict[str, Any], author_id: Optional[int]) -> ScenarioVersion:
    """Keep `document` as the scenario's draft, starting one above the newest version if none."""
    if document.get("id") != scenario_id:
        raise ScenarioConflict(f"The id of a scenario cannot change (it is '{scenario_id}').")
    draft = draft_of(session=session, scenario_id=scenario_id)
    if draft is None:
        versions = versions_of(session=session, scenario_id=scenario_id)
        if not versions:
            raise ScenarioConflict(f"There is no scenario '{scenario_id}'.")
        draft = ScenarioVersion(scenario_id=scenario_id, version=versions[0].version + 1, status="draft")
        session.add(draft)
    draft.document = document
    draft.author_id = author_id
    draft.changed_at = utcnow()
    session.flush()
    return draft


def publish(*, session: Session, scenario_id: str) -> ScenarioVersion:
    """The draft becomes the published version new practice sessions play.

    The caller has validated the document; the store checks the rules once more, so an invalid
    document never reaches a trainee.
    """
    from bot.scenarios import parse_document

    draft = draft_of(session=session, scenario_id=scenario_id)
    if draft is None:
        raise ScenarioConflict(f"Scenario '{scenario_id}' has no draft to publish.")
    scenario, problems = parse_document(draft.document)
    if scenario is None:
        raise ScenarioConflict(f"The draft of '{scenario_id}' is not valid: {problems[0][0]}: {problems[0][1]}")
    draft.status = "published"
    draft.changed_at = utcnow()
    session.flush()
    return draft


def discard_draft(*, session: Session, scenario_id: str) -> Tuple[int, int]:
    """Throw the draft away: (its version, how many practice sessions played it).

    A draft nobody played is deleted, and with it a scenario that has no other version; one
    that was tried stays as "discarded", because those sessions' transcripts read it.
    """
    draft = draft_of(session=session, scenario_id=scenario_id)
    if draft is None:
        raise ScenarioConflict(f"Scenario '{scenario_id}' has no draft to discard.")
    played = int(session.execute(
        select(func.count(PracticeSession.id))
        .where(PracticeSession.scenario == scenario_id, PracticeSession.scenario_version == draft.version)
    ).scalar_one())
    number = draft.version
    if played:
        draft.status = "discarded"
        draft.changed_at = utcnow()
    else:
        session.delete(draft)
    session.flush()
    if not played and not versions_of(session=session, scenario_id=scenario_id):
        record = session.get(ScenarioRecord, scenario_id)
        if record is not None:
            session.delete(record)
            session.flush()
    return number, played


def restore(*, session: Session, scenario_id: str) -> ScenarioVersion:
    """Bring an archived scenario back to new practice with its newest archived version."""
    versions = versions_of(session=session, scenario_id=scenario_id)
    current = _current(versions)
    if current is None or current.status != "archived":
        raise ScenarioConflict(f"Scenario '{scenario_id}' is not archived.")
    current.status = "published"
    current.changed_at = utcnow()
    session.flush()
    return current


def archive(*, session: Session, scenario_id: str) -> int:
    """Hide the scenario from new practice; returns how many published versions were archived."""
    result = session.execute(
        update(ScenarioVersion)
        .where(ScenarioVersion.scenario_id == scenario_id, ScenarioVersion.status == "published")
        .values(status="archived", changed_at=utcnow())
    )
    return int(result.rowcount or 0)


def add_published(
    *, session: Session, document: Dict[str, Any], source: str, author_id: Optional[int] = None
) -> Optional[ScenarioVersion]:
    """A new published version from a file (shipped or imported); None when it says what the
    current version says already. Refused while a draft is being edited."""
    scenario_id = document["id"]
    if session.get(ScenarioRecord, scenario_id) is None:
        session.add(ScenarioRecord(id=scenario_id, created_by=author_id))
        session.flush()
    versions = versions_of(session=session, scenario_id=scenario_id)
    current = _current(versions)
    if current is not None and current.document == document and current.status == "published":
        return None
    if any(v.status == "draft" for v in versions):
        raise ScenarioConflict(
            f"Scenario '{scenario_id}' has a draft being edited in the browser: publish it first, then import."
        )
    row = ScenarioVersion(
        scenario_id=scenario_id, version=(versions[0].version + 1) if versions else 1, status="published",
        document=document, author_id=author_id, source=source,
    )
    session.add(row)
    session.flush()
    return row


def seed_shipped(engine: Engine, directory: Optional[Path] = None) -> List[str]:
    """Load each shipped scenario file as version 1 when the database lacks the scenario.

    A shipped file edited since is loaded as a new version, unless trainers have edited that
    scenario in the browser since (their version stands; `python -m bot scenarios import`
    takes the file deliberately). Returns "id vN" for each version added.
    """
    import yaml

    from bot.scenarios import SCENARIO_DIR, load_scenario_file

    added = []
    with session_scope(engine, write=True) as session:
        for path in sorted((directory or SCENARIO_DIR).glob("*.yml")):
            load_scenario_file(path)  # a broken shipped file fails here, with its name and field
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            versions = versions_of(session=session, scenario_id=document["id"])
            if versions and (versions[0].source != "shipped" or versions[0].status != "published"):
                if versions[0].document != document:
                    log.info("Shipped %s differs from the database, where trainers edited it since", path.name)
                continue
            row = add_published(session=session, document=document, source="shipped")
            if row is not None:
                added.append(f"{row.scenario_id} v{row.version}")
    return added


def record_played_version(*, session: Session, session_id: str, version: Optional[int]) -> None:
    """Note on a stored practice session which scenario version it played."""
    if version is None:
        return
    session.execute(
        update(PracticeSession).where(PracticeSession.id == session_id).values(scenario_version=version)
    )
