"""Reading the change table: which subjects and nodes a recorded operation names, on whose
behalf a write said it acted, the filters of ListChanges, and each operation in words.

Everything here works from the operations as recorded. A DeleteRoleBinding names only a
binding id, and the rows a cascade removed are not recorded: filters do not see those."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from authz.domain import operations as ops
from authz.domain.model import ORGANIZATION, PROJECT, TEAM, WORKSPACE, Node, Resource, Scope, team_subject

from .expiry import shown

Chain = Callable[[Node], "tuple[Node, ...] | None"]


def scope_nodes(scope: Scope) -> tuple[Node, ...]:
    """The nodes a recorded scope names: its most specific id first, then the ancestors it gave."""
    pairs = ((PROJECT, scope.project_id), (WORKSPACE, scope.workspace_id), (ORGANIZATION, scope.organization_id))
    return tuple(Node(kind, ident) for kind, ident in pairs if ident)


def named_nodes(operation: ops.Operation) -> tuple[Node, ...]:
    """The nodes an operation names: the node it is on (first) and the ancestors it recorded."""
    match operation:
        case ops.CreateOrganization(id=ident) | ops.DeleteOrganization(id=ident):
            return (Node(ORGANIZATION, ident),)
        case ops.CreateWorkspace(id=ident, organization_id=parent):
            return Node(WORKSPACE, ident), Node(ORGANIZATION, parent)
        case ops.DeleteWorkspace(id=ident):
            return (Node(WORKSPACE, ident),)
        case ops.CreateProject(id=ident, workspace_id=parent):
            return Node(PROJECT, ident), Node(WORKSPACE, parent)
        case ops.DeleteProject(id=ident):
            return (Node(PROJECT, ident),)
        case ops.CreateTeam(organization_id=parent):
            return (Node(ORGANIZATION, parent),)
        case ops.CreateRoleBinding(scope=scope) | ops.SetResourceMembership(scope=scope):
            return scope_nodes(scope)
        case ops.DeleteResources(resources=refs):
            return tuple(node for ref in refs for node in scope_nodes(ref.scope))
    return ()


def named_subjects(operation: ops.Operation) -> tuple[str, ...]:
    """The subjects an operation names: as subject, actor or on_behalf_of, and a team as the
    team it creates, deletes or changes the members of."""
    match operation:
        case ops.AddTeamMember(team_id=team, subject=subject) | ops.RemoveTeamMember(team_id=team, subject=subject):
            return subject, team_subject(team)
        case ops.CreateTeam(id=team) | ops.DeleteTeam(id=team):
            return (team_subject(team),)
        case ops.CreateRoleBinding(subject=subject) | ops.DeleteSubject(subject=subject):
            return (subject,)
        case ops.SetResourceMembership():
            return tuple(s for s in (operation.subject, operation.actor, operation.on_behalf_of) if s)
    return ()


def on_behalf_of(operations: Sequence[ops.Operation]) -> list[str]:
    """Whom a write said it acted for, distinct, in order: each share's on_behalf_of, or its
    actor when it names one."""
    found: dict[str, None] = {}
    for operation in operations:
        if type(operation) is ops.SetResourceMembership:
            named = operation.on_behalf_of or operation.actor
            if named:
                found[named] = None
    return list(found)


@dataclass(frozen=True, slots=True)
class ChangeFilter:
    """The filters of ListChanges. `subject` and `node` must hold for one same operation;
    `token_name` for the write."""

    subject: str | None = None
    node: Node | None = None
    token_name: str | None = None

    @property
    def by_operation(self) -> bool:
        return self.subject is not None or self.node is not None

    def matching(self, record: ops.WriteRecord, chain: Chain) -> list[int] | None:
        """The positions of the operations of `record` that match (every one when no filter
        looks at operations), or None when the write does not match. `chain(node)` gives a
        stored node's chain (itself, then its ancestors), for "on or below the node"."""
        if self.token_name is not None and record.actor != self.token_name:
            return None
        if not self.by_operation:
            return list(range(len(record.operations)))
        positions = [i for i, op in enumerate(record.operations) if self._matches(op, chain)]
        return positions or None

    def _matches(self, operation: ops.Operation, chain: Chain) -> bool:
        if self.subject is not None and self.subject not in named_subjects(operation):
            return False
        if self.node is None:
            return True
        named = named_nodes(operation)
        return self.node in named or any(self.node in (chain(node) or ()) for node in named)


