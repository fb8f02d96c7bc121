"""A person's data on request: everything stored about one trainee, as JSON, or erased.

`python -m bot.db export-user --email X` writes one JSON document: the account (without the
password hash), roster entry, curriculum assignments, conversations, practice sessions with
turns, scorecards, trainers' overrides and comments, sign-offs, and the audit entries about them.
`python -m bot.db erase-user --email X` deletes all of that (and the person's conversations in
Rasa's tracker store) and writes an audit entry saying what went; earlier audit entries stay,
as the log is the company's record of its own decisions.

Someone whose name is on other people's records (a trainer's overrides, comments, sign-offs,
curricula) cannot be erased without rewriting those records: the command says so, and
deactivating the account is the way to go.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Dict, List, Optional

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from bot.db import audit
from bot.db.errors import NotFound
from bot.db.models import (
    AuditEntry,
    CheckOverride,
    Conversation,
    Curriculum,
    CurriculumAssignment,
    OutcomeOverride,
    PracticeSession,
    RosterEntry,
    Scorecard,
    SignOff,
    Turn,
    TurnComment,
    User,
)
from bot.db.users import get_user_by_email
from bot.errors import CoachError

FORMAT_VERSION = 1


class CannotErase(CoachError):
    code = "cannot_erase"


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _row(row: Any, *, leave_out: tuple = ()) -> Dict[str, Any]:
    return {c.name: _plain(getattr(row, c.key)) for c in row.__table__.columns if c.name not in leave_out}


def _rows(session: Session, query) -> List[Dict[str, Any]]:
    return [_row(r) for r in session.execute(query).scalars()]


def _find(session: Session, email: str) -> User:
    user = get_user_by_email(session=session, email=email)
    if user is None:
        raise NotFound(f"No user with the e-mail address {email}.")
    return user


def export_user(*, session: Session, email: str) -> Dict[str, Any]:
    """Everything stored about the person with this e-mail address, as plain JSON-able data."""
    user = _find(session, email)
    session_ids = select(PracticeSession.id).where(PracticeSession.user_id == user.id)
    turn_ids = select(Turn.id).where(Turn.session_id.in_(session_ids))
    about_them = or_(
        (AuditEntry.subject_type == "user") & (AuditEntry.subject_id == str(user.id)),
        (AuditEntry.subject_type == "email") & (AuditEntry.subject_id == user.email),
        (AuditEntry.subject_type == "session") & AuditEntry.subject_id.in_(session_ids),
        AuditEntry.actor_id == user.id,
    )
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "user": _row(user, leave_out=("password_hash",)),
        "roster_entry": _rows(session, select(RosterEntry).where(RosterEntry.user_id == user.id)),
        "curriculum_assignments": _rows(
            session, select(CurriculumAssignment).where(CurriculumAssignment.user_id == user.id)
        ),
        "conversations": _rows(session, select(Conversation).where(Conversation.user_id == user.id)),
        "practice_sessions": _rows(
            session, select(PracticeSession).where(PracticeSession.user_id == user.id).order_by(PracticeSession.started_at)
        ),
        "turns": _rows(session, select(Turn).where(Turn.session_id.in_(session_ids)).order_by(Turn.session_id, Turn.number)),
        "scorecards": _rows(session, select(Scorecard).where(Scorecard.session_id.in_(session_ids))),
        "check_overrides": _rows(session, select(CheckOverride).where(CheckOverride.turn_id.in_(turn_ids))),
        "outcome_overrides": _rows(session, select(OutcomeOverride).where(OutcomeOverride.session_id.in_(session_ids))),
        "turn_comments": _rows(session, select(TurnComment).where(TurnComment.turn_id.in_(turn_ids))),
        "sign_offs": _rows(session, select(SignOff).where(SignOff.session_id.in_(session_ids))),
        "audit_entries": _rows(session, select(AuditEntry).where(about_them).order_by(AuditEntry.at)),
    }


def _names_on_others_records(session: Session, user: User) -> List[str]:
    own_sessions = select(PracticeSession.id).where(PracticeSession.user_id == user.id)
    own_turns = select(Turn.id).where(Turn.session_id.in_(own_sessions))
    checks = [
        ("overrides", select(CheckOverride.id).where(CheckOverride.reviewer_id == user.id, CheckOverride.turn_id.notin_(own_turns))),
        ("outcome overrides", select(OutcomeOverride.id).where(
            OutcomeOverride.reviewer_id == user.id, OutcomeOverride.session_id.notin_(own_sessions))),
        ("comments", select(TurnComment.id).where(TurnComment.author_id == user.id, TurnComment.turn_id.notin_(own_turns))),
        ("sign-offs", select(SignOff.id).where(SignOff.signed_by_id == user.id)),
        ("curricula", select(Curriculum.id).where(Curriculum.created_by_id == user.id)),
        ("assignments", select(CurriculumAssignment.id).where(CurriculumAssignment.assigned_by_id == user.id)),
    ]
    return [what for what, query in checks if session.execute(query.limit(1)).first() is not None]


def erase_user(*, session: Session, email: str, actor: Optional[User] = None) -> Dict[str, Any]:
    """Delete everything about this person; return the sender ids (for the tracker store) and counts."""
    user = _find(session, email)
    blocking = _names_on_others_records(session, user)
    if blocking:
        raise CannotErase(
            f"{user.email} is named on other people's records ({', '.join(blocking)}); erasing would rewrite them. "
            "Deactivate the account instead (People page)."
        )
    export = export_user(session=session, email=email)
    senders = sorted({c["sender_id"] for c in export["conversations"]} | {s["sender_id"] for s in export["practice_sessions"]})
    counts = {key: len(value) for key, value in export.items() if isinstance(value, list) and key != "audit_entries"}
    user_id = user.id
    # Turns, scorecards, overrides, comments and sign-offs go with their session (ON DELETE CASCADE);
    # the roster entry and assignments with the user.
    for model in (CheckOverride, TurnComment):
        session.execute(delete(model).where(model.turn_id.in_(
            select(Turn.id).where(Turn.session_id.in_(select(PracticeSession.id).where(PracticeSession.user_id == user_id)))
        )).execution_options(synchronize_session=False))
    own = select(PracticeSession.id).where(PracticeSession.user_id == user_id)
    for model in (OutcomeOverride, SignOff, Scorecard, Turn):
        session.execute(delete(model).where(model.session_id.in_(own)).execution_options(synchronize_session=False))
    session.execute(delete(PracticeSession).where(PracticeSession.user_id == user_id).execution_options(synchronize_session=False))
    session.execute(delete(Conversation).where(Conversation.user_id == user_id).execution_options(synchronize_session=False))
    for model in (RosterEntry, CurriculumAssignment):
        session.execute(delete(model).where(model.user_id == user_id).execution_options(synchronize_session=False))
    session.execute(delete(User).where(User.id == user_id).execution_options(synchronize_session=False))
    session.expunge_all()
    audit.record(session=session, action="user_data_erased", actor=actor, subject=("user", user_id),
                 before={"email": email, "counts": counts}, after=None)
    return {"user_id": user_id, "senders": senders, "counts": counts}


def erase_tracker_conversations(tracker_url: str, senders: List[str]) -> int:
    """Delete these conversations from Rasa's SQL tracker store; return the events deleted."""
    from sqlalchemy import MetaData, Table, create_engine

    if not senders:
        return 0
    engine = create_engine(tracker_url, future=True)
    try:
        with engine.begin() as connection:
            metadata = MetaData()
            try:
                events = Table("events", metadata, autoload_with=connection)
            except Exception:
                return 0  # Rasa has not created its table yet: nothing stored there
            return connection.execute(delete(events).where(events.c.sender_id.in_(senders))).rowcount or 0
    finally:
        engine.dispose()
