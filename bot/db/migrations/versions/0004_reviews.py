"""Trainer-adjusted scorecards: a scorecard that re-scores a machine scorecard with the trainers' verdicts.

Revision ID: 0004_reviews
Revises: 0003
Create Date: 2026-12-05

`scorecards.adjusted_from_id` names the machine scorecard a trainer-adjusted one was made from;
it is null on every scorecard the machine made (all of them before this revision).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_reviews"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No foreign key: SQLite could only add one by rebuilding the table, which would lose the
    # partial unique index on the current scorecard. Both rows belong to the same session and
    # go together when it is deleted.
    op.add_column("scorecards", sa.Column("adjusted_from_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scorecards") as batch:
        batch.drop_column("adjusted_from_id")
