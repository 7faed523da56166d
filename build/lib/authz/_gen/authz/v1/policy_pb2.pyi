from authz._gen.authz.v1 import common_pb2 as _common_pb2
from authz._gen.authz.v1 import directory_pb2 as _directory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Permission(_message.Message):
    __slots__ = ("resource_type", "action")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    action: str
    def __init__(self, resource_type: _Optional[str] = ..., action: _Optional[str] = ...) -> None: ...

class PolicyLine(_message.Message):
    __slots__ = ("file", "line", "text")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    file: str
    line: int
    text: str
    def __init__(self, file: _Optional[str] = ..., line: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class Role(_message.Message):
    __slots__ = ("name", "level", "permissions", "base_role", "custom", "source", "binding_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    BASE_ROLE_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    BINDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    level: str
    permissions: _containers.RepeatedCompositeFieldContainer[Permission]
    base_role: str
    custom: bool
    source: PolicyLine
    binding_count: int
    def __init__(self, name: _Optional[str] = ..., level: _Optional[str] = ..., permissions: _Optional[_Iterable[_Union[Permission, _Mapping]]] = ..., base_role: _Optional[str] = ..., custom: _Optional[bool] = ..., source: _Optional[_Union[PolicyLine, _Mapping]] = ..., binding_count: _Optional[int] = ...) -> None: ...

class ListRolesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRolesResponse(_message.Message):
    __slots__ = ("roles",)
    ROLES_FIELD_NUMBER: _ClassVar[int]
    roles: _containers.RepeatedCompositeFieldContainer[Role]
    def __init__(self, roles: _Optional[_Iterable[_Union[Role, _Mapping]]] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPolicyResponse(_message.Message):
    __slots__ = ("hash", "loaded_at", "directory", "role_count", "custom_role_count")
    HASH_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    ROLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_ROLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    hash: str
    loaded_at: float
    directory: str
    role_count: int
    custom_role_count: int
    def __init__(self, hash: _Optional[str] = ..., loaded_at: _Optional[float] = ..., directory: _Optional[str] = ..., role_count: _Optional[int] = ..., custom_role_count: _Optional[int] = ...) -> None: ...

class CreateRoleRequest(_message.Message):
    __slots__ = ("name", "level", "base_role", "permissions")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    BASE_ROLE_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    level: str
    base_role: str
    permissions: _containers.RepeatedCompositeFieldContainer[Permission]
    def __init__(self, name: _Optional[str] = ..., level: _Optional[str] = ..., base_role: _Optional[str] = ..., permissions: _Optional[_Iterable[_Union[Permission, _Mapping]]] = ...) -> None: ...

class UpdateRoleRequest(_message.Message):
    __slots__ = ("name", "level", "base_role", "permissions", "force")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    BASE_ROLE_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    level: str
    base_role: str
    permissions: _containers.RepeatedCompositeFieldContainer[Permission]
    force: bool
    def __init__(self, name: _Optional[str] = ..., level: _Optional[str] = ..., base_role: _Optional[str] = ..., permissions: _Optional[_Iterable[_Union[Permission, _Mapping]]] = ..., force: _Optional[bool] = ...) -> None: ...

class DeleteRoleRequest(_message.Message):
    __slots__ = ("name", "force")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    force: bool
    def __init__(self, name: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class RoleWriteResponse(_message.Message):
    __slots__ = ("revision", "removed_bindings")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REMOVED_BINDINGS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    removed_bindings: int
    def __init__(self, revision: _Optional[int] = ..., removed_bindings: _Optional[int] = ...) -> None: ...

class ReloadRequest(_message.Message):
    __slots__ = ("force",)
    FORCE_FIELD_NUMBER: _ClassVar[int]
    force: bool
    def __init__(self, force: _Optional[bool] = ...) -> None: ...

class ReloadResponse(_message.Message):
    __slots__ = ("changed", "hash", "revision", "removed_bindings", "message")
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REMOVED_BINDINGS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    hash: str
    revision: int
    removed_bindings: int
    message: str
    def __init__(self, changed: _Optional[bool] = ..., hash: _Optional[str] = ..., revision: _Optional[int] = ..., removed_bindings: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class DiffPolicyRequest(_message.Message):
    __slots__ = ("candidate_directory", "operations", "max_examples")
    CANDIDATE_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    candidate_directory: str
    operations: _containers.RepeatedCompositeFieldContainer[_directory_pb2.Operation]
    max_examples: int
    def __init__(self, candidate_directory: _Optional[str] = ..., operations: _Optional[_Iterable[_Union[_directory_pb2.Operation, _Mapping]]] = ..., max_examples: _Optional[int] = ...) -> None: ...

class Flip(_message.Message):
    __slots__ = ("subject", "resource_type", "resource_id", "action", "scope")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    subject: str
    resource_type: str
    resource_id: str
    action: str
    scope: _common_pb2.Scope
    def __init__(self, subject: _Optional[str] = ..., resource_type: _Optional[str] = ..., resource_id: _Optional[str] = ..., action: _Optional[str] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ...) -> None: ...

class RoleInUse(_message.Message):
    __slots__ = ("role", "binding_count", "change")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    BINDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    role: str
    binding_count: int
    change: str
    def __init__(self, role: _Optional[str] = ..., binding_count: _Optional[int] = ..., change: _Optional[str] = ...) -> None: ...

class DiffPolicyResponse(_message.Message):
    __slots__ = ("gained_count", "lost_count", "gained", "lost", "roles_in_use", "revision", "hash")
    GAINED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOST_COUNT_FIELD_NUMBER: _ClassVar[int]
    GAINED_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    ROLES_IN_USE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    gained_count: int
    lost_count: int
    gained: _containers.RepeatedCompositeFieldContainer[Flip]
    lost: _containers.RepeatedCompositeFieldContainer[Flip]
    roles_in_use: _containers.RepeatedCompositeFieldContainer[RoleInUse]
    revision: int
    hash: str
    def __init__(self, gained_count: _Optional[int] = ..., lost_count: _Optional[int] = ..., gained: _Optional[_Iterable[_Union[Flip, _Mapping]]] = ..., lost: _Optional[_Iterable[_Union[Flip, _Mapping]]] = ..., roles_in_use: _Optional[_Iterable[_Union[RoleInUse, _Mapping]]] = ..., revision: _Optional[int] = ..., hash: _Optional[str] = ...) -> None: ...
