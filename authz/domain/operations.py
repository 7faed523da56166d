"""The writes a caller can ask for. The engine's planner turns each into row changes."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Change, Resource, Scope


@dataclass(frozen=True, slots=True)
class CreateOrganization:
    id: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class CreateWorkspace:
    id: str
    organization_id: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class CreateProject:
    id: str
    workspace_id: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class CreateTeam:
    id: str
    organization_id: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class DeleteOrganization:
    id: str


@dataclass(frozen=True, slots=True)
class DeleteWorkspace:
    id: str


@dataclass(frozen=True, slots=True)
class DeleteProject:
    id: str


@dataclass(frozen=True, slots=True)
class DeleteTeam:
    id: str


@dataclass(frozen=True, slots=True)
class AddTeamMember:
    team_id: str
    subject: str
    # Unix seconds from which the membership no longer counts; 0.0 for never.
    expires_at: float = 0.0


@dataclass(frozen=True, slots=True)
class RemoveTeamMember:
    team_id: str
    subject: str


@dataclass(frozen=True, slots=True)
class CreateRoleBinding:
    subject: str
    role: str
    scope: Scope
    # Chosen by the server when the write is planned; recorded in the change table.
    id: str = ""
    # Unix seconds from which the binding no longer counts; 0.0 for never.
    expires_at: float = 0.0


@dataclass(frozen=True, slots=True)
class DeleteRoleBinding:
    id: str


@dataclass(frozen=True, slots=True)
class SetResourceMembership:
    subject: str
    resource: Resource
    scope: Scope
    actions: tuple[str, ...]
    actor: str = ""
    # Who the caller shares on behalf of: recorded in the change table, never checked.
    on_behalf_of: str = ""
    # Unix seconds from which the share no longer counts; 0.0 for never.
    expires_at: float = 0.0


@dataclass(frozen=True, slots=True)
class ResourceRef:
    resource: Resource
    scope: Scope


@dataclass(frozen=True, slots=True)
class DeleteResources:
    resources: tuple[ResourceRef, ...]


@dataclass(frozen=True, slots=True)
class DeleteSubject:
    subject: str


@dataclass(frozen=True, slots=True)
class PermissionSpec:
    resource_type: str
    action: str


@dataclass(frozen=True, slots=True)
class CreateCustomRole:
    name: str
    level: str
    base_role: str = ""
    permissions: tuple[PermissionSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdateCustomRole:
    name: str
    level: str
    base_role: str = ""
    permissions: tuple[PermissionSpec, ...] = ()
    force: bool = False


@dataclass(frozen=True, slots=True)
class DeleteCustomRole:
    name: str
    force: bool = False


Operation = (
    CreateOrganization
    | CreateWorkspace
    | CreateProject
    | CreateTeam
    | DeleteOrganization
    | DeleteWorkspace
    | DeleteProject
    | DeleteTeam
    | AddTeamMember
    | RemoveTeamMember
    | CreateRoleBinding
    | DeleteRoleBinding
    | SetResourceMembership
    | DeleteResources
    | DeleteSubject
    | CreateCustomRole
    | UpdateCustomRole
    | DeleteCustomRole
)

# The snake_case name of each operation, as in the proto's `Operation` oneof.
OPERATION_NAMES: dict[type, str] = {
    CreateOrganization: "create_organization",
    CreateWorkspace: "create_workspace",
    CreateProject: "create_project",
    CreateTeam: "create_team",
    DeleteOrganization: "delete_organization",
    DeleteWorkspace: "delete_workspace",
    DeleteProject: "delete_project",
    DeleteTeam: "delete_team",
    AddTeamMember: "add_team_member",
    RemoveTeamMember: "remove_team_member",
    CreateRoleBinding: "create_role_binding",
    DeleteRoleBinding: "delete_role_binding",
    SetResourceMembership: "set_resource_membership",
    DeleteResources: "delete_resources",
    DeleteSubject: "delete_subject",
    CreateCustomRole: "create_custom_role",
    UpdateCustomRole: "update_custom_role",
    DeleteCustomRole: "delete_custom_role",
}


@dataclass(frozen=True, slots=True)
class WriteRecord:
    """One row of the change table: what a committed write asked for, who asked, and the rows
    it put and removed (cascades included), in the order they were applied: what a follower
    applies to reach the writer's index without planning again. `changes` is None for records
    written before migration 0005, which did not keep them."""

    revision: int
    operations: tuple[Operation, ...]
    actor: str
    request_id: str
    committed_at: float = 0.0
    changes: tuple[Change, ...] | None = None
