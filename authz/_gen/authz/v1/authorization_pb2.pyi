import datetime

from authz._gen.authz.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from authz._gen.authz.v1 import policy_pb2 as _policy_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CheckRequest(_message.Message):
    __slots__ = ("subject", "action", "resource", "scope", "explain", "at_least_revision", "fully_consistent")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    AT_LEAST_REVISION_FIELD_NUMBER: _ClassVar[int]
    FULLY_CONSISTENT_FIELD_NUMBER: _ClassVar[int]
    subject: str
    action: str
    resource: _common_pb2.Resource
    scope: _common_pb2.Scope
    explain: bool
    at_least_revision: int
    fully_consistent: bool
    def __init__(self, subject: _Optional[str] = ..., action: _Optional[str] = ..., resource: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., explain: _Optional[bool] = ..., at_least_revision: _Optional[int] = ..., fully_consistent: _Optional[bool] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("allowed", "revision", "explanation")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    revision: int
    explanation: Explanation
    def __init__(self, allowed: _Optional[bool] = ..., revision: _Optional[int] = ..., explanation: _Optional[_Union[Explanation, _Mapping]] = ...) -> None: ...

class Explanation(_message.Message):
    __slots__ = ("rule", "text", "binding", "via_team", "share", "policy_line", "inherited_from", "closest_misses", "via_team_expires_at")
    class Rule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        RULE_NONE: _ClassVar[Explanation.Rule]
        RULE_ROLE_BINDING: _ClassVar[Explanation.Rule]
        RULE_RESOURCE_SHARE: _ClassVar[Explanation.Rule]
        RULE_MEMBERSHIP: _ClassVar[Explanation.Rule]
    RULE_NONE: Explanation.Rule
    RULE_ROLE_BINDING: Explanation.Rule
    RULE_RESOURCE_SHARE: Explanation.Rule
    RULE_MEMBERSHIP: Explanation.Rule
    RULE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    BINDING_FIELD_NUMBER: _ClassVar[int]
    VIA_TEAM_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    POLICY_LINE_FIELD_NUMBER: _ClassVar[int]
    INHERITED_FROM_FIELD_NUMBER: _ClassVar[int]
    CLOSEST_MISSES_FIELD_NUMBER: _ClassVar[int]
    VIA_TEAM_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    rule: Explanation.Rule
    text: str
    binding: _common_pb2.RoleBinding
    via_team: str
    share: _common_pb2.ResourceShare
    policy_line: _policy_pb2.PolicyLine
    inherited_from: str
    closest_misses: _containers.RepeatedScalarFieldContainer[str]
    via_team_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, rule: _Optional[_Union[Explanation.Rule, str]] = ..., text: _Optional[str] = ..., binding: _Optional[_Union[_common_pb2.RoleBinding, _Mapping]] = ..., via_team: _Optional[str] = ..., share: _Optional[_Union[_common_pb2.ResourceShare, _Mapping]] = ..., policy_line: _Optional[_Union[_policy_pb2.PolicyLine, _Mapping]] = ..., inherited_from: _Optional[str] = ..., closest_misses: _Optional[_Iterable[str]] = ..., via_team_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BatchCheckRequest(_message.Message):
    __slots__ = ("checks",)
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    checks: _containers.RepeatedCompositeFieldContainer[CheckRequest]
    def __init__(self, checks: _Optional[_Iterable[_Union[CheckRequest, _Mapping]]] = ...) -> None: ...

class BatchCheckResponse(_message.Message):
    __slots__ = ("results", "revision")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CheckResponse]
    revision: int
    def __init__(self, results: _Optional[_Iterable[_Union[CheckResponse, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

class ListAllowedResourcesRequest(_message.Message):
    __slots__ = ("subject", "action", "resource_type", "scope", "at_least_revision", "fully_consistent")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    AT_LEAST_REVISION_FIELD_NUMBER: _ClassVar[int]
    FULLY_CONSISTENT_FIELD_NUMBER: _ClassVar[int]
    subject: str
    action: str
    resource_type: str
    scope: _common_pb2.Scope
    at_least_revision: int
    fully_consistent: bool
    def __init__(self, subject: _Optional[str] = ..., action: _Optional[str] = ..., resource_type: _Optional[str] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., at_least_revision: _Optional[int] = ..., fully_consistent: _Optional[bool] = ...) -> None: ...

class ListAllowedResourcesResponse(_message.Message):
    __slots__ = ("full_access", "ids", "revision")
    FULL_ACCESS_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    full_access: bool
    ids: _containers.RepeatedScalarFieldContainer[str]
    revision: int
    def __init__(self, full_access: _Optional[bool] = ..., ids: _Optional[_Iterable[str]] = ..., revision: _Optional[int] = ...) -> None: ...

class ListSubjectsRequest(_message.Message):
    __slots__ = ("action", "resource", "scope", "at_least_revision", "page_size", "page_token")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    AT_LEAST_REVISION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    action: str
    resource: _common_pb2.Resource
    scope: _common_pb2.Scope
    at_least_revision: int
    page_size: int
    page_token: str
    def __init__(self, action: _Optional[str] = ..., resource: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., at_least_revision: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSubjectsResponse(_message.Message):
    __slots__ = ("subjects", "next_page_token", "revision")
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    subjects: _containers.RepeatedCompositeFieldContainer[AllowedSubject]
    next_page_token: str
    revision: int
    def __init__(self, subjects: _Optional[_Iterable[_Union[AllowedSubject, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class AllowedSubject(_message.Message):
    __slots__ = ("subject", "grants")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    subject: str
    grants: _containers.RepeatedCompositeFieldContainer[_common_pb2.Grant]
    def __init__(self, subject: _Optional[str] = ..., grants: _Optional[_Iterable[_Union[_common_pb2.Grant, _Mapping]]] = ...) -> None: ...
