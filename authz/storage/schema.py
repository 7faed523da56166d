"""The database schema as SQLAlchemy Core tables. The migrations in migrations/versions/
create exactly this; the contract suite checks that the two agree on every backend."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeEngine

# Deterministic constraint names, so that later migrations can name what they alter.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def key(length: int) -> TypeEngine[str]:
    """An identifier column. On PostgreSQL it compares bytewise (collation "C"), as SQLite
    and Python do, so that ORDER BY id and `id > after_id` page the same way everywhere,
    whatever the database's default collation."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Every foreign-key column is indexed (team_members.team_id leads its primary key): deleting
# a parent row makes the database look for referencing children, which without an index is a
# scan of the whole child table per deleted parent. Nothing else is: every query the server
# makes reads by primary key or whole tables (it answers everything else from memory), and
# each index more is a B-tree that every row of an Import updates in random order.

revision_counter = Table(
    "authz_revision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("revision", BigInteger, nullable=False),
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", key(128), primary_key=True),
    Column("display_name", String, nullable=False),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", key(128), primary_key=True),
    Column("organization_id", key(128), ForeignKey("organizations.id"), nullable=False),
    Column("display_name", String, nullable=False),
    Index(None, "organization_id"),
)

projects = Table(
    "projects",
    metadata,
    Column("id", key(128), primary_key=True),
    Column("workspace_id", key(128), ForeignKey("workspaces.id"), nullable=False),
    Column("display_name", String, nullable=False),
    Index(None, "workspace_id"),
)

teams = Table(
    "teams",
    metadata,
    Column("id", key(128), primary_key=True),
    Column("organization_id", key(128), ForeignKey("organizations.id"), nullable=False),
    Column("display_name", String, nullable=False),
    Index(None, "organization_id"),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", key(128), ForeignKey("teams.id"), nullable=False),
    Column("subject", key(160), nullable=False),
    # Unix seconds from which the row no longer counts; NULL for never (migration 0004).
    Column("expires_at", Float, nullable=True),
    PrimaryKeyConstraint("team_id", "subject"),
)

role_bindings = Table(
    "role_bindings",
    metadata,
    Column("id", key(64), primary_key=True),
    Column("subject", key(160), nullable=False),
    Column("role", key(64), nullable=False),
    Column("node_kind", key(16), nullable=False),
    Column("node_id", key(128), nullable=False),
    Column("created_revision", BigInteger, nullable=False),
    Column("expires_at", Float, nullable=True),
    UniqueConstraint("subject", "role", "node_kind", "node_id"),
)

resource_shares = Table(
    "resource_shares",
    metadata,
    Column("node_kind", key(16), nullable=False),
    Column("node_id", key(128), nullable=False),
    Column("resource_type", key(64), nullable=False),
    Column("resource_id", key(128), nullable=False),
    Column("subject", key(160), nullable=False),
    # The action names, sorted and joined by "," (an action never contains a comma).
    Column("actions", Text, nullable=False),
    Column("expires_at", Float, nullable=True),
    PrimaryKeyConstraint("node_kind", "node_id", "resource_type", "resource_id", "subject"),
)

changes = Table(
    "changes",
    metadata,
    Column("revision", BigInteger, primary_key=True, autoincrement=False),
    Column("committed_at", Float, nullable=False),  # unix seconds
    Column("actor", String, nullable=False),
    Column("request_id", String, nullable=False),
    Column("operations", Text, nullable=False),  # JSON, see codec.py
    # The rows put and removed, JSON (rows.encode_changes); NULL before migration 0005.
    Column("row_changes", Text, nullable=True),
)

custom_roles = Table(
    "custom_roles",
    metadata,
    Column("name", key(64), primary_key=True),
    Column("level", key(16), nullable=False),
    Column("base_role", key(64), nullable=False),  # "" when the role extends none
    # "type:action" pairs joined by "," (names never contain ":" or ",").
    Column("permissions", Text, nullable=False),
)
