"""The audit log: who did what, when, to what, with the state before and after.

Written for decisions a company must be able to account for: overrides, sign-offs, role and
password changes, sign-in failures and locks, roster imports, exports and data requests. Read
by administrators (`/admin/audit`, CSV export). Entries are only ever added; erasing a
trainee's data keeps them (they name people by e-mail copied at the time, not by reference).

    with db.session_scope(engine) as session:
        audit.record(session=session, actor=user, action="roles_changed",
                     subject=("user", user_id), before={"roles": [...]}, after={"roles": [...]})
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, List, Optional, Sequence, Tuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.db.models import AuditEntry, User, utcnow

# The actions written by this project; `record` refuses others so a typo does not hide an event.
ACTIONS = (
    "sign_in", "sign_in_failed", "sign_in_locked", "sign_out",
    "password_changed", "password_reset", "roles_changed", "user_added", "user_deactivated", "user_reactivated",
    "check_overridden", "outcome_overridden", "signed_off",
    "roster_imported", "passwords_exported", "progress_exported", "statements_exported", "sessions_exported",
    "transcript_exported", "audit_exported", "user_data_exported", "user_data_erased", "backup_made",
    "scenario_create", "scenario_save_draft", "scenario_publish", "scenario_archive", "scenario_restore",
    "scenario_discard_draft",
)
CLIENT_MAX = 64


def record(
    *,
    session: Session,
    action: str,
    actor: Optional[User] = None,
    subject: Tuple[Optional[str], Any] = (None, None),
    before: Any = None,
    after: Any = None,
    client: Optional[str] = None,
    at: Optional[datetime] = None,
) -> AuditEntry:
    """Add one entry; `actor` None means the system or the command line."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    subject_type, subject_id = subject
    entry = AuditEntry(
        at=at or utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor=actor.email if actor is not None else None,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id)[:64],
        before=before,
        after=after,
        client=(client or None) and client[:CLIENT_MAX],
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditPage:
    entries: List[AuditEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_entries(
    *,
    session: Session,
    action: Optional[str] = None,
    who: Optional[str] = None,
    subject: Optional[Tuple[str, str]] = None,
    page: int = 1,
    per_page: Optional[int] = 50,
) -> AuditPage:
    """Newest first, filtered by action, by actor or subject e-mail/id text, or by subject."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if who:
        like = f"%{who.strip().lower()}%"
        query = query.where(or_(func.lower(AuditEntry.actor).like(like), func.lower(AuditEntry.subject_id).like(like)))
    if subject:
        query = query.where(AuditEntry.subject_type == subject[0], AuditEntry.subject_id == str(subject[1]))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if per_page:
        page = max(1, page)
        query = query.offset((page - 1) * per_page).limit(per_page)
    entries = list(session.execute(query).scalars())
    return AuditPage(entries=entries, total=total, page=page, per_page=per_page or max(total, 1))


CSV_COLUMNS = ("at", "actor", "action", "subject_type", "subject_id", "before", "after", "client")


def csv_rows(entries: Sequence[AuditEntry]) -> List[List[Any]]:
    import json

    def js(value: Any) -> str:
        return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    return [
        [e.at.isoformat(), e.actor or "system", e.action, e.subject_type or "", e.subject_id or "", js(e.before),
         js(e.after), e.client or ""]
        for e in entries
    ]
