import datetime

from authz._gen.authz.v1 import common_pb2 as _common_pb2
from authz._gen.authz.v1 import directory_pb2 as _directory_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
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

class StartShadowRequest(_message.Message):
    __slots__ = ("candidate_directory", "sample_rate")
    CANDIDATE_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    candidate_directory: str
    sample_rate: float
    def __init__(self, candidate_directory: _Optional[str] = ..., sample_rate: _Optional[float] = ...) -> None: ...

class StartShadowResponse(_message.Message):
    __slots__ = ("candidate_hash", "sample_rate", "dropped_roles", "warnings", "replica")
    CANDIDATE_HASH_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    DROPPED_ROLES_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    REPLICA_FIELD_NUMBER: _ClassVar[int]
    candidate_hash: str
    sample_rate: float
    dropped_roles: _containers.RepeatedCompositeFieldContainer[RoleInUse]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    replica: str
    def __init__(self, candidate_hash: _Optional[str] = ..., sample_rate: _Optional[float] = ..., dropped_roles: _Optional[_Iterable[_Union[RoleInUse, _Mapping]]] = ..., warnings: _Optional[_Iterable[str]] = ..., replica: _Optional[str] = ...) -> None: ...

class StopShadowRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetShadowReportRequest(_message.Message):
    __slots__ = ("max_examples",)
    MAX_EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    max_examples: int
    def __init__(self, max_examples: _Optional[int] = ...) -> None: ...

class ShadowExample(_message.Message):
    __slots__ = ("rpc", "subject", "action", "resource", "scope", "active_allowed", "candidate_allowed", "active_explanation", "candidate_explanation", "at", "revision")
    RPC_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    rpc: str
    subject: str
    action: str
    resource: _common_pb2.Resource
    scope: _common_pb2.Scope
    active_allowed: bool
    candidate_allowed: bool
    active_explanation: str
    candidate_explanation: str
    at: _timestamp_pb2.Timestamp
    revision: int
    def __init__(self, rpc: _Optional[str] = ..., subject: _Optional[str] = ..., action: _Optional[str] = ..., resource: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., active_allowed: _Optional[bool] = ..., candidate_allowed: _Optional[bool] = ..., active_explanation: _Optional[str] = ..., candidate_explanation: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class ShadowDisagreements(_message.Message):
    __slots__ = ("rpc", "candidate_allows", "candidate_denies", "evaluated")
    RPC_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ALLOWS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_DENIES_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_FIELD_NUMBER: _ClassVar[int]
    rpc: str
    candidate_allows: int
    candidate_denies: int
    evaluated: int
    def __init__(self, rpc: _Optional[str] = ..., candidate_allows: _Optional[int] = ..., candidate_denies: _Optional[int] = ..., evaluated: _Optional[int] = ...) -> None: ...

class ShadowReport(_message.Message):
    __slots__ = ("running", "candidate_hash", "candidate_directory", "active_hash", "sample_rate", "replica", "started_at", "ended_at", "end_reason", "sampled", "evaluated", "dropped", "stale", "disagreements", "examples", "examples_kept")
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_HASH_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_HASH_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    REPLICA_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    DISAGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_KEPT_FIELD_NUMBER: _ClassVar[int]
    running: bool
    candidate_hash: str
    candidate_directory: str
    active_hash: str
    sample_rate: float
    replica: str
    started_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    end_reason: str
    sampled: int
    evaluated: int
    dropped: int
    stale: int
    disagreements: _containers.RepeatedCompositeFieldContainer[ShadowDisagreements]
    examples: _containers.RepeatedCompositeFieldContainer[ShadowExample]
    examples_kept: int
    def __init__(self, running: _Optional[bool] = ..., candidate_hash: _Optional[str] = ..., candidate_directory: _Optional[str] = ..., active_hash: _Optional[str] = ..., sample_rate: _Optional[float] = ..., replica: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_reason: _Optional[str] = ..., sampled: _Optional[int] = ..., evaluated: _Optional[int] = ..., dropped: _Optional[int] = ..., stale: _Optional[int] = ..., disagreements: _Optional[_Iterable[_Union[ShadowDisagreements, _Mapping]]] = ..., examples: _Optional[_Iterable[_Union[ShadowExample, _Mapping]]] = ..., examples_kept: _Optional[int] = ...) -> None: ...
