"""Row changes in the change table: each record keeps the rows its write put and removed, so that
a replica following the table reaches the writer's index without planning the operations again
(planning depends on the clock and on the index it runs against). Nullable: records written
before this migration have none, and a replica that meets one loads a snapshot instead.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 13:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("changes", sa.Column("row_changes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.drop_column("row_changes")
