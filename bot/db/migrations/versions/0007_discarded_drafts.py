"""A scenario draft can be discarded: scenario_versions.status may also be 'discarded'.

Revision ID: 0007_discarded_drafts
Revises: 0006_scenarios
Create Date: 2026-12-06

A discarded draft that nobody played is deleted; one that a trainer tried in the practice chat
stays, as 'discarded', because those sessions name its version (their transcripts and re-scoring
read it). Only the status check changes.
"""
from __future__ import annotations

from alembic import op

revision = "0007_discarded_drafts"
down_revision = "0006_scenarios"
branch_labels = None
depends_on = None

BEFORE = "status IN ('draft', 'published', 'archived')"
AFTER = "status IN ('draft', 'published', 'archived', 'discarded')"


def _status_check(condition: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new check.
    with op.batch_alter_table("scenario_versions") as batch:
        batch.drop_constraint(op.f("ck_scenario_versions_status"), type_="check")
        batch.create_check_constraint(op.f("ck_scenario_versions_status"), condition)


def upgrade() -> None:
    _status_check(AFTER)


def downgrade() -> None:
    # Discarded drafts were never published: back to draft they would break "one draft per
    # scenario", so they go.
    op.execute("DELETE FROM scenario_versions WHERE status = 'discarded'")
    _status_check(BEFORE)
