import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Resource(_message.Message):
    __slots__ = ("type", "id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class Scope(_message.Message):
    __slots__ = ("organization_id", "workspace_id", "project_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    workspace_id: str
    project_id: str
    def __init__(self, organization_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., project_id: _Optional[str] = ...) -> None: ...

class RoleBinding(_message.Message):
    __slots__ = ("id", "subject", "role", "scope", "created_revision", "expires_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CREATED_REVISION_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    subject: str
    role: str
    scope: Scope
    created_revision: int
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., subject: _Optional[str] = ..., role: _Optional[str] = ..., scope: _Optional[_Union[Scope, _Mapping]] = ..., created_revision: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ResourceShare(_message.Message):
    __slots__ = ("subject", "resource", "scope", "actions", "expires_at")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    subject: str
    resource: Resource
    scope: Scope
    actions: _containers.RepeatedScalarFieldContainer[str]
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, subject: _Optional[str] = ..., resource: _Optional[_Union[Resource, _Mapping]] = ..., scope: _Optional[_Union[Scope, _Mapping]] = ..., actions: _Optional[_Iterable[str]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Grant(_message.Message):
    __slots__ = ("rule", "binding", "share", "via_team", "wildcard", "member_of", "via_team_expires_at")
    class Rule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        RULE_UNSPECIFIED: _ClassVar[Grant.Rule]
        RULE_ROLE_BINDING: _ClassVar[Grant.Rule]
        RULE_RESOURCE_SHARE: _ClassVar[Grant.Rule]
        RULE_MEMBERSHIP: _ClassVar[Grant.Rule]
    RULE_UNSPECIFIED: Grant.Rule
    RULE_ROLE_BINDING: Grant.Rule
    RULE_RESOURCE_SHARE: Grant.Rule
    RULE_MEMBERSHIP: Grant.Rule
    RULE_FIELD_NUMBER: _ClassVar[int]
    BINDING_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    VIA_TEAM_FIELD_NUMBER: _ClassVar[int]
    WILDCARD_FIELD_NUMBER: _ClassVar[int]
    MEMBER_OF_FIELD_NUMBER: _ClassVar[int]
    VIA_TEAM_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    rule: Grant.Rule
    binding: RoleBinding
    share: ResourceShare
    via_team: str
    wildcard: bool
    member_of: Scope
    via_team_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, rule: _Optional[_Union[Grant.Rule, str]] = ..., binding: _Optional[_Union[RoleBinding, _Mapping]] = ..., share: _Optional[_Union[ResourceShare, _Mapping]] = ..., via_team: _Optional[str] = ..., wildcard: _Optional[bool] = ..., member_of: _Optional[_Union[Scope, _Mapping]] = ..., via_team_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
