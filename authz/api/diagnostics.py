"""DiagnosticsService: Echo, the no-op that Check and BatchCheck are measured against.

It passes through the same interceptors as a check and builds a response of the same shape
(one result per check sent, with the revision set), but decides nothing."""

from __future__ import annotations

import os

from authz._gen.authz.v1 import authorization_pb2 as authz_pb
from authz._gen.authz.v1 import diagnostics_pb2 as pb
from authz._gen.authz.v1 import diagnostics_pb2_grpc as pb_grpc

from .backend import Backend


class DiagnosticsServicer(pb_grpc.DiagnosticsServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def Echo(self, request: pb.EchoRequest, context) -> pb.EchoResponse:
        revision = self.backend.revision
        result = authz_pb.CheckResponse(revision=revision)
        return pb.EchoResponse(results=[result] * len(request.checks), revision=revision, pid=os.getpid())

    async def DescribeReplica(self, request: pb.DescribeReplicaRequest, context) -> pb.DescribeReplicaResponse:
        revision, digest = await self.backend.authorizer.describe()
        return pb.DescribeReplicaResponse(revision=revision, index_digest=digest, pid=os.getpid())
