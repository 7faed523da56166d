"""How each domain row type maps onto its table: the column values to insert, the primary
key to delete by, and the row to rebuild from selected columns."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Delete, Insert, Select, Table, and_, bindparam, select

from authz.domain.model import (
    BindingRow,
    Change,
    MemberRow,
    Node,
    OrganizationRow,
    ProjectRow,
    Put,
    Remove,
    RoleRow,
    Row,
    ShareRow,
    TeamRow,
    WorkspaceRow,
)

from . import schema


@dataclass(frozen=True, slots=True)
class Mapping:
    table: Table
    key: tuple[str, ...]
    values: Callable[[Any], dict[str, Any]]
    build: Callable[[Sequence[Any]], Row]  # from the columns of `table`, in table order
    insert: Insert
    delete: Delete  # by primary key, with parameters named "key_<column>"
    select: Select[Any]

    def key_values(self, row: Row) -> dict[str, Any]:
        values = self.values(row)
        return {f"key_{name}": values[name] for name in self.key}


def _mapping(
    table: Table, values: Callable[[Any], dict[str, Any]], build: Callable[[Sequence[Any]], Row]
) -> Mapping:
    key = tuple(column.name for column in table.primary_key.columns)
    where = and_(*(table.c[name] == bindparam(f"key_{name}") for name in key))
    return Mapping(
        table=table,
        key=key,
        values=values,
        build=build,
        insert=table.insert(),
        delete=table.delete().where(where),
        select=select(*table.columns),
    )


def join_actions(actions: frozenset[str]) -> str:
    return ",".join(sorted(actions))


def split_actions(text: str) -> frozenset[str]:
    return frozenset(text.split(",")) if text else frozenset()


def join_permissions(permissions: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{rtype}:{action}" for rtype, action in permissions)


def split_permissions(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(pair.split(":", 1)) for pair in text.split(",")) if text else ()  # type: ignore[misc]


MAPPINGS: dict[type, Mapping] = {
    OrganizationRow: _mapping(
        schema.organizations,
        lambda r: {"id": r.id, "display_name": r.display_name},
        lambda v: OrganizationRow(v[0], v[1]),
    ),
    WorkspaceRow: _mapping(
        schema.workspaces,
        lambda r: {"id": r.id, "organization_id": r.organization_id, "display_name": r.display_name},
        lambda v: WorkspaceRow(v[0], v[1], v[2]),
    ),
    ProjectRow: _mapping(
        schema.projects,
        lambda r: {"id": r.id, "workspace_id": r.workspace_id, "display_name": r.display_name},
        lambda v: ProjectRow(v[0], v[1], v[2]),
    ),
    TeamRow: _mapping(
        schema.teams,
        lambda r: {"id": r.id, "organization_id": r.organization_id, "display_name": r.display_name},
        lambda v: TeamRow(v[0], v[1], v[2]),
    ),
    MemberRow: _mapping(
        schema.team_members,
        lambda r: {"team_id": r.team_id, "subject": r.subject, "expires_at": r.expires_at or None},
        lambda v: MemberRow(v[0], v[1], v[2] or 0.0),
    ),
    BindingRow: _mapping(
        schema.role_bindings,
        lambda r: {
            "id": r.id,
            "subject": r.subject,
            "role": r.role,
            "node_kind": r.node.kind,
            "node_id": r.node.id,
            "created_revision": r.created_revision,
            "expires_at": r.expires_at or None,
        },
        lambda v: BindingRow(v[0], v[1], v[2], Node(v[3], v[4]), v[5], v[6] or 0.0),
    ),
    ShareRow: _mapping(
        schema.resource_shares,
        lambda r: {
            "node_kind": r.node.kind,
            "node_id": r.node.id,
            "resource_type": r.resource_type,
            "resource_id": r.resource_id,
            "subject": r.subject,
            "actions": join_actions(r.actions),
            "expires_at": r.expires_at or None,
        },
        lambda v: ShareRow(Node(v[0], v[1]), v[2], v[3], v[4], split_actions(v[5]), v[6] or 0.0),
    ),
    RoleRow: _mapping(
        schema.custom_roles,
        lambda r: {
            "name": r.name,
            "level": r.level,
            "base_role": r.base_role,
            "permissions": join_permissions(r.permissions),
        },
        lambda v: RoleRow(v[0], v[1], v[2], split_permissions(v[3])),
    ),
}

def load_builders() -> dict[type, Callable[[Sequence[Any]], Row]]:
    """Row builders for one `load`: each mapping's `build`, except that rows naming the same
    node, role, resource type or set of actions share one object for it, so that a million
    stored bindings do not become a million copies of a few thousand nodes in memory."""
    nodes: dict[tuple[str, str], Node] = {}
    names: dict[str, str] = {}
    action_sets: dict[str, frozenset[str]] = {}

    def node(kind: str, ident: str) -> Node:
        key = (kind, ident)
        found = nodes.get(key)
        if found is None:
            found = nodes[key] = Node(kind, ident)
        return found

    def actions(text: str) -> frozenset[str]:
        found = action_sets.get(text)
        if found is None:
            found = action_sets[text] = split_actions(text)
        return found

    name = names.setdefault
    builders = {row_type: mapping.build for row_type, mapping in MAPPINGS.items()}
    builders[BindingRow] = lambda v: BindingRow(v[0], v[1], name(v[2], v[2]), node(v[3], v[4]), v[5], v[6] or 0.0)
    builders[ShareRow] = lambda v: ShareRow(node(v[0], v[1]), name(v[2], v[2]), v[3], v[4], actions(v[5]),
                                            v[6] or 0.0)
    return builders


# Parents before children: the order in which `load` streams the tables (roles before the
# bindings that name them).
LOAD_ORDER: tuple[type, ...] = (
    RoleRow,
    OrganizationRow,
    WorkspaceRow,
    ProjectRow,
    TeamRow,
    MemberRow,
    BindingRow,
    ShareRow,
)


# The row changes of a change record (the `row_changes` column, migration 0005), as JSON text:
#     [["put", "role_bindings", ["b1", "user:eve", "viewer", "project", "p1", 7, null]], ...]
# one array per change: "put" or "remove", the table, and the row's column values in table
# order (what `Mapping.values` gives and `Mapping.build` takes).
PUT, REMOVE = "put", "remove"
_TABLES: dict[str, type] = {mapping.table.name: row_type for row_type, mapping in MAPPINGS.items()}


def encode_changes(changes: Sequence[Change]) -> str:
    items = []
    for change in changes:
        mapping = MAPPINGS[type(change.row)]
        kind = PUT if type(change) is Put else REMOVE
        items.append((kind, mapping.table.name, list(mapping.values(change.row).values())))
    return json.dumps(items, separators=(",", ":"))


def decode_changes(text: str, builders: dict[type, Callable[[Sequence[Any]], Row]] | None = None) -> tuple[Change, ...]:
    """The changes of `encode_changes` text; ValueError when it is not such text. `builders`
    (from load_builders) lets the rows of many records share their nodes and names."""
    builders = builders or load_builders()
    items = json.loads(text)
    if not isinstance(items, list):
        raise ValueError("stored row changes are not a JSON array")
    changes: list[Change] = []
    for number, item in enumerate(items):
        try:
            kind, table, values = item
            row = builders[_TABLES[table]](values)
        except (KeyError, TypeError, ValueError, IndexError):
            raise ValueError(f"stored row change {number} is not [kind, table, values]") from None
        if kind == PUT:
            changes.append(Put(row))
        elif kind == REMOVE:
            changes.append(Remove(row))
        else:
            raise ValueError(f"stored row change {number} has an unknown kind {kind!r}")
    return tuple(changes)
