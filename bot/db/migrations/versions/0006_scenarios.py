"""Scenarios in the database: versions with the whole scenario document, and the version each
session played.

Revision ID: 0006_scenarios
Revises: 0005_accounts_audit
Create Date: 2026-12-06

New tables scenarios and scenario_versions (draft, published, archived); practice_sessions gains
scenario_version (null for sessions played from the shipped files before this revision). The
shipped files are loaded as version 1 by bot.db.scenario_store.seed_shipped, which the launcher
and `python -m bot.db upgrade` run after migrating.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_scenarios"
down_revision = "0005_accounts_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_scenarios_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenarios")),
    )
    op.create_table(
        "scenario_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name=op.f("ck_scenario_versions_status")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_scenario_versions_author_id_users")),
        sa.ForeignKeyConstraint(
            ["scenario_id"], ["scenarios.id"], name=op.f("fk_scenario_versions_scenario_id_scenarios"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_versions")),
        sa.UniqueConstraint("scenario_id", "version", name=op.f("uq_scenario_versions_scenario_id_version")),
    )
    op.create_index(op.f("ix_scenario_versions_scenario_id"), "scenario_versions", ["scenario_id"])
    op.add_column("practice_sessions", sa.Column("scenario_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("practice_sessions") as batch:
        batch.drop_column("scenario_version")
    op.drop_index(op.f("ix_scenario_versions_scenario_id"), table_name="scenario_versions")
    op.drop_table("scenario_versions")
    op.drop_table("scenarios")
