"""Index ``attempts.state``: every controller tick selects the live (PENDING/RUNNING) attempts,
which are few next to the finished ones once a store has run for a while.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_attempts_state"), "attempts", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_attempts_state"), table_name="attempts")
