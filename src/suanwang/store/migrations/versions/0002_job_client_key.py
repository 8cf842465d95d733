"""Submission idempotency: ``jobs.client_key`` (the client's Idempotency-Key), unique per tenant.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint("uq_jobs_tenant_client_key", ["tenant_id", "client_key"])


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_jobs_tenant_client_key", type_="unique")
        batch_op.drop_column("client_key")
