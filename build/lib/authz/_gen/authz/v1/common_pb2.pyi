from google.protobuf.internal import containers as _containers
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
    __slots__ = ("id", "subject", "role", "scope", "created_revision")
    ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CREATED_REVISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    subject: str
    role: str
    scope: Scope
    created_revision: int
    def __init__(self, id: _Optional[str] = ..., subject: _Optional[str] = ..., role: _Optional[str] = ..., scope: _Optional[_Union[Scope, _Mapping]] = ..., created_revision: _Optional[int] = ...) -> None: ...

class ResourceShare(_message.Message):
    __slots__ = ("subject", "resource", "scope", "actions")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    subject: str
    resource: Resource
    scope: Scope
    actions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, subject: _Optional[str] = ..., resource: _Optional[_Union[Resource, _Mapping]] = ..., scope: _Optional[_Union[Scope, _Mapping]] = ..., actions: _Optional[_Iterable[str]] = ...) -> None: ...
