"""Grants that expire: an `expires_at` column (unix seconds, NULL for never) on role_bindings,
resource_shares and team_members. Nullable and without a default, so that adding it rewrites
no existing row on either backend.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("role_bindings", "resource_shares", "team_members")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("expires_at", sa.Float(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("expires_at")
