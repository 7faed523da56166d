import datetime

from authz._gen.authz.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WriteResponse(_message.Message):
    __slots__ = ("revision",)
    REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: int
    def __init__(self, revision: _Optional[int] = ...) -> None: ...

class CreateOrganizationRequest(_message.Message):
    __slots__ = ("id", "display_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class CreateWorkspaceRequest(_message.Message):
    __slots__ = ("id", "organization_id", "display_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    organization_id: str
    display_name: str
    def __init__(self, id: _Optional[str] = ..., organization_id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class CreateProjectRequest(_message.Message):
    __slots__ = ("id", "workspace_id", "display_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    workspace_id: str
    display_name: str
    def __init__(self, id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class CreateTeamRequest(_message.Message):
    __slots__ = ("id", "organization_id", "display_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    organization_id: str
    display_name: str
    def __init__(self, id: _Optional[str] = ..., organization_id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class DeleteOrganizationRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteWorkspaceRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteProjectRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteTeamRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class AddTeamMemberRequest(_message.Message):
    __slots__ = ("team_id", "subject", "expires_at")
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    team_id: str
    subject: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, team_id: _Optional[str] = ..., subject: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RemoveTeamMemberRequest(_message.Message):
    __slots__ = ("team_id", "subject")
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    team_id: str
    subject: str
    def __init__(self, team_id: _Optional[str] = ..., subject: _Optional[str] = ...) -> None: ...

class CreateRoleBindingRequest(_message.Message):
    __slots__ = ("subject", "role", "scope", "expires_at")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    subject: str
    role: str
    scope: _common_pb2.Scope
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, subject: _Optional[str] = ..., role: _Optional[str] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateRoleBindingResponse(_message.Message):
    __slots__ = ("binding", "revision")
    BINDING_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    binding: _common_pb2.RoleBinding
    revision: int
    def __init__(self, binding: _Optional[_Union[_common_pb2.RoleBinding, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class DeleteRoleBindingRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListRoleBindingsRequest(_message.Message):
    __slots__ = ("subject", "scope", "page_size", "page_token", "expires_before")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_BEFORE_FIELD_NUMBER: _ClassVar[int]
    subject: str
    scope: _common_pb2.Scope
    page_size: int
    page_token: str
    expires_before: _timestamp_pb2.Timestamp
    def __init__(self, subject: _Optional[str] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., expires_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListRoleBindingsResponse(_message.Message):
    __slots__ = ("bindings", "next_page_token", "revision")
    BINDINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    bindings: _containers.RepeatedCompositeFieldContainer[_common_pb2.RoleBinding]
    next_page_token: str
    revision: int
    def __init__(self, bindings: _Optional[_Iterable[_Union[_common_pb2.RoleBinding, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class SetResourceMembershipRequest(_message.Message):
    __slots__ = ("subject", "resource", "scope", "actions", "actor", "on_behalf_of", "expires_at")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ON_BEHALF_OF_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    subject: str
    resource: _common_pb2.Resource
    scope: _common_pb2.Scope
    actions: _containers.RepeatedScalarFieldContainer[str]
    actor: str
    on_behalf_of: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, subject: _Optional[str] = ..., resource: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., actions: _Optional[_Iterable[str]] = ..., actor: _Optional[str] = ..., on_behalf_of: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListResourceSharesRequest(_message.Message):
    __slots__ = ("resource", "subject", "scope", "page_size", "page_token")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    resource: _common_pb2.Resource
    subject: str
    scope: _common_pb2.Scope
    page_size: int
    page_token: str
    def __init__(self, resource: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., subject: _Optional[str] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListResourceSharesResponse(_message.Message):
    __slots__ = ("shares", "next_page_token", "revision")
    SHARES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    shares: _containers.RepeatedCompositeFieldContainer[_common_pb2.ResourceShare]
    next_page_token: str
    revision: int
    def __init__(self, shares: _Optional[_Iterable[_Union[_common_pb2.ResourceShare, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class ResourceRef(_message.Message):
    __slots__ = ("resource", "scope")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    resource: _common_pb2.Resource
    scope: _common_pb2.Scope
    def __init__(self, resource: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ...) -> None: ...

class DeleteResourcesRequest(_message.Message):
    __slots__ = ("resources",)
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    resources: _containers.RepeatedCompositeFieldContainer[ResourceRef]
    def __init__(self, resources: _Optional[_Iterable[_Union[ResourceRef, _Mapping]]] = ...) -> None: ...

class DeleteSubjectRequest(_message.Message):
    __slots__ = ("subject",)
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    subject: str
    def __init__(self, subject: _Optional[str] = ...) -> None: ...

class Operation(_message.Message):
    __slots__ = ("create_organization", "create_workspace", "create_project", "create_team", "delete_organization", "delete_workspace", "delete_project", "delete_team", "add_team_member", "remove_team_member", "create_role_binding", "delete_role_binding", "set_resource_membership", "delete_resources", "delete_subject")
    CREATE_ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    CREATE_WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    CREATE_PROJECT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TEAM_FIELD_NUMBER: _ClassVar[int]
    DELETE_ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    DELETE_WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    DELETE_PROJECT_FIELD_NUMBER: _ClassVar[int]
    DELETE_TEAM_FIELD_NUMBER: _ClassVar[int]
    ADD_TEAM_MEMBER_FIELD_NUMBER: _ClassVar[int]
    REMOVE_TEAM_MEMBER_FIELD_NUMBER: _ClassVar[int]
    CREATE_ROLE_BINDING_FIELD_NUMBER: _ClassVar[int]
    DELETE_ROLE_BINDING_FIELD_NUMBER: _ClassVar[int]
    SET_RESOURCE_MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    DELETE_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    DELETE_SUBJECT_FIELD_NUMBER: _ClassVar[int]
    create_organization: CreateOrganizationRequest
    create_workspace: CreateWorkspaceRequest
    create_project: CreateProjectRequest
    create_team: CreateTeamRequest
    delete_organization: DeleteOrganizationRequest
    delete_workspace: DeleteWorkspaceRequest
    delete_project: DeleteProjectRequest
    delete_team: DeleteTeamRequest
    add_team_member: AddTeamMemberRequest
    remove_team_member: RemoveTeamMemberRequest
    create_role_binding: CreateRoleBindingRequest
    delete_role_binding: DeleteRoleBindingRequest
    set_resource_membership: SetResourceMembershipRequest
    delete_resources: DeleteResourcesRequest
    delete_subject: DeleteSubjectRequest
    def __init__(self, create_organization: _Optional[_Union[CreateOrganizationRequest, _Mapping]] = ..., create_workspace: _Optional[_Union[CreateWorkspaceRequest, _Mapping]] = ..., create_project: _Optional[_Union[CreateProjectRequest, _Mapping]] = ..., create_team: _Optional[_Union[CreateTeamRequest, _Mapping]] = ..., delete_organization: _Optional[_Union[DeleteOrganizationRequest, _Mapping]] = ..., delete_workspace: _Optional[_Union[DeleteWorkspaceRequest, _Mapping]] = ..., delete_project: _Optional[_Union[DeleteProjectRequest, _Mapping]] = ..., delete_team: _Optional[_Union[DeleteTeamRequest, _Mapping]] = ..., add_team_member: _Optional[_Union[AddTeamMemberRequest, _Mapping]] = ..., remove_team_member: _Optional[_Union[RemoveTeamMemberRequest, _Mapping]] = ..., create_role_binding: _Optional[_Union[CreateRoleBindingRequest, _Mapping]] = ..., delete_role_binding: _Optional[_Union[DeleteRoleBindingRequest, _Mapping]] = ..., set_resource_membership: _Optional[_Union[SetResourceMembershipRequest, _Mapping]] = ..., delete_resources: _Optional[_Union[DeleteResourcesRequest, _Mapping]] = ..., delete_subject: _Optional[_Union[DeleteSubjectRequest, _Mapping]] = ...) -> None: ...

class ImportRequest(_message.Message):
    __slots__ = ("operations",)
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    operations: _containers.RepeatedCompositeFieldContainer[Operation]
    def __init__(self, operations: _Optional[_Iterable[_Union[Operation, _Mapping]]] = ...) -> None: ...

class ImportResponse(_message.Message):
    __slots__ = ("revision", "binding_ids")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    BINDING_IDS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    binding_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, revision: _Optional[int] = ..., binding_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListSubjectAccessRequest(_message.Message):
    __slots__ = ("subject", "organization_id", "at_least_revision", "page_size", "page_token")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    AT_LEAST_REVISION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subject: str
    organization_id: str
    at_least_revision: int
    page_size: int
    page_token: str
    def __init__(self, subject: _Optional[str] = ..., organization_id: _Optional[str] = ..., at_least_revision: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSubjectAccessResponse(_message.Message):
    __slots__ = ("entries", "next_page_token", "revision")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[SubjectAccess]
    next_page_token: str
    revision: int
    def __init__(self, entries: _Optional[_Iterable[_Union[SubjectAccess, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class SubjectAccess(_message.Message):
    __slots__ = ("subject", "node", "grant")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    subject: str
    node: _common_pb2.Scope
    grant: _common_pb2.Grant
    def __init__(self, subject: _Optional[str] = ..., node: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., grant: _Optional[_Union[_common_pb2.Grant, _Mapping]] = ...) -> None: ...
