"""Custom roles, created by operators through PolicyService.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "custom_roles",
        sa.Column("name", key(64), nullable=False),
        sa.Column("level", key(16), nullable=False),
        sa.Column("base_role", key(64), nullable=False),
        sa.Column("permissions", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_custom_roles"),
    )


def downgrade() -> None:
    op.drop_table("custom_roles")
