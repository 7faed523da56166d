"""Drop the secondary indexes that no query uses.

The server answers filtered binding listings from memory, so the indexes by subject and by
node of role_bindings, and by subject of team_members and resource_shares, only cost: every
row of an Import updated each of them in random order (measured: half of SQLite's insert
time at 300,000 bindings).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 02:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = (
    ("ix_role_bindings_node_kind_node_id_id", "role_bindings", ["node_kind", "node_id", "id"]),
    ("ix_role_bindings_subject_id", "role_bindings", ["subject", "id"]),
    ("ix_team_members_subject", "team_members", ["subject"]),
    ("ix_resource_shares_subject", "resource_shares", ["subject"]),
)


def upgrade() -> None:
    for name, table, _ in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in DROPPED:
        op.create_index(name, table, columns)
