"""Planning writes: validate an operation against the current state and turn it into the
row changes that storage commits and the index applies. Cascades are computed here, once."""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Sequence

from authz.domain import operations as ops
from authz.domain.errors import (
    AlreadyExists,
    AuthzError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from authz.domain.model import (
    ORGANIZATION,
    PROJECT,
    SERVICE_ACCOUNT,
    TEAM,
    USER,
    WORKSPACE,
    BindingRow,
    Change,
    MemberRow,
    Node,
    OrganizationRow,
    ProjectRow,
    Put,
    Remove,
    Resource,
    ShareRow,
    TeamRow,
    WorkspaceRow,
    team_subject,
)
from authz.domain.validation import check_display_name, check_id, check_name, check_subject

from . import decide
from .expiry import check_expires_at
from .index import Index
from .plan_roles import ROLE_OPERATIONS, plan_role_operation
from .policy import MEMBER_MARKER, Policy, unknown_role
from .scope import known_chain, resolve

MEMBER_KINDS = (USER, SERVICE_ACCOUNT)


def ordered_ids() -> Callable[[], str]:
    """A source of binding ids: 32 lower-case hex digits (the form of uuid4().hex), made of the
    time in milliseconds, a random number drawn once per source and a counter, so that ids
    made one after another sort one after another. Storage inserts them at the end of the
    primary-key index instead of at random places in it, and making one is cheaper than
    drawing a random UUID."""
    salt = int.from_bytes(os.urandom(4), "big")
    counter = itertools.count(int.from_bytes(os.urandom(2), "big"))
    clock = time.time

    def new_id() -> str:
        return f"{int(clock() * 1000) & 0xFFFFFFFFFFFF:012x}{salt:08x}{next(counter) & 0xFFFFFFFFFFFF:012x}"

    return new_id


class Planner:
    def __init__(self, index: Index, policy: Policy, new_id: Callable[[], str] | None = None):
        self.index = index
        self.policy = policy
        self.new_id = new_id or ordered_ids()
        self._tentative = _Tentative(index)
        # The instant a write is planned at (set by the caller; None reads the clock), which
        # an `expires_at` must be after.
        self.now: float | None = None

    def plan_all(
        self, operations: Sequence[ops.Operation], revision: int, field_prefix: str | None = None
    ) -> tuple[list[Change], list[ops.Operation]]:
        """Plan operations in order, each seeing the ones before it. Returns the changes and the
        operations as recorded (binding ids filled in). The index is left as it was found.
        With `field_prefix`, errors name the failing operation: "<prefix>[3].create_team.id".

        Each operation sees the ones before it through the index: their changes are applied
        to it as planned and undone at the end. Puts of bindings, memberships and shares
        (nearly all of an Import) are held back instead, while only operations come that read
        no more of them than the duplicate checks, which consult what is held back; anything
        else applies them first (see _Tentative). That spares most rows of an Import two
        passes through the index."""
        tentative = self._tentative = _Tentative(self.index)
        recorded: list[ops.Operation] = []
        try:
            for position, operation in enumerate(operations):
                if type(operation) not in _MAY_HOLD_BACK:
                    tentative.apply_held()
                try:
                    changes, operation = self.plan(operation, revision)
                except AuthzError as error:
                    if field_prefix is None:
                        raise
                    name = ops.OPERATION_NAMES[type(operation)]
                    raise error.under(f"{field_prefix}[{position}].{name}") from None
                tentative.add(changes)
                recorded.append(operation)
        finally:
            self._tentative = _Tentative(self.index)
            tentative.undo()
        return tentative.planned, recorded

    def plan(self, operation: ops.Operation, revision: int) -> tuple[list[Change], ops.Operation]:
        if isinstance(operation, ROLE_OPERATIONS):
            return plan_role_operation(self.index, self.policy, operation), operation
        method = getattr(self, "_" + ops.OPERATION_NAMES[type(operation)])
        if isinstance(operation, ops.CreateRoleBinding):
            return method(operation, revision)
        return method(operation), operation

    # ---- the hierarchy

    def _new_node(self, node: Node, display_name: str) -> None:
        check_id(node.id, "id")
        check_display_name(display_name, "display_name")
        if node in self.index.parent:
            raise AlreadyExists(f"{node.kind} {node.id!r} already exists", "id")

    def _parent(self, kind: str, ident: str, field: str) -> Node:
        node = Node(kind, check_id(ident, field))
        if node not in self.index.parent:
            raise NotFound(f"{kind} {ident!r} not found", field)
        return node

    def _create_organization(self, op: ops.CreateOrganization) -> list[Change]:
        self._new_node(Node(ORGANIZATION, op.id), op.display_name)
        return [Put(OrganizationRow(op.id, op.display_name))]

    def _create_workspace(self, op: ops.CreateWorkspace) -> list[Change]:
        self._new_node(Node(WORKSPACE, op.id), op.display_name)
        self._parent(ORGANIZATION, op.organization_id, "organization_id")
        return [Put(WorkspaceRow(op.id, op.organization_id, op.display_name))]

    def _create_project(self, op: ops.CreateProject) -> list[Change]:
        self._new_node(Node(PROJECT, op.id), op.display_name)
        self._parent(WORKSPACE, op.workspace_id, "workspace_id")
        return [Put(ProjectRow(op.id, op.workspace_id, op.display_name))]

    def _delete_node(self, kind: str, ident: str) -> list[Change]:
        node = self._parent(kind, ident, "id")
        removal = _Removal(self.index)
        subtree = list(self.index.subtree(node))
        if kind == ORGANIZATION:
            for team_id in sorted(self.index.teams_by_org.get(ident, ())):
                removal.team(team_id)
        for each in subtree:
            removal.node_contents(each)
        for each in subtree:
            removal.changes.append(Remove(self.index.nodes[each]))
        return removal.changes

    def _delete_organization(self, op: ops.DeleteOrganization) -> list[Change]:
        return self._delete_node(ORGANIZATION, op.id)

    def _delete_workspace(self, op: ops.DeleteWorkspace) -> list[Change]:
        return self._delete_node(WORKSPACE, op.id)

    def _delete_project(self, op: ops.DeleteProject) -> list[Change]:
        return self._delete_node(PROJECT, op.id)

    # ---- teams

    def _team(self, team_id: str, field: str) -> TeamRow:
        check_id(team_id, field)
        team = self.index.teams.get(team_id)
        if team is None:
            raise NotFound(f"team {team_id!r} not found", field)
        return team

    def _create_team(self, op: ops.CreateTeam) -> list[Change]:
        check_id(op.id, "id")
        check_display_name(op.display_name, "display_name")
        if op.id in self.index.teams:
            raise AlreadyExists(f"team {op.id!r} already exists", "id")
        self._parent(ORGANIZATION, op.organization_id, "organization_id")
        return [Put(TeamRow(op.id, op.organization_id, op.display_name))]

    def _delete_team(self, op: ops.DeleteTeam) -> list[Change]:
        self._team(op.id, "id")
        removal = _Removal(self.index)
        removal.team(op.id)
        return removal.changes

    def _member_subject(self, subject: str) -> None:
        kind, _ = check_subject(subject, "subject")
        if kind == TEAM:
            raise InvalidArgument("teams do not nest: a team cannot be a member of a team", "subject")

    def _add_team_member(self, op: ops.AddTeamMember) -> list[Change]:
        self._member_subject(op.subject)
        self._team(op.team_id, "team_id")
        members = self.index.members.get(op.team_id, ())
        if op.subject in members or (op.team_id, op.subject) in self._tentative.members:
            raise AlreadyExists(f"{op.subject} is already a member of team {op.team_id!r}", "subject")
        self._expires_at(op.expires_at)
        return [Put(MemberRow(op.team_id, op.subject, op.expires_at))]

    def _remove_team_member(self, op: ops.RemoveTeamMember) -> list[Change]:
        self._member_subject(op.subject)
        self._team(op.team_id, "team_id")
        if op.subject not in self.index.members.get(op.team_id, ()):
            raise NotFound(f"{op.subject} is not a member of team {op.team_id!r}", "subject")
        return [Remove(self.index.member_row(op.team_id, op.subject))]

    def _expires_at(self, expires_at: float) -> None:
        check_expires_at(expires_at, time.time() if self.now is None else self.now)

    def _same_organization(self, subject: str, node: Node) -> None:
        """A team subject must exist and belong to the node's organization. (Callers have
        checked the subject already; only a team needs the check again.)"""
        if not subject.startswith(TEAM + ":"):
            return
        _, ident = check_subject(subject, "subject")
        team = self._team(ident, "subject")
        organization = self.index.organization_of(node)
        if team.organization_id != organization:
            raise FailedPrecondition(
                f"team {ident!r} belongs to organization {team.organization_id!r} and cannot be given "
                f"access in organization {organization!r}",
                "subject",
            )

    # ---- bindings

    def _known_node(self, scope, field: str = "scope") -> Node:
        """The node, as the index's own Node object."""
        if scope is not None:
            chain = known_chain(self.index, scope.organization_id, scope.workspace_id, scope.project_id)
            if chain is not None:
                return chain[0]
        node, chain = resolve(self.index, scope, field)
        if chain is None:
            raise NotFound(f"{node.kind} {node.id!r} not found", field)
        return chain[0]

    def _create_role_binding(self, op: ops.CreateRoleBinding, revision: int) -> tuple[list[Change], ops.Operation]:
        check_subject(op.subject, "subject")
        check_name(op.role, "role", "role")
        role = self.policy.roles.get(op.role)
        if role is None or op.role == MEMBER_MARKER:
            raise InvalidArgument(unknown_role(op.role, self.policy), "role")
        node = self._known_node(op.scope)
        if role.level != node.kind:
            raise FailedPrecondition(
                f"{op.role!r} is a {role.level} role and cannot be bound on {node.kind} {node.id!r}", "role"
            )
        self._same_organization(op.subject, node)
        self._expires_at(op.expires_at)
        held = self._tentative
        existing = (self.index.roles_of(op.subject, node) or {}).get(op.role) or held.binding_keys.get(
            (op.subject, node, op.role))
        if existing is not None:
            raise AlreadyExists(f"{op.subject} already has {op.role!r} on {node} (binding {existing})", "role")
        binding_id = op.id or self.new_id()
        if binding_id in self.index.bindings or binding_id in held.binding_ids:
            raise AlreadyExists(f"binding {binding_id!r} already exists", "id")
        # Interned, as the index keeps them (so that applying the row does not rebuild it).
        row = BindingRow(binding_id, sys.intern(op.subject), sys.intern(op.role), node, revision, op.expires_at)
        recorded = ops.CreateRoleBinding(op.subject, op.role, op.scope, binding_id, op.expires_at)
        return [Put(row)], recorded

    def _delete_role_binding(self, op: ops.DeleteRoleBinding) -> list[Change]:
        check_id(op.id, "id")
        binding = self.index.bindings.get(op.id)
        if binding is None:
            raise NotFound(f"binding {op.id!r} not found", "id")
        return [Remove(binding)]

    # ---- shares

    def _resource(self, resource: Resource | None, field: str = "resource") -> Resource:
        if resource is None:
            raise InvalidArgument("is required", field)
        check_name(resource.type, f"{field}.type", "resource type")
        check_id(resource.id, f"{field}.id")
        return resource

    def _set_resource_membership(self, op: ops.SetResourceMembership) -> list[Change]:
        check_subject(op.subject, "subject")
        resource = self._resource(op.resource)
        actions = frozenset(
            check_name(action, f"actions[{i}]", "action") for i, action in enumerate(op.actions)
        )
        if op.actor:
            check_subject(op.actor, "actor")
        if op.on_behalf_of:
            check_subject(op.on_behalf_of, "on_behalf_of")
        node = self._known_node(op.scope)
        level = self.policy.type_levels.get(resource.type)
        if level is not None and level != node.kind:
            raise FailedPrecondition(
                f"{resource.type!r} is a {level}-level type and is shared on its {level}, "
                f"not on {node.kind} {node.id!r}",
                "resource.type",
            )
        self._same_organization(op.subject, node)
        if actions:
            self._expires_at(op.expires_at)
        key = (node, resource.type, resource.id)
        if op.actor or (key, op.subject) in self._tentative.shares:
            self._tentative.apply_held()  # the decision, or the share replaced, must see them
        if op.actor:
            self._actor_may_share(op.actor, resource, node, actions)
        old = self.index.shares.get(key, {}).get(op.subject)
        if old is not None and old.actions == actions and old.expires_at == op.expires_at:
            return []
        changes: list[Change] = [Remove(old)] if old is not None else []
        if actions:
            row = ShareRow(node, sys.intern(resource.type), resource.id, sys.intern(op.subject), actions,
                           op.expires_at)
            changes.append(Put(row))
        return changes

    def _actor_may_share(self, actor: str, resource: Resource, node: Node, actions: frozenset[str]) -> None:
        chain = self.index.chain(node)
        for action in ("share", *sorted(actions)):
            if decide.find_grant(self.index, self.policy, actor, action, resource.type, resource.id, chain) is None:
                raise PermissionDenied(
                    f"{actor} may not share {resource.type}/{resource.id}: it does not hold {action!r} on it",
                    "actor",
                )

    def _delete_resources(self, op: ops.DeleteResources) -> list[Change]:
        removal = _Removal(self.index)
        for position, ref in enumerate(op.resources):
            field = f"resources[{position}]"
            resource = self._resource(ref.resource, f"{field}.resource")
            node, chain = resolve(self.index, ref.scope, f"{field}.scope")
            if chain is not None:
                removal.shares_of((node, resource.type, resource.id))
        return removal.changes

    def _delete_subject(self, op: ops.DeleteSubject) -> list[Change]:
        kind, _ = check_subject(op.subject, "subject")
        if kind == TEAM:
            raise InvalidArgument("a team is removed with DeleteTeam", "subject")
        removal = _Removal(self.index)
        removal.subject(op.subject)
        return removal.changes


# The operations that may be planned while Puts are held back: they read nothing those Puts
# change except what the duplicate checks consult, or (a share replacing a held one, or one
# naming an actor, whose right to share is a decision) apply them first themselves.
_MAY_HOLD_BACK = frozenset({
    ops.CreateOrganization, ops.CreateWorkspace, ops.CreateProject, ops.CreateTeam,
    ops.AddTeamMember, ops.CreateRoleBinding, ops.SetResourceMembership,
})


class _Tentative:
    """The changes one plan_all has planned so far: `planned`, all of them in order; those
    applied to the index (to undo at the end); and Puts of bindings, memberships and shares
    held back, with their keys for the duplicate checks. Held-back Puts depend only on rows
    that are applied at once (nodes, teams), so applying them late, in order, leaves the
    index as applying each at once would have."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.planned: list[Change] = []
        self.applied: list[Change] = []
        self.held: list[Change] = []
        self.binding_keys: dict[tuple[str, Node, str], str] = {}  # (subject, node, role) -> id
        self.binding_ids: set[str] = set()
        self.members: set[tuple[str, str]] = set()  # (team id, subject)
        self.shares: set[tuple[tuple[Node, str, str], str]] = set()  # ((node, type, id), subject)

    def add(self, changes: list[Change]) -> None:
        for change in changes:
            self.planned.append(change)
            row = change.row
            if type(change) is Put and type(row) in _HELD_ROWS:
                self.held.append(change)
                if isinstance(row, BindingRow):
                    self.binding_keys[(row.subject, row.node, row.role)] = row.id
                    self.binding_ids.add(row.id)
                elif isinstance(row, MemberRow):
                    self.members.add((row.team_id, row.subject))
                else:
                    assert isinstance(row, ShareRow)
                    self.shares.add(((row.node, row.resource_type, row.resource_id), row.subject))
            else:
                self.index.apply(change)
                self.applied.append(change)

    def apply_held(self) -> None:
        if not self.held:
            return
        apply = self.index.apply
        for change in self.held:
            apply(change)
        self.applied.extend(self.held)
        self.held = []
        self.binding_keys.clear()
        self.binding_ids.clear()
        self.members.clear()
        self.shares.clear()

    def undo(self) -> None:
        undo = self.index.undo
        for change in reversed(self.applied):
            undo(change)
        self.applied = []


_HELD_ROWS = frozenset({BindingRow, MemberRow, ShareRow})


class _Removal:
    """Collects Remove changes for a cascade, each row once, children before parents."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.changes: list[Change] = []
        self._bindings: set[str] = set()
        self._shares: set[tuple] = set()

    def binding(self, binding_id: str) -> None:
        if binding_id not in self._bindings:
            self._bindings.add(binding_id)
            self.changes.append(Remove(self.index.bindings[binding_id]))

    def share(self, row: ShareRow) -> None:
        key = (row.node, row.resource_type, row.resource_id, row.subject)
        if key not in self._shares:
            self._shares.add(key)
            self.changes.append(Remove(row))

    def shares_of(self, key) -> None:
        for subject in sorted(self.index.shares.get(key, ())):
            self.share(self.index.shares[key][subject])

    def subject(self, subject: str) -> None:
        for binding_id in sorted(self.index.bindings_by_subject.get(subject, ())):
            self.binding(binding_id)
        for key in sorted(self.index.shares_by_subject.get(subject, ())):
            self.share(self.index.shares[key][subject])
        for team in sorted(self.index.teams_of.get(subject, ())):
            self.changes.append(Remove(self.index.member_row(team.partition(":")[2], subject)))

    def team(self, team_id: str) -> None:
        self.subject(team_subject(team_id))
        for member in sorted(self.index.members.get(team_id, ())):
            self.changes.append(Remove(self.index.member_row(team_id, member)))
        self.changes.append(Remove(self.index.teams[team_id]))

    def node_contents(self, node: Node) -> None:
        for binding_id in sorted(self.index.bindings_by_node.get(node, ())):
            self.binding(binding_id)
        for key in sorted(self.index.shares_by_node.get(node, ())):
            self.shares_of(key)
