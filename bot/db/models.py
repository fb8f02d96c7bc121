"""Every table: users, practice sessions, turns, scorecards, reviews, the audit log and training records.

Conventions:
- Times are timezone-aware UTC datetimes in Python on every database (`UTCDateTime`, with the
  declarative `Base` and its constraint names in `bot/db/base.py`).
- `checks`, `criteria` and `mood_curve` are `sqlalchemy.JSON`, which is JSON on PostgreSQL and
  JSON text on SQLite; a turn's `checks` is stored exactly as the checks returned it,
  `{check: {"found": bool, "evidence": [str], "tip": str | None}}`.
- Machine verdicts are never edited: a trainer's correction is a row of its own
  (`CheckOverride`, `OutcomeOverride`), the latest one per turn and check (or per session) wins.
- Re-scoring adds a `Scorecard` row and moves `is_current` to it; old rows stay beside it.
  A trainer's override adds a trainer-adjusted scorecard (`adjusted_from_id` names the machine's).

The migrations (`migrations/versions/`) create exactly these tables; a test compares the
migrated schema with this metadata on SQLite and PostgreSQL.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    column,
    text,
)
from sqlalchemy.orm import relationship

from bot.db.base import Base, UTCDateTime, utcnow

ROLES = ("trainee", "trainer", "hr", "admin")
# Who may overrule the machine: reviewing transcripts is the trainers' job.
REVIEWER_ROLES = ("trainer", "admin")
OUTCOMES = ("resolved", "churned", "escalated", "abandoned")
# Curricula are about assessments; coach mode is practice with tips and is accepted too, so an
# organisation can require practice runs.
MODES = ("assessment", "coach")
DEFAULT_MODE = "assessment"

# Longest e-mail address SMTP allows (RFC 5321 path limit minus the angle brackets).
EMAIL_MAX = 254
# The protocol's session_id is uuid4().hex (32 characters); leave room for other id schemes.
SESSION_ID_MAX = 64

def _one_of(name: str, values: tuple) -> Any:
    """`name IN (...)` for a CHECK constraint; the DDL compiler renders the values as literals."""
    return column(name).in_(values)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id = Column(Integer, primary_key=True)
    # Stored lower-cased and trimmed (see users.normalise_email), so uniqueness ignores case.
    email = Column(String(EMAIL_MAX), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    team = Column(String(100), nullable=True)
    role = Column(String(16), nullable=False, default="trainee")
    # werkzeug.security.generate_password_hash output, e.g. "scrypt:32768:8:1$salt$hash".
    password_hash = Column(String(255), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    active = Column(Boolean, nullable=False, default=True)
    # Roles beyond `role`, space-separated (someone in HR who also trains: role "hr", extra
    # "trainer"). Read them through `roles`.
    extra_roles = Column(String(64), nullable=False, default="", server_default="")
    # Every signed-in cookie carries the version it was issued under; signing out, a password
    # change and deactivation bump it, so every cookie issued before stops working.
    session_version = Column(Integer, nullable=False, default=0, server_default="0")
    password_changed_at = Column(UTCDateTime(), nullable=True)

    @property
    def roles(self) -> frozenset:
        """Every role this person holds: `role` and the extra ones."""
        return frozenset([self.role, *(self.extra_roles or "").split()])

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class Conversation(Base):
    """Who a Rasa conversation (sender id) belongs to, written by the web app before it relays.

    The action server sees only the sender id; this is how a stored session finds its trainee.
    """

    __tablename__ = "conversations"

    sender_id = Column(String(255), primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False, index=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    user = relationship("User")


class PracticeSession(Base):
    """One conversation: `id` is the protocol's session_id, `sender_id` the Rasa conversation."""

    __tablename__ = "practice_sessions"
    __table_args__ = (CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome"),)

    id = Column(String(SESSION_ID_MAX), primary_key=True)
    # Null for anonymous or API use.
    user_id = Column(Integer, ForeignKey("users.id"), nullable=True, index=True)
    sender_id = Column(String(255), nullable=False, index=True)
    scenario = Column(String(100), nullable=False, index=True)
    persona = Column(String(32), nullable=False)
    mode = Column(String(32), nullable=False)
    # The customer's opening message, which no turn holds.
    opening = Column(Text, nullable=True)
    started_at = Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    ended_at = Column(UTCDateTime(), nullable=True)
    # The machine's outcome; a trainer's correction is an OutcomeOverride. Null while running.
    outcome = Column(String(16), nullable=True)
    # The customer's mood before the first reply (the protocol's session_started "mood").
    start_mood = Column(Integer, nullable=True)
    # start_mood, then the mood after each turn; kept up to date by record_turn.
    mood_curve = Column(JSON, nullable=False, default=list)

    user = relationship("User")

    def __repr__(self) -> str:
        return f"<PracticeSession {self.id} {self.scenario}/{self.persona} {self.outcome}>"


class Turn(Base):
    """One trainee reply, the customer's answer to it, and the checks' verdicts on the reply."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("session_id", "number"),)

    id = Column(Integer, primary_key=True)
    session_id = Column(String(SESSION_ID_MAX), ForeignKey("practice_sessions.id", ondelete="CASCADE"), nullable=False)
    # 1 for the first reply, as in the protocol's feedback "turn".
    number = Column(Integer, nullable=False)
    trainee_text = Column(Text, nullable=False)
    # What the customer answered to this reply.
    customer_text = Column(Text, nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    mood = Column(Integer, nullable=True)
    mood_change = Column(Integer, nullable=True)
    checks = Column(JSON, nullable=False)
    checks_version = Column(String(32), nullable=False)
    rubric_version = Column(Integer, nullable=True)

    def __repr__(self) -> str:
        return f"<Turn {self.session_id}#{self.number}>"


class Scorecard(Base):
    __tablename__ = "scorecards"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),
        CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome"),
        # At most one current scorecard per session, enforced by the database too.
        Index(
            "uq_scorecards_current",
            "session_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id = Column(Integer, primary_key=True)
    session_id = Column(
        String(SESSION_ID_MAX), ForeignKey("practice_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    rubric_version = Column(Integer, nullable=False)
    checks_version = Column(String(32), nullable=False)
    score = Column(Integer, nullable=False)
    passed = Column(Boolean, nullable=False)
    pass_mark = Column(Integer, nullable=True)
    outcome = Column(String(16), nullable=True)
    # The scorecard payload's criteria: {name: {label, met, weight, points, explanation}}.
    criteria = Column(JSON, nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    is_current = Column(Boolean, nullable=False, default=True)
    # Set on a trainer-adjusted scorecard (bot/adjusted_score.py): the machine scorecard it
    # re-scores with the trainers' verdicts. Null on the machine's own scorecards.
    # No foreign key (see migration 0004_reviews): both rows belong to the same session.
    adjusted_from_id = Column(Integer, nullable=True)

    @property
    def trainer_adjusted(self) -> bool:
        return self.adjusted_from_id is not None

    def __repr__(self) -> str:
        return f"<Scorecard {self.id} {self.session_id} {self.score} current={self.is_current}>"


class CheckOverride(Base):
    """A trainer's verdict on one check of one turn; `machine_found` is copied from the turn."""

    __tablename__ = "check_overrides"
    # reason_not_empty is a backstop: SQL's portable trim() strips spaces only, so
    # reviews._require_reason also refuses reasons of tabs and newlines.
    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="reason_not_empty"),
        Index("ix_check_overrides_turn_check", "turn_id", "check"),
    )

    id = Column(Integer, primary_key=True)
    turn_id = Column(Integer, ForeignKey("turns.id", ondelete="CASCADE"), nullable=False)
    check = Column(String(64), nullable=False)
    machine_found = Column(Boolean, nullable=False)
    trainer_found = Column(Boolean, nullable=False)
    reason = Column(Text, nullable=False)
    reviewer_id = Column(Integer, ForeignKey("users.id"), nullable=False, index=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    reviewer = relationship("User")

    @property
    def agrees(self) -> bool:
        return self.machine_found == self.trainer_found


class OutcomeOverride(Base):
    """A trainer's correction of how a session ended; `machine_outcome` is copied from it."""

    __tablename__ = "outcome_overrides"
    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="reason_not_empty"),
        CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome"),
    )

    id = Column(Integer, primary_key=True)
    session_id = Column(
        String(SESSION_ID_MAX), ForeignKey("practice_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    machine_outcome = Column(String(16), nullable=True)
    outcome = Column(String(16), nullable=False)
    reason = Column(Text, nullable=False)
    reviewer_id = Column(Integer, ForeignKey("users.id"), nullable=False, index=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    reviewer = relationship("User")


class TurnComment(Base):
    __tablename__ = "turn_comments"
    __table_args__ = (CheckConstraint("length(trim(text)) > 0", name="text_not_empty"),)

    id = Column(Integer, primary_key=True)
    turn_id = Column(Integer, ForeignKey("turns.id", ondelete="CASCADE"), nullable=False, index=True)
    author_id = Column(Integer, ForeignKey("users.id"), nullable=False, index=True)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    author = relationship("User")


class SignInThrottle(Base):
    """Failed sign-ins per account (`email:<address>`) or per client (`ip:<address>`).

    A row exists only after a failure; a successful sign-in deletes the account's row.
    """

    __tablename__ = "sign_in_throttle"

    key = Column(String(300), primary_key=True)
    failures = Column(Integer, nullable=False, default=0)
    last_failure_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    # No attempt is checked before this time (the growing delay, or the temporary lock).
    blocked_until = Column(UTCDateTime(), nullable=True)


class AuditEntry(Base):
    """Who did what, when, with the state before and after (bot.db.audit writes and reads these).

    No foreign keys on purpose: the log outlives the people and sessions it names, so erasing a
    trainee's data keeps the entries (and adds one saying so); names are copied at the time.
    """

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    # Null for the system (launcher, command line without a signed-in person).
    actor_id = Column(Integer, nullable=True, index=True)
    actor = Column(String(EMAIL_MAX), nullable=True)
    action = Column(String(64), nullable=False, index=True)
    # What it was done to: ("user", "12"), ("session", "<id>"), ("roster", None) ...
    subject_type = Column(String(32), nullable=True)
    subject_id = Column(String(SESSION_ID_MAX), nullable=True)
    before = Column(JSON, nullable=True)
    after = Column(JSON, nullable=True)
    client = Column(String(64), nullable=True)


# --- training records (HR): roster, curricula, assignments, sign-offs ---------------------------


class RosterEntry(Base):
    """What the HR roster says about a person beyond the users table: when they started."""

    __tablename__ = "roster_entries"

    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    start_date = Column(Date, nullable=True)
    imported_at = Column(UTCDateTime(), nullable=False, default=utcnow)


class Curriculum(Base):
    __tablename__ = "curricula"

    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False, unique=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    created_by_id = Column(Integer, ForeignKey("users.id"), nullable=True)

    items = relationship(
        "CurriculumItem",
        order_by="CurriculumItem.id",
        cascade="all, delete-orphan",
        back_populates="curriculum",
    )

    def __repr__(self) -> str:
        return f"<Curriculum {self.id} {self.name}>"


class CurriculumItem(Base):
    """One required scenario of a curriculum."""

    __tablename__ = "curriculum_items"
    __table_args__ = (
        UniqueConstraint("curriculum_id", "scenario", "persona", "mode"),
        CheckConstraint("pass_mark BETWEEN 0 AND 100", name="pass_mark_range"),
    )

    id = Column(Integer, primary_key=True)
    curriculum_id = Column(Integer, ForeignKey("curricula.id", ondelete="CASCADE"), nullable=False, index=True)
    scenario = Column(String(100), nullable=False)
    persona = Column(String(32), nullable=False)
    mode = Column(String(32), nullable=False, default=DEFAULT_MODE)
    pass_mark = Column(Integer, nullable=False)
    # The last day on which the requirement is on time; null for no deadline.
    due_date = Column(Date, nullable=True)

    curriculum = relationship("Curriculum", back_populates="items")


class CurriculumAssignment(Base):
    """A curriculum assigned to one trainee (`user_id`) or to everyone in a team (`team`)."""

    __tablename__ = "curriculum_assignments"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (team IS NULL)", name="user_or_team"),
        UniqueConstraint("curriculum_id", "user_id"),
        UniqueConstraint("curriculum_id", "team"),
    )

    id = Column(Integer, primary_key=True)
    curriculum_id = Column(Integer, ForeignKey("curricula.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True)
    team = Column(String(100), nullable=True, index=True)
    assigned_by_id = Column(Integer, ForeignKey("users.id"), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    curriculum = relationship("Curriculum")
    user = relationship("User", foreign_keys=[user_id])


class SignOff(Base):
    """A trainer's decision that one passing attempt counts: the pass is then certified."""

    __tablename__ = "sign_offs"

    id = Column(Integer, primary_key=True)
    session_id = Column(
        String(SESSION_ID_MAX),
        ForeignKey("practice_sessions.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    )
    signed_by_id = Column(Integer, ForeignKey("users.id"), nullable=False, index=True)
    note = Column(Text, nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    signed_by = relationship("User")
    practice_session = relationship("PracticeSession")
