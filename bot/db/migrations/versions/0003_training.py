"""Training completion: roster start dates, curricula, their required scenarios, assignments and sign-offs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Plain SQLAlchemy types, as in 0001: the models in bot/db/training.py may change later.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "roster_entries",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        _timestamp("imported_at"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_roster_entries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_roster_entries")),
    )

    op.create_table(
        "curricula",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _timestamp("created_at"),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_curricula_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curricula")),
        sa.UniqueConstraint("name", name=op.f("uq_curricula_name")),
    )

    op.create_table(
        "curriculum_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("curriculum_id", sa.Integer(), nullable=False),
        sa.Column("scenario", sa.String(length=100), nullable=False),
        sa.Column("persona", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.CheckConstraint("pass_mark BETWEEN 0 AND 100", name=op.f("ck_curriculum_items_pass_mark_range")),
        sa.ForeignKeyConstraint(
            ["curriculum_id"],
            ["curricula.id"],
            name=op.f("fk_curriculum_items_curriculum_id_curricula"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curriculum_items")),
        sa.UniqueConstraint(
            "curriculum_id",
            "scenario",
            "persona",
            "mode",
            name=op.f("uq_curriculum_items_curriculum_id_scenario_persona_mode"),
        ),
    )
    op.create_index(op.f("ix_curriculum_items_curriculum_id"), "curriculum_items", ["curriculum_id"])

    op.create_table(
        "curriculum_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("curriculum_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        _timestamp("created_at"),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (team IS NULL)", name=op.f("ck_curriculum_assignments_user_or_team")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"], ["users.id"], name=op.f("fk_curriculum_assignments_assigned_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["curriculum_id"],
            ["curricula.id"],
            name=op.f("fk_curriculum_assignments_curriculum_id_curricula"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_curriculum_assignments_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curriculum_assignments")),
        sa.UniqueConstraint("curriculum_id", "team", name=op.f("uq_curriculum_assignments_curriculum_id_team")),
        sa.UniqueConstraint(
            "curriculum_id", "user_id", name=op.f("uq_curriculum_assignments_curriculum_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_curriculum_assignments_curriculum_id"), "curriculum_assignments", ["curriculum_id"]
    )
    op.create_index(op.f("ix_curriculum_assignments_user_id"), "curriculum_assignments", ["user_id"])
    op.create_index(op.f("ix_curriculum_assignments_team"), "curriculum_assignments", ["team"])

    op.create_table(
        "sign_offs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["practice_sessions.id"],
            name=op.f("fk_sign_offs_session_id_practice_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["signed_by_id"], ["users.id"], name=op.f("fk_sign_offs_signed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_offs")),
        sa.UniqueConstraint("session_id", name=op.f("uq_sign_offs_session_id")),
    )
    op.create_index(op.f("ix_sign_offs_signed_by_id"), "sign_offs", ["signed_by_id"])


def downgrade() -> None:
    op.drop_table("sign_offs")
    op.drop_table("curriculum_assignments")
    op.drop_table("curriculum_items")
    op.drop_table("curricula")
    op.drop_table("roster_entries")
