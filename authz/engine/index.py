"""The in-memory state that decisions are served from.

Every write reaches the index as row changes (`Put`/`Remove`), each applied in O(depth)
dict operations, so the cost of a change or of a lookup never grows with the number of
bindings. Lookups use `dict.get` only: asking about an unknown subject stores nothing.

Memory: the index keys everything by the one Node object of each node (the first element of
its chain), whatever object a row carries; rows are kept as they come, so their producers
share objects for repeated values (the planner interns subjects, roles and types and uses
the index's nodes; storage's load shares one object per node, role, type and set of
actions), and a million bindings do not carry a million copies of a few thousand nodes."""

from __future__ import annotations

import hashlib
import heapq
import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

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
    team_subject,
)

from .expiry import Expiries, ExpiringRow

ShareKey = tuple[Node, str, str]  # (node, resource type, resource id)


def share_sort_key(row: ShareRow) -> tuple[str, str, str, str, str]:
    """The order ListResourceShares pages in."""
    return (row.node.kind, row.node.id, row.resource_type, row.resource_id, row.subject)

_intern = sys.intern


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


class SubjectEntry:
    """What a check needs of one subject, behind one lookup (`Index.by_subject`): its roles by
    node (role -> binding id), its teams (the same set as `teams_of`), its binding ids
    (the same set as `bindings_by_subject`), the actions shared with it by (node, resource
    type, resource id), and rule 3's counts: node -> the number of its bindings on the node or
    below. At a million bindings every lookup in a big dict is a trip to main memory; a check
    makes one for the subject and one per team, the rest are in the subject's small dicts."""

    __slots__ = ("bindings", "members", "roles", "shared", "teams")

    def __init__(self) -> None:
        self.roles: dict[Node, dict[str, str]] = {}
        self.teams: set[str] | None = None
        self.bindings: set[str] | None = None
        self.shared: dict[ShareKey, frozenset[str]] | None = None
        self.members: dict[Node, int] = {}

    def _fields(self) -> tuple:
        return (self.roles, self.teams, self.bindings, self.shared, self.members)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SubjectEntry):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "SubjectEntry(roles={!r}, teams={!r}, bindings={!r}, shared={!r}, members={!r})".format(
            *self._fields()
        )