# ---- in words, for `authz changes`


def node_words(scope: Scope) -> str:
    nodes = scope_nodes(scope)
    return str(nodes[0]) if nodes else "no node"


def _until(expires_at: float) -> str:
    return f" until {shown(expires_at)}" if expires_at else ""


def _resource(resource: Resource) -> str:
    return f"{resource.type}/{resource.id}" if resource.id else resource.type


def _role(verb: str, operation: ops.CreateCustomRole | ops.UpdateCustomRole) -> str:
    base = f", based on {operation.base_role}" if operation.base_role else ""
    permissions = ", ".join(f"{p.action} on {p.resource_type}" for p in operation.permissions) or "no permissions"
    forced = " (forced)" if getattr(operation, "force", False) else ""
    return f"{verb} custom role {operation.name} ({operation.level} level{base}): {permissions}{forced}"


def describe(operation: ops.Operation) -> str:
    """One operation as a sentence for a person."""
    match operation:
        case ops.CreateOrganization():
            named = f" ({operation.display_name!r})" if operation.display_name else ""
            return f"create organization {operation.id}{named}"
        case ops.CreateWorkspace():
            return f"create workspace {operation.id} in organization:{operation.organization_id}"
        case ops.CreateProject():
            return f"create project {operation.id} in workspace:{operation.workspace_id}"
        case ops.CreateTeam():
            return f"create team {operation.id} in organization:{operation.organization_id}"
        case ops.DeleteOrganization() | ops.DeleteWorkspace() | ops.DeleteProject():
            kind = named_nodes(operation)[0].kind
            return f"delete {kind} {operation.id} and everything in it"
        case ops.DeleteTeam():
            return f"delete team {operation.id} with its members and grants"
        case ops.AddTeamMember():
            return f"add {operation.subject} to {TEAM}:{operation.team_id}{_until(operation.expires_at)}"
        case ops.RemoveTeamMember():
            return f"remove {operation.subject} from {TEAM}:{operation.team_id}"
        case ops.CreateRoleBinding():
            return (f"bind {operation.subject} to {operation.role} on {node_words(operation.scope)}"
                    f"{_until(operation.expires_at)} (binding {operation.id})")
        case ops.DeleteRoleBinding():
            return f"delete binding {operation.id}"
        case ops.SetResourceMembership():
            where = f"{_resource(operation.resource)} on {node_words(operation.scope)}"
            if not operation.actions:
                text = f"stop sharing {where} with {operation.subject}"
            else:
                text = (f"share {where} with {operation.subject} for {', '.join(operation.actions)}"
                        f"{_until(operation.expires_at)}")
            if operation.actor:
                text += f", as {operation.actor}"
            if operation.on_behalf_of:
                text += f", on behalf of {operation.on_behalf_of}"
            return text
        case ops.DeleteResources():
            listed = ", ".join(f"{_resource(r.resource)} on {node_words(r.scope)}" for r in operation.resources)
            return f"delete resources {listed}"
        case ops.DeleteSubject():
            return f"remove {operation.subject} everywhere"
        case ops.CreateCustomRole():
            return _role("create", operation)
        case ops.UpdateCustomRole():
            return _role("update", operation)
        case ops.DeleteCustomRole():
            return f"delete custom role {operation.name}{' (forced)' if operation.force else ''}"
    raise TypeError(f"not an operation: {type(operation).__name__}")
