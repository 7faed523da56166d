import datetime

from authz._gen.authz.v1 import common_pb2 as _common_pb2
from authz._gen.authz.v1 import directory_pb2 as _directory_pb2
from authz._gen.authz.v1 import policy_pb2 as _policy_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Change(_message.Message):
    __slots__ = ("revision", "committed_at", "token_name", "on_behalf_of", "request_id", "operations", "matching_operations", "binding_ids")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_NAME_FIELD_NUMBER: _ClassVar[int]
    ON_BEHALF_OF_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    MATCHING_OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    BINDING_IDS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    committed_at: _timestamp_pb2.Timestamp
    token_name: str
    on_behalf_of: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    operations: _containers.RepeatedCompositeFieldContainer[ChangeOperation]
    matching_operations: _containers.RepeatedScalarFieldContainer[int]
    binding_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, revision: _Optional[int] = ..., committed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., token_name: _Optional[str] = ..., on_behalf_of: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ..., operations: _Optional[_Iterable[_Union[ChangeOperation, _Mapping]]] = ..., matching_operations: _Optional[_Iterable[int]] = ..., binding_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ChangeOperation(_message.Message):
    __slots__ = ("create_organization", "create_workspace", "create_project", "create_team", "delete_organization", "delete_workspace", "delete_project", "delete_team", "add_team_member", "remove_team_member", "create_role_binding", "delete_role_binding", "set_resource_membership", "delete_resources", "delete_subject", "create_custom_role", "update_custom_role", "delete_custom_role")
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
    CREATE_CUSTOM_ROLE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_CUSTOM_ROLE_FIELD_NUMBER: _ClassVar[int]
    DELETE_CUSTOM_ROLE_FIELD_NUMBER: _ClassVar[int]
    create_organization: _directory_pb2.CreateOrganizationRequest
    create_workspace: _directory_pb2.CreateWorkspaceRequest
    create_project: _directory_pb2.CreateProjectRequest
    create_team: _directory_pb2.CreateTeamRequest
    delete_organization: _directory_pb2.DeleteOrganizationRequest
    delete_workspace: _directory_pb2.DeleteWorkspaceRequest
    delete_project: _directory_pb2.DeleteProjectRequest
    delete_team: _directory_pb2.DeleteTeamRequest
    add_team_member: _directory_pb2.AddTeamMemberRequest
    remove_team_member: _directory_pb2.RemoveTeamMemberRequest
    create_role_binding: _directory_pb2.CreateRoleBindingRequest
    delete_role_binding: _directory_pb2.DeleteRoleBindingRequest
    set_resource_membership: _directory_pb2.SetResourceMembershipRequest
    delete_resources: _directory_pb2.DeleteResourcesRequest
    delete_subject: _directory_pb2.DeleteSubjectRequest
    create_custom_role: _policy_pb2.CreateRoleRequest
    update_custom_role: _policy_pb2.UpdateRoleRequest
    delete_custom_role: _policy_pb2.DeleteRoleRequest
    def __init__(self, create_organization: _Optional[_Union[_directory_pb2.CreateOrganizationRequest, _Mapping]] = ..., create_workspace: _Optional[_Union[_directory_pb2.CreateWorkspaceRequest, _Mapping]] = ..., create_project: _Optional[_Union[_directory_pb2.CreateProjectRequest, _Mapping]] = ..., create_team: _Optional[_Union[_directory_pb2.CreateTeamRequest, _Mapping]] = ..., delete_organization: _Optional[_Union[_directory_pb2.DeleteOrganizationRequest, _Mapping]] = ..., delete_workspace: _Optional[_Union[_directory_pb2.DeleteWorkspaceRequest, _Mapping]] = ..., delete_project: _Optional[_Union[_directory_pb2.DeleteProjectRequest, _Mapping]] = ..., delete_team: _Optional[_Union[_directory_pb2.DeleteTeamRequest, _Mapping]] = ..., add_team_member: _Optional[_Union[_directory_pb2.AddTeamMemberRequest, _Mapping]] = ..., remove_team_member: _Optional[_Union[_directory_pb2.RemoveTeamMemberRequest, _Mapping]] = ..., create_role_binding: _Optional[_Union[_directory_pb2.CreateRoleBindingRequest, _Mapping]] = ..., delete_role_binding: _Optional[_Union[_directory_pb2.DeleteRoleBindingRequest, _Mapping]] = ..., set_resource_membership: _Optional[_Union[_directory_pb2.SetResourceMembershipRequest, _Mapping]] = ..., delete_resources: _Optional[_Union[_directory_pb2.DeleteResourcesRequest, _Mapping]] = ..., delete_subject: _Optional[_Union[_directory_pb2.DeleteSubjectRequest, _Mapping]] = ..., create_custom_role: _Optional[_Union[_policy_pb2.CreateRoleRequest, _Mapping]] = ..., update_custom_role: _Optional[_Union[_policy_pb2.UpdateRoleRequest, _Mapping]] = ..., delete_custom_role: _Optional[_Union[_policy_pb2.DeleteRoleRequest, _Mapping]] = ...) -> None: ...

class WatchChangesRequest(_message.Message):
    __slots__ = ("after_revision",)
    AFTER_REVISION_FIELD_NUMBER: _ClassVar[int]
    after_revision: int
    def __init__(self, after_revision: _Optional[int] = ...) -> None: ...

class ListChangesRequest(_message.Message):
    __slots__ = ("after_revision", "page_size", "page_token", "subject", "scope", "token_name")
    AFTER_REVISION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_NAME_FIELD_NUMBER: _ClassVar[int]
    after_revision: int
    page_size: int
    page_token: str
    subject: str
    scope: _common_pb2.Scope
    token_name: str
    def __init__(self, after_revision: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., subject: _Optional[str] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., token_name: _Optional[str] = ...) -> None: ...

class ListChangesResponse(_message.Message):
    __slots__ = ("changes", "next_page_token", "revision")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[Change]
    next_page_token: str
    revision: int
    def __init__(self, changes: _Optional[_Iterable[_Union[Change, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...