class Index:
    def __init__(self) -> None:
        # Hierarchy: node -> parent (None for an organization), node -> children.
        self.parent: dict[Node, Node | None] = {}
        self.children: dict[Node, set[Node]] = {}
        self.nodes: dict[Node, OrganizationRow | WorkspaceRow | ProjectRow] = {}
        # node -> the node and its ancestors, nearest first (what chain() answers), made of
        # the index's own Node objects.
        self.chains: dict[Node, tuple[Node, ...]] = {}
        # Teams: id -> row; organization id -> team ids; team id -> member subjects;
        # subject -> the "team:<id>" subjects it is a member of.
        self.teams: dict[str, TeamRow] = {}
        self.teams_by_org: dict[str, set[str]] = {}
        self.members: dict[str, set[str]] = {}
        self.teams_of: dict[str, set[str]] = {}
        # Bindings: id -> row. (A subject's roles on a node: roles_of.)
        self.bindings: dict[str, BindingRow] = {}
        # subject -> its SubjectEntry (roles, teams and shares of the subject, for checks).
        self.by_subject: dict[str, SubjectEntry] = {}
        self.bindings_by_node: dict[Node, set[str]] = {}
        self.bindings_by_subject: dict[str, set[str]] = {}
        self.bindings_by_role: dict[str, set[str]] = {}
        # Rule 3: `member_count` and `member_children` are derived, when asked, from each
        # subject's own counts (SubjectEntry.members).
        # Shares: (node, type, id) -> {subject: row}; (subject, node, type) -> {id: actions}.
        self.shares: dict[ShareKey, dict[str, ShareRow]] = {}
        self.shared_with: dict[tuple[str, Node, str], dict[str, frozenset[str]]] = {}
        self.shares_by_node: dict[Node, set[ShareKey]] = {}
        self.shares_by_subject: dict[str, set[ShareKey]] = {}
        # Custom roles stored in the database (the policy compiles them with the file roles).
        self.custom_roles: dict[str, RoleRow] = {}
        # Grants that expire (see expiry.py); and the memberships that do, by (team, subject),
        # which the other structures keep only as sets of subjects.
        self.expiries = Expiries()
        self.expiring_members: dict[tuple[str, str], MemberRow] = {}

    # ---- expiry

    def expire(self, now: float) -> list[ExpiringRow]:
        """Take out of the index every grant that has expired at `now` (the caller has seen
        that `now >= self.expiries.next_at`); they join `expiries.pending` until storage has
        removed them too. Returns them."""
        rows = self.expiries.due(now, self.is_current)
        for row in rows:
            self.apply(Remove(row))
        self.expiries.pending.extend(rows)
        return rows

    def is_current(self, row: ExpiringRow) -> bool:
        """Is `row` (this very object) the index's row for its key?"""
        if type(row) is BindingRow:
            return self.bindings.get(row.id) is row
        if type(row) is ShareRow:
            chain = self.chains.get(row.node)
            return chain is not None and self.shares.get((chain[0], row.resource_type, row.resource_id), {}).get(
                row.subject) is row
        assert isinstance(row, MemberRow)
        return self.expiring_members.get((row.team_id, row.subject)) is row

    def member_row(self, team_id: str, subject: str) -> MemberRow:
        """The stored row of a membership (with its expiry, if it has one)."""
        return self.expiring_members.get((team_id, subject)) or MemberRow(team_id, subject)

    # ---- reading

    def chain(self, node: Node) -> tuple[Node, ...] | None:
        """The node and its ancestors, nearest first; None when the node is unknown. A plain
        `(kind, id)` tuple is looked up as well as a Node."""
        return self.chains.get(node)

    def organization_of(self, node: Node) -> str:
        chain = self.chain(node)
        assert chain is not None
        return chain[-1].id

    def subjects(self, subject: str) -> tuple[str, ...]:
        """The subject followed by the teams it is a member of."""
        teams = self.teams_of.get(subject)
        return (subject, *teams) if teams else (subject,)

    @property
    def member_count(self) -> dict[tuple[str, Node], int]:
        """(subject, node) -> number of the subject's bindings on the node or below, computed
        from the subjects' entries when asked (O(n): for tests and tools; decisions read
        `by_subject[subject].members`)."""
        return {(subject, node): count for subject, entry in self.by_subject.items()
                for node, count in entry.members.items()}

    def is_member(self, subject: str, node: Node) -> bool:
        """Does `subject` itself hold a binding on `node` or below it?"""
        entry = self.by_subject.get(subject)
        return entry is not None and node in entry.members

    @property
    def member_children(self) -> dict[tuple[str, Node], dict[Node, int]]:
        """(subject, node) -> {child node: member_count of the subject at the child}, computed
        from member_count when asked (O(n): for tests and tools; decisions do not use it)."""
        result: dict[tuple[str, Node], dict[Node, int]] = {}
        parent = self.parent
        for (subject, node), count in self.member_count.items():
            up = parent[node]
            if up is not None:
                result.setdefault((subject, up), {})[node] = count
        return result

    def member_children_of(self, subject: str, node: Node) -> list[Node]:
        """The children of `node` on or below which `subject` itself holds a binding, at a
        cost of the smaller of the node's children and the nodes the subject is a member of."""
        entry = self.by_subject.get(subject)
        if entry is None or node not in entry.members:
            return []
        members = entry.members
        children = self.children.get(node, ())
        if len(children) <= len(members):
            return [child for child in children if child in members]
        parent = self.parent
        return [member for member in members if parent[member] == node]

    def bindings_page(
        self, subject: str | None, node: Node | None, limit: int, after_id: str | None, expires_before: float = 0.0
    ) -> list[BindingRow]:
        """Up to `limit` bindings of `subject` and/or on exactly `node`, in id order, after
        `after_id` (and, with `expires_before`, expiring before it): one pass over that
        subject's or node's ids, never a sort of all of them."""
        if limit <= 0:
            return []
        empty: set[str] = set()
        if subject is not None and node is not None:
            ids = self.bindings_by_subject.get(subject, empty) & self.bindings_by_node.get(node, empty)
        elif subject is not None:
            ids = self.bindings_by_subject.get(subject, empty)
        elif node is not None:
            ids = self.bindings_by_node.get(node, empty)
        else:
            raise ValueError("give a subject or a node; all bindings are listed by storage")
        if expires_before:
            bindings = self.bindings
            ids = {i for i in ids if 0 < bindings[i].expires_at < expires_before}
        chosen = heapq.nsmallest(limit, ids if not after_id else (i for i in ids if i > after_id))
        return [self.bindings[binding_id] for binding_id in chosen]

    def shares_page(
        self, subject: str | None, node: Node | None, resource_type: str | None, resource_id: str | None,
        limit: int, after: tuple[str, ...] | None,
    ) -> list[ShareRow]:
        """Up to `limit` shares matching every filter given, ordered by (node kind, node id,
        resource type, resource id, subject), after the key `after`. The candidates come from the
        narrowest index the filters allow; only they are sorted."""
        if limit <= 0:
            return []
        if node is not None and resource_type is not None and resource_id is not None:
            key = (node, resource_type, resource_id)
            keys: Iterable[ShareKey] = (key,) if key in self.shares else ()
        elif subject is not None:
            keys = self.shares_by_subject.get(subject, ())
        elif node is not None:
            keys = self.shares_by_node.get(node, ())
        else:
            keys = self.shares.keys()
        rows = []
        for key in keys:
            share_node, share_type, share_id = key
            if node is not None and share_node != node:
                continue
            if resource_type is not None and share_type != resource_type:
                continue
            if resource_id is not None and share_id != resource_id:
                continue
            by_subject = self.shares.get(key, {})
            if subject is None:
                chosen: Iterable[ShareRow] = by_subject.values()
            else:
                chosen = (by_subject[subject],) if subject in by_subject else ()
            for row in chosen:
                sort_key = share_sort_key(row)
                if after is None or sort_key > after:
                    rows.append((sort_key, row))
        return [row for _, row in heapq.nsmallest(limit, rows, key=lambda pair: pair[0])]

    def roles_of(self, subject: str, node: Node) -> dict[str, str] | None:
        """The subject's roles bound on exactly `node`, role -> binding id (None for none)."""
        entry = self.by_subject.get(subject)
        return None if entry is None else entry.roles.get(node)

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

    def stored_rows(self) -> Iterator[Row]:
        """Every row the index holds, as storage holds it: grants taken out at their instant
        and not yet removed from storage (expiries.pending) included."""
        yield from self.custom_roles.values()
        yield from self.nodes.values()
        yield from self.teams.values()
        for team_id, subjects in self.members.items():
            for subject in subjects:
                yield self.member_row(team_id, subject)
        yield from self.bindings.values()
        for by_subject in self.shares.values():
            yield from by_subject.values()
        yield from self.expiries.pending

    def digest(self) -> str:
        """A hash of stored_rows, the same for any two indexes holding the same rows (however
        they came to hold them): what replicas at one revision are compared by."""
        lines = sorted(_canonical(row) for row in self.stored_rows())
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    # ---- writing

    def apply_followed(self, changes: Sequence[Change]) -> None:
        """Apply another replica's committed changes. A removal of a grant this index has
        already taken out at its instant (pending here, removed there by that replica's sweep
        or by a delete) only leaves `pending`."""
        pending = self.expiries.pending
        if pending:
            waiting = set(pending)
            gone = {change.row for change in changes if type(change) is Remove and change.row in waiting}
            if gone:
                pending[:] = [row for row in pending if row not in gone]
                changes = [change for change in changes if not (type(change) is Remove and change.row in gone)]
        self.apply_all(changes)

    def apply(self, change: Change) -> None:
        row = change.row
        handler = _HANDLERS[type(row)]
        handler(self, row, isinstance(change, Put))

    def apply_all(self, changes: Iterable[Change]) -> None:
        """Apply changes in order; runs of binding Puts (an Import's bulk) in one loop."""
        for is_binding_put, run in itertools.groupby(
            changes, lambda change: type(change) is Put and type(change.row) is BindingRow
        ):
            if is_binding_put:
                self._put_bindings([change.row for change in run])  # type: ignore[misc]
            else:
                for change in run:
                    self.apply(change)

    def undo(self, change: Change) -> None:
        """Apply the inverse of `change` (without building it)."""
        row = change.row
        _HANDLERS[type(row)](self, row, not isinstance(change, Put))

    def load_rows(self, rows: Iterable[Row]) -> None:
        """Add stored rows, all of one type (start-up: a table at a time)."""
        iterator = iter(rows)
        first = next(iterator, None)
        if first is None:
            return
        rows = itertools.chain((first,), iterator)
        if type(first) is BindingRow:
            self._put_bindings(rows)  # type: ignore[arg-type]
            return
        handler = _HANDLERS[type(first)]
        for row in rows:
            handler(self, row, True)

    def _node(self, row: OrganizationRow | WorkspaceRow | ProjectRow, put: bool) -> None:
        node = row.node
        if isinstance(row, OrganizationRow):
            parent = None
        elif isinstance(row, WorkspaceRow):
            parent = Node("organization", row.organization_id)
        else:
            parent = Node("workspace", row.workspace_id)
        if put:
            above = () if parent is None else self.chains[parent]
            if above:
                parent = above[0]
            self.parent[node] = parent
            self.nodes[node] = row
            self.chains[node] = (node, *above)
            if parent is not None:
                _add(self.children, parent, node)
        else:
            assert node not in self.children, f"{node} still has children"
            assert node not in self.bindings_by_node and node not in self.shares_by_node, f"{node} is in use"
            del self.parent[node]
            del self.nodes[node]
            del self.chains[node]
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

    def _entry(self, subject: str) -> SubjectEntry:
        entry = self.by_subject.get(subject)
        if entry is None:
            entry = self.by_subject[subject] = SubjectEntry()
        return entry

    def _forget_if_empty(self, subject: str, entry: SubjectEntry) -> None:
        if not entry.roles and entry.teams is None and entry.shared is None and entry.bindings is None:
            del self.by_subject[subject]

    def _member(self, row: MemberRow, put: bool) -> None:
        team = _intern(team_subject(row.team_id))
        if put:
            subject = _intern(row.subject)
            _add(self.members, row.team_id, subject)
            _add(self.teams_of, subject, team)
            self._entry(subject).teams = self.teams_of[subject]
            if row.expires_at:
                self.expiring_members[(row.team_id, subject)] = row
                self.expiries.add(row, self.is_current)
        else:
            self.expiring_members.pop((row.team_id, row.subject), None)
            _discard(self.members, row.team_id, row.subject)
            _discard(self.teams_of, row.subject, team)
            if row.subject not in self.teams_of:
                entry = self.by_subject[row.subject]
                entry.teams = None
                self._forget_if_empty(row.subject, entry)

    def _put_bindings(self, rows: Iterable[BindingRow]) -> None:
        """Add bindings: the hottest write path (a million at start-up), hence one loop with
        the index's dicts in locals and the dict operations inlined."""
        chains = self.chains
        bindings = self.bindings
        by_subject = self.by_subject
        bindings_by_subject = self.bindings_by_subject
        bindings_by_node = self.bindings_by_node
        bindings_by_role = self.bindings_by_role
        for row in rows:
            chain = chains.get(row.node)
            assert chain is not None, f"binding {row.id} on unknown node {row.node}"
            node = chain[0]
            subject = row.subject
            role = row.role
            binding_id = row.id
            bindings[binding_id] = row
            entry = by_subject.get(subject)
            if entry is None:
                entry = by_subject[subject] = SubjectEntry()
            roles = entry.roles.get(node)
            if roles is None:
                entry.roles[node] = {role: binding_id}
            else:
                roles[role] = binding_id
            ids = entry.bindings
            if ids is None:
                entry.bindings = bindings_by_subject[subject] = {binding_id}
            else:
                ids.add(binding_id)
            bucket = bindings_by_node.get(node)
            if bucket is None:
                bindings_by_node[node] = {binding_id}
            else:
                bucket.add(binding_id)
            bucket = bindings_by_role.get(role)
            if bucket is None:
                bindings_by_role[role] = {binding_id}
            else:
                bucket.add(binding_id)
            members = entry.members
            for here in chain:
                members[here] = members.get(here, 0) + 1
            if row.expires_at:
                self.expiries.add(row, self.is_current)

    def _binding(self, row: BindingRow, put: bool) -> None:
        if put:
            self._put_bindings((row,))
            return
        chain = self.chains.get(row.node)
        assert chain is not None, f"binding {row.id} on unknown node {row.node}"
        node = chain[0]
        subject = row.subject
        role = row.role
        binding_id = row.id
        del self.bindings[binding_id]
        entry = self.by_subject[subject]
        roles = entry.roles[node]
        del roles[role]
        if not roles:
            del entry.roles[node]
        _discard(self.bindings_by_node, node, binding_id)
        _discard(self.bindings_by_subject, subject, binding_id)
        if subject not in self.bindings_by_subject:
            entry.bindings = None
        _discard(self.bindings_by_role, role, binding_id)
        for here in chain:
            _count(entry.members, here, -1)
        self._forget_if_empty(subject, entry)

    def _share(self, row: ShareRow, put: bool) -> None:
        chain = self.chains.get(row.node)
        assert chain is not None, f"share on unknown node {row.node}"
        node = chain[0]
        subject = row.subject
        rtype = row.resource_type
        key = (node, rtype, row.resource_id)
        grantee = (subject, node, rtype)
        if put:
            self.shares.setdefault(key, {})[row.subject] = row
            self.shared_with.setdefault(grantee, {})[row.resource_id] = row.actions
            _add(self.shares_by_node, node, key)
            _add(self.shares_by_subject, row.subject, key)
            entry = self._entry(subject)
            if entry.shared is None:
                entry.shared = {key: row.actions}
            else:
                entry.shared[key] = row.actions
            if row.expires_at:
                self.expiries.add(row, self.is_current)
        else:
            by_subject = self.shares[key]
            del by_subject[row.subject]
            if not by_subject:
                del self.shares[key]
                _discard(self.shares_by_node, node, key)
            ids = self.shared_with[grantee]
            del ids[row.resource_id]
            if not ids:
                del self.shared_with[grantee]
            _discard(self.shares_by_subject, row.subject, key)
            entry = self.by_subject[subject]
            assert entry.shared is not None
            del entry.shared[key]
            if not entry.shared:
                entry.shared = None
                self._forget_if_empty(subject, entry)

    def _custom_role(self, row: RoleRow, put: bool) -> None:
        if put:
            self.custom_roles[row.name] = row
        else:
            del self.custom_roles[row.name]


def _canonical(row: Row) -> str:
    """A row as text that does not depend on the process (a frozenset's order follows string
    hashes, which differ from one process to the next)."""
    values = [sorted(value) if isinstance(value, frozenset) else value
              for value in (getattr(row, name) for name in row.__slots__)]
    return f"{type(row).__name__}{values!r}"


_HANDLERS: dict[type, Callable[[Index, Any, bool], None]] = {
    OrganizationRow: Index._node,
    WorkspaceRow: Index._node,
    ProjectRow: Index._node,
    TeamRow: Index._team,
    MemberRow: Index._member,
    BindingRow: Index._binding,
    ShareRow: Index._share,
    RoleRow: Index._custom_role,
}
