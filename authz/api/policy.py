"""PolicyService: the active roles."""

from __future__ import annotations

from authz._gen.authz.v1 import policy_pb2 as pb
from authz._gen.authz.v1 import policy_pb2_grpc as pb_grpc

from .backend import Backend


class PolicyServicer(pb_grpc.PolicyServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def ListRoles(self, request, context) -> pb.ListRolesResponse:
        policy = self.backend.authorizer.policy
        roles = [
            pb.Role(
                name=role.name,
                level=role.level,
                permissions=[pb.Permission(resource_type=t, action=a) for t, a in role.permissions],
            )
            for role in sorted(policy.roles.values(), key=lambda r: (r.level, r.name))
        ]
        return pb.ListRolesResponse(roles=roles)
