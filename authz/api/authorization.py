"""AuthorizationService: Check, BatchCheck, ListAllowedResources."""

from __future__ import annotations

from authz import metrics
from authz._gen.authz.v1 import authorization_pb2 as pb
from authz._gen.authz.v1 import authorization_pb2_grpc as pb_grpc
from authz.domain.errors import AuthzError, InvalidArgument
from authz.domain.validation import check_id, check_name, check_subject
from authz.engine.scope import scope_of

from . import convert
from .backend import Backend

_ALLOWED = {
    "Check": metrics.CHECKS.labels("Check", "allowed"),
    "BatchCheck": metrics.CHECKS.labels("BatchCheck", "allowed"),
}
_DENIED = {
    "Check": metrics.CHECKS.labels("Check", "denied"),
    "BatchCheck": metrics.CHECKS.labels("BatchCheck", "denied"),
}


def _validated(request: pb.CheckRequest):
    check_subject(request.subject, "subject")
    check_name(request.action, "action", "action")
    if not request.HasField("resource"):
        raise InvalidArgument("is required", "resource")
    resource = convert.resource_from_proto(request.resource)
    check_name(resource.type, "resource.type", "resource type")
    if resource.id:
        check_id(resource.id, "resource.id")
    return resource, convert.scope_from_proto(request.scope)


class AuthorizationServicer(pb_grpc.AuthorizationServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _decide(self, request: pb.CheckRequest) -> pb.CheckResponse:
        authorizer = self.backend.authorizer
        resource, scope = _validated(request)
        if not request.explain:
            allowed = authorizer.check(request.subject, request.action, resource, scope)
            return pb.CheckResponse(allowed=allowed, revision=authorizer.revision)
        decision = authorizer.explain(request.subject, request.action, resource, scope)
        explanation = convert.explanation_to_proto(decision, lambda node: scope_of(authorizer.index, node))
        return pb.CheckResponse(allowed=decision.allowed, revision=authorizer.revision, explanation=explanation)

    async def Check(self, request: pb.CheckRequest, context) -> pb.CheckResponse:
        await self.backend.wait_for(request.at_least_revision, context)
        response = self._decide(request)
        (_ALLOWED if response.allowed else _DENIED)["Check"].inc()
        return response

    async def BatchCheck(self, request: pb.BatchCheckRequest, context) -> pb.BatchCheckResponse:
        limits = self.backend.limits
        limits.check_size(request)
        limits.check_count(len(request.checks), limits.max_batch_size, "checks", "checks")
        wanted = max((check.at_least_revision for check in request.checks), default=0)
        await self.backend.wait_for(wanted, context)
        # No await from here on: every item is decided at the same revision.
        results = []
        for position, check in enumerate(request.checks):
            try:
                results.append(self._decide(check))
            except AuthzError as error:
                raise error.under(f"checks[{position}]") from None
        allowed = sum(result.allowed for result in results)
        _ALLOWED["BatchCheck"].inc(allowed)
        _DENIED["BatchCheck"].inc(len(results) - allowed)
        return pb.BatchCheckResponse(results=results, revision=self.backend.authorizer.revision)

    async def ListAllowedResources(self, request: pb.ListAllowedResourcesRequest, context):
        await self.backend.wait_for(request.at_least_revision, context)
        authorizer = self.backend.authorizer
        check_subject(request.subject, "subject")
        check_name(request.action, "action", "action")
        check_name(request.resource_type, "resource_type", "resource type")
        scope = convert.scope_from_proto(request.scope)
        full, ids = authorizer.list_allowed(request.subject, request.action, request.resource_type, scope)
        return pb.ListAllowedResourcesResponse(full_access=full, ids=ids, revision=authorizer.revision)
