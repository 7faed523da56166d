from authz._gen.authz.v1 import authorization_pb2 as _authorization_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DescribeReplicaRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeReplicaResponse(_message.Message):
    __slots__ = ("revision", "index_digest", "pid")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    INDEX_DIGEST_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    revision: int
    index_digest: str
    pid: int
    def __init__(self, revision: _Optional[int] = ..., index_digest: _Optional[str] = ..., pid: _Optional[int] = ...) -> None: ...

class EchoRequest(_message.Message):
    __slots__ = ("checks",)
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    checks: _containers.RepeatedCompositeFieldContainer[_authorization_pb2.CheckRequest]
    def __init__(self, checks: _Optional[_Iterable[_Union[_authorization_pb2.CheckRequest, _Mapping]]] = ...) -> None: ...

class EchoResponse(_message.Message):
    __slots__ = ("results", "revision", "pid")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[_authorization_pb2.CheckResponse]
    revision: int
    pid: int
    def __init__(self, results: _Optional[_Iterable[_Union[_authorization_pb2.CheckResponse, _Mapping]]] = ..., revision: _Optional[int] = ..., pid: _Optional[int] = ...) -> None: ...
