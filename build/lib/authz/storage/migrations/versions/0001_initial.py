"""The initial schema.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Spelled out in full rather than built from authz/storage/schema.py, so that it keeps
creating the same tables when schema.py moves on; the contract suite checks that a database
migrated to head matches schema.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key(length: int) -> sa.types.TypeEngine[str]:
    """An identifier: bytewise collation on PostgreSQL, as in schema.key()."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    revision_counter = op.create_table(
        "authz_revision",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_authz_revision"),
    )
    op.create_table(
        "organizations",
        sa.Column("id", key(128), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organizations"),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", key(128), nullable=False),
        sa.Column("organization_id", key(128), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workspaces"),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name="fk_workspaces_organization_id_organizations"
        ),
    )
    op.create_index("ix_workspaces_organization_id", "workspaces", ["organization_id"])
    op.create_table(
        "projects",
        sa.Column("id", key(128), nullable=False),
        sa.Column("workspace_id", key(128), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_projects_workspace_id_workspaces"
        ),
    )
    op.create_index("ix_projects_workspace_id", "projects", ["workspace_id"])
    op.create_table(
        "teams",
        sa.Column("id", key(128), nullable=False),
        sa.Column("organization_id", key(128), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name="fk_teams_organization_id_organizations"
        ),
    )
    op.create_index("ix_teams_organization_id", "teams", ["organization_id"])
    op.create_table(
        "team_members",
        sa.Column("team_id", key(128), nullable=False),
        sa.Column("subject", key(160), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "subject", name="pk_team_members"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_team_members_team_id_teams"),
    )
    op.create_index("ix_team_members_subject", "team_members", ["subject"])
    op.create_table(
        "role_bindings",
        sa.Column("id", key(64), nullable=False),
        sa.Column("subject", key(160), nullable=False),
        sa.Column("role", key(64), nullable=False),
        sa.Column("node_kind", key(16), nullable=False),
        sa.Column("node_id", key(128), nullable=False),
        sa.Column("created_revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_role_bindings"),
        sa.UniqueConstraint(
            "subject", "role", "node_kind", "node_id", name="uq_role_bindings_subject_role_node_kind_node_id"
        ),
    )
    op.create_index("ix_role_bindings_node_kind_node_id_id", "role_bindings", ["node_kind", "node_id", "id"])
    op.create_index("ix_role_bindings_subject_id", "role_bindings", ["subject", "id"])
    op.create_table(
        "resource_shares",
        sa.Column("node_kind", key(16), nullable=False),
        sa.Column("node_id", key(128), nullable=False),
        sa.Column("resource_type", key(64), nullable=False),
        sa.Column("resource_id", key(128), nullable=False),
        sa.Column("subject", key(160), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "node_kind", "node_id", "resource_type", "resource_id", "subject", name="pk_resource_shares"
        ),
    )
    op.create_index("ix_resource_shares_subject", "resource_shares", ["subject"])
    op.create_table(
        "changes",
        sa.Column("revision", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("committed_at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("operations", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("revision", name="pk_changes"),
    )
    op.bulk_insert(revision_counter, [{"id": 1, "revision": 0}])


def downgrade() -> None:
    for table in (
        "changes",
        "resource_shares",
        "role_bindings",
        "team_members",
        "teams",
        "projects",
        "workspaces",
        "organizations",
        "authz_revision",
    ):
        op.drop_table(table)
