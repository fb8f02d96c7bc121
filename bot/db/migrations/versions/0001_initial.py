"""Initial schema: users, practice sessions, turns, scorecards, overrides and comments.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Drafted with `alembic revision --autogenerate` and rewritten by hand. It uses plain SQLAlchemy
types (no imports from bot.db.models, which will change after this revision was written):
timestamps are DateTime(timezone=True), what models.UTCDateTime is stored as.
tests/test_storage.py checks that this schema matches the models on SQLite and PostgreSQL.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

OUTCOME_CHECK = "outcome IN ('resolved', 'churned', 'escalated', 'abandoned')"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        _timestamp("created_at"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("role IN ('trainee', 'trainer', 'hr', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )

    op.create_table(
        "practice_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("scenario", sa.String(length=100), nullable=False),
        sa.Column("persona", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("opening", sa.Text(), nullable=True),
        _timestamp("started_at"),
        _timestamp("ended_at", nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("start_mood", sa.Integer(), nullable=True),
        sa.Column("mood_curve", sa.JSON(), nullable=False),
        sa.CheckConstraint(OUTCOME_CHECK, name=op.f("ck_practice_sessions_outcome")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_practice_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_sessions")),
    )
    op.create_index(op.f("ix_practice_sessions_user_id"), "practice_sessions", ["user_id"])
    op.create_index(op.f("ix_practice_sessions_sender_id"), "practice_sessions", ["sender_id"])
    op.create_index(op.f("ix_practice_sessions_scenario"), "practice_sessions", ["scenario"])
    op.create_index(op.f("ix_practice_sessions_started_at"), "practice_sessions", ["started_at"])

    op.create_table(
        "turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("trainee_text", sa.Text(), nullable=False),
        sa.Column("customer_text", sa.Text(), nullable=True),
        _timestamp("created_at"),
        sa.Column("mood", sa.Integer(), nullable=True),
        sa.Column("mood_change", sa.Integer(), nullable=True),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("checks_version", sa.String(length=32), nullable=False),
        sa.Column("rubric_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["practice_sessions.id"],
            name=op.f("fk_turns_session_id_practice_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turns")),
        # Makes record_turn idempotent: one row per turn number of a session.
        sa.UniqueConstraint("session_id", "number", name=op.f("uq_turns_session_id_number")),
    )

    op.create_table(
        "scorecards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("rubric_version", sa.Integer(), nullable=False),
        sa.Column("checks_version", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("criteria", sa.JSON(), nullable=False),
        _timestamp("created_at"),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.CheckConstraint(OUTCOME_CHECK, name=op.f("ck_scorecards_outcome")),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_scorecards_score_range")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["practice_sessions.id"],
            name=op.f("fk_scorecards_session_id_practice_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorecards")),
    )
    op.create_index(op.f("ix_scorecards_session_id"), "scorecards", ["session_id"])
    # At most one current scorecard per session (a partial unique index on both databases).
    op.create_index(
        "uq_scorecards_current",
        "scorecards",
        ["session_id"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )

    op.create_table(
        "check_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("turn_id", sa.Integer(), nullable=False),
        sa.Column("check", sa.String(length=64), nullable=False),
        sa.Column("machine_found", sa.Boolean(), nullable=False),
        sa.Column("trainer_found", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("length(trim(reason)) > 0", name=op.f("ck_check_overrides_reason_not_empty")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_check_overrides_reviewer_id_users")),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name=op.f("fk_check_overrides_turn_id_turns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_overrides")),
    )
    op.create_index(op.f("ix_check_overrides_reviewer_id"), "check_overrides", ["reviewer_id"])
    op.create_index("ix_check_overrides_turn_check", "check_overrides", ["turn_id", "check"])

    op.create_table(
        "outcome_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("machine_outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint(OUTCOME_CHECK, name=op.f("ck_outcome_overrides_outcome")),
        sa.CheckConstraint("length(trim(reason)) > 0", name=op.f("ck_outcome_overrides_reason_not_empty")),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_outcome_overrides_reviewer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["practice_sessions.id"],
            name=op.f("fk_outcome_overrides_session_id_practice_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_overrides")),
    )
    op.create_index(op.f("ix_outcome_overrides_reviewer_id"), "outcome_overrides", ["reviewer_id"])
    op.create_index(op.f("ix_outcome_overrides_session_id"), "outcome_overrides", ["session_id"])

    op.create_table(
        "turn_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("turn_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("length(trim(text)) > 0", name=op.f("ck_turn_comments_text_not_empty")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_turn_comments_author_id_users")),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name=op.f("fk_turn_comments_turn_id_turns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turn_comments")),
    )
    op.create_index(op.f("ix_turn_comments_author_id"), "turn_comments", ["author_id"])
    op.create_index(op.f("ix_turn_comments_turn_id"), "turn_comments", ["turn_id"])


def downgrade() -> None:
    # Dropping a table drops its indexes too.
    for table in (
        "turn_comments",
        "outcome_overrides",
        "check_overrides",
        "scorecards",
        "turns",
        "practice_sessions",
        "users",
    ):
        op.drop_table(table)
