"""The in-memory state that decisions are served from.

Every write reaches the index as row changes (`Put`/`Remove`), each applied in O(depth)
dict operations, so the cost of a change or of a lookup never grows with the number of
bindings. Lookups use `dict.get` only: asking about an unknown subject stores nothing."""

from __future__ import annotations

from collections.abc import Iterator

from authz.domain.model import (
    BindingRow,
    Change,
    MemberRow,
    Node,
    OrganizationRow,
    ProjectRow,
    Put,
    RoleRow,
    Row,
    ShareRow,
    TeamRow,
    WorkspaceRow,
    team_subject,
)

ShareKey = tuple[Node, str, str]  # (node, resource type, resource id)


def _add(mapping: dict, key, item) -> None:
    bucket = mapping.get(key)
    if bucket is None:
        mapping[key] = {item}
    else:
        bucket.add(item)


def _discard(mapping: dict, key, item) -> None:
    bucket = mapping[key]
    bucket.discard(item)
    if not bucket:
        del mapping[key]


def _count(mapping: dict, key, delta: int) -> None:
    value = mapping.get(key, 0) + delta
    if value:
        mapping[key] = value
    else:
        del mapping[key]


class Index:
    def __init__(self) -> None:
        # Hierarchy: node -> parent (None for an organization), node -> children.
        self.parent: dict[Node, Node | None] = {}
        self.children: dict[Node, set[Node]] = {}
        self.nodes: dict[Node, OrganizationRow | WorkspaceRow | ProjectRow] = {}
        # Teams: id -> row; organization id -> team ids; team id -> member subjects;
        # subject -> the "team:<id>" subjects it is a member of.
        self.teams: dict[str, TeamRow] = {}
        self.teams_by_org: dict[str, set[str]] = {}
        self.members: dict[str, set[str]] = {}
        self.teams_of: dict[str, set[str]] = {}
        # Bindings: id -> row; (subject, node) -> {role: binding id}.
        self.bindings: dict[str, BindingRow] = {}
        self.roles_at: dict[tuple[str, Node], dict[str, str]] = {}
        self.bindings_by_node: dict[Node, set[str]] = {}
        self.bindings_by_subject: dict[str, set[str]] = {}
        self.bindings_by_role: dict[str, set[str]] = {}
        # Rule 3: (subject, node) -> number of the subject's bindings on the node or below;
        # (subject, node) -> {child node: that count for the child}.
        self.member_count: dict[tuple[str, Node], int] = {}
        self.member_children: dict[tuple[str, Node], dict[Node, int]] = {}
        # Shares: (node, type, id) -> {subject: row}; (subject, node, type) -> {id: actions}.
        self.shares: dict[ShareKey, dict[str, ShareRow]] = {}
        self.shared_with: dict[tuple[str, Node, str], dict[str, frozenset[str]]] = {}
        self.shares_by_node: dict[Node, set[ShareKey]] = {}
        self.shares_by_subject: dict[str, set[ShareKey]] = {}
        # Custom roles stored in the database (the policy compiles them with the file roles).
        self.custom_roles: dict[str, RoleRow] = {}

    # ---- reading

    def chain(self, node: Node) -> tuple[Node, ...] | None:
        """The node and its ancestors, nearest first; None when the node is unknown."""
        parent = self.parent
        if node not in parent:
            return None
        up = parent[node]
        if up is None:
            return (node,)
        top = parent[up]
        return (node, up) if top is None else (node, up, top)

    def organization_of(self, node: Node) -> str:
        chain = self.chain(node)
        assert chain is not None
        return chain[-1].id

    def subjects(self, subject: str) -> tuple[str, ...]:
        """The subject followed by the teams it is a member of."""
        teams = self.teams_of.get(subject)
        return (subject, *teams) if teams else (subject,)

    def subtree(self, node: Node) -> Iterator[Node]:
        """The node and everything below it, children before parents."""
        for child in tuple(self.children.get(node, ())):
            yield from self.subtree(child)
        yield node

    def counts(self) -> dict[str, int]:
        kinds = {"organization": 0, "workspace": 0, "project": 0}
        for node in self.parent:
            kinds[node.kind] += 1
        share_count = sum(len(by_subject) for by_subject in self.shares.values())
        return {
            **{f"nodes_{kind}": n for kind, n in kinds.items()},
            "teams": len(self.teams),
            "members": sum(len(m) for m in self.members.values()),
            "bindings": len(self.bindings),
            "shares": share_count,
        }

    # ---- writing

    def apply(self, change: Change) -> None:
        row = change.row
        handler = _HANDLERS[type(row)]
        handler(self, row, isinstance(change, Put))

    def load(self, row: Row) -> None:
        """Add one stored row (start-up)."""
        _HANDLERS[type(row)](self, row, True)

    def _node(self, row: OrganizationRow | WorkspaceRow | ProjectRow, put: bool) -> None:
        node = row.node
        if isinstance(row, OrganizationRow):
            parent = None
        elif isinstance(row, WorkspaceRow):
            parent = Node("organization", row.organization_id)
        else:
            parent = Node("workspace", row.workspace_id)
        if put:
            self.parent[node] = parent
            self.nodes[node] = row
            if parent is not None:
                _add(self.children, parent, node)
        else:
            assert node not in self.children, f"{node} still has children"
            assert node not in self.bindings_by_node and node not in self.shares_by_node, f"{node} is in use"
            del self.parent[node]
            del self.nodes[node]
            if parent is not None:
                _discard(self.children, parent, node)

    def _team(self, row: TeamRow, put: bool) -> None:
        if put:
            self.teams[row.id] = row
            _add(self.teams_by_org, row.organization_id, row.id)
        else:
            assert row.id not in self.members, f"team {row.id} still has members"
            del self.teams[row.id]
            _discard(self.teams_by_org, row.organization_id, row.id)

    def _member(self, row: MemberRow, put: bool) -> None:
        team = team_subject(row.team_id)
        if put:
            _add(self.members, row.team_id, row.subject)
            _add(self.teams_of, row.subject, team)
        else:
            _discard(self.members, row.team_id, row.subject)
            _discard(self.teams_of, row.subject, team)

    def _binding(self, row: BindingRow, put: bool) -> None:
        key = (row.subject, row.node)
        if put:
            self.bindings[row.id] = row
            roles = self.roles_at.get(key)
            if roles is None:
                self.roles_at[key] = {row.role: row.id}
            else:
                roles[row.role] = row.id
            _add(self.bindings_by_node, row.node, row.id)
            _add(self.bindings_by_subject, row.subject, row.id)
            _add(self.bindings_by_role, row.role, row.id)
        else:
            del self.bindings[row.id]
            roles = self.roles_at[key]
            del roles[row.role]
            if not roles:
                del self.roles_at[key]
            _discard(self.bindings_by_node, row.node, row.id)
            _discard(self.bindings_by_subject, row.subject, row.id)
            _discard(self.bindings_by_role, row.role, row.id)
        delta = 1 if put else -1
        chain = self.chain(row.node)
        assert chain is not None, f"binding {row.id} on unknown node {row.node}"
        for position, node in enumerate(chain):
            _count(self.member_count, (row.subject, node), delta)
            if position + 1 < len(chain):
                parent_key = (row.subject, chain[position + 1])
                children = self.member_children.get(parent_key)
                if children is None:
                    children = self.member_children[parent_key] = {}
                _count(children, node, delta)
                if not children:
                    del self.member_children[parent_key]

    def _share(self, row: ShareRow, put: bool) -> None:
        key = (row.node, row.resource_type, row.resource_id)
        grantee = (row.subject, row.node, row.resource_type)
        if put:
            self.shares.setdefault(key, {})[row.subject] = row
            self.shared_with.setdefault(grantee, {})[row.resource_id] = row.actions
            _add(self.shares_by_node, row.node, key)
            _add(self.shares_by_subject, row.subject, key)
        else:
            by_subject = self.shares[key]
            del by_subject[row.subject]
            if not by_subject:
                del self.shares[key]
                _discard(self.shares_by_node, row.node, key)
            ids = self.shared_with[grantee]
            del ids[row.resource_id]
            if not ids:
                del self.shared_with[grantee]
            _discard(self.shares_by_subject, row.subject, key)

    def _custom_role(self, row: RoleRow, put: bool) -> None:
        if put:
            self.custom_roles[row.name] = row
        else:
            del self.custom_roles[row.name]


_HANDLERS = {
    OrganizationRow: Index._node,
    WorkspaceRow: Index._node,
    ProjectRow: Index._node,
    TeamRow: Index._team,
    MemberRow: Index._member,
    BindingRow: Index._binding,
    ShareRow: Index._share,
    RoleRow: Index._custom_role,
}
