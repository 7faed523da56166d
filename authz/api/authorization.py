"""AuthorizationService: Check, BatchCheck, ListAllowedResources, ListSubjects.

Each call reads one view of the service (Authorizer.view): a check is prepared by the engine
(engine/check.py: the validation memo and the scope fast path) and answered by its rules; a
batch without explanations is answered in bytes (batch_wire.py)."""

from __future__ import annotations

from authz import metrics
from authz._gen.authz.v1 import authorization_pb2 as pb
from authz._gen.authz.v1 import authorization_pb2_grpc as pb_grpc
from authz.domain.errors import AuthzError
from authz.domain.validation import check_name, check_subject
from authz.engine.check import answer, prepare

from . import access, convert
from .backend import Backend
from .batch_wire import ResultBytes, response_bytes

_ALLOWED = {
    "Check": metrics.CHECKS.labels("Check", "allowed"),
    "BatchCheck": metrics.CHECKS.labels("BatchCheck", "allowed"),
}
_DENIED = {
    "Check": metrics.CHECKS.labels("Check", "denied"),
    "BatchCheck": metrics.CHECKS.labels("BatchCheck", "denied"),
}


def _question(check: pb.CheckRequest, view):
    """The check's prepared question (engine/check.py), from the message's fields."""
    resource = check.resource
    scope = check.scope
    rtype = resource.type
    return view.question(check.subject, check.action, bool(rtype) or check.HasField("resource"), rtype,
                         resource.id, scope.organization_id, scope.workspace_id, scope.project_id)


class AuthorizationServicer(pb_grpc.AuthorizationServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._results = ResultBytes()  # the encoded results of the last revision batched

    def _allowed(self, check: pb.CheckRequest, view) -> bool:
        return view.allowed(_question(check, view))

    def _explained(self, check: pb.CheckRequest, view) -> pb.CheckResponse:
        _question(check, view)  # validation, with the same errors as without explain
        resource = convert.resource_from_proto(check.resource)
        decision = view.explain(check.subject, check.action, resource, convert.scope_from_proto(check.scope))
        explanation = convert.explanation_to_proto(decision, view.scope_of)
        return pb.CheckResponse(allowed=decision.allowed, revision=view.revision, explanation=explanation)

    async def Check(self, request: pb.CheckRequest, context) -> pb.CheckResponse:
        await self.backend.wait_for(request.at_least_revision, context)
        if request.fully_consistent:
            await self.backend.fully_consistent(context)
        view = self.backend.authorizer.view()
        if request.explain:
            response = self._explained(request, view)
            allowed = response.allowed
        else:
            allowed = self._allowed(request, view)
            response = pb.CheckResponse(allowed=allowed, revision=view.revision)
        (_ALLOWED if allowed else _DENIED)["Check"].inc()
        shadow = self.backend.shadow
        if shadow is not None:  # shadow evaluation (api/shadow.py): after the answer is decided
            shadow.offer_check("Check", request, allowed)
        return response

    async def BatchCheck(self, request: pb.BatchCheckRequest, context) -> pb.BatchCheckResponse:
        limits = self.backend.limits
        limits.check_size(request)
        checks = request.checks
        limits.check_count(len(checks), limits.max_batch_size, "checks", "checks")
        if any(check.fully_consistent for check in checks):
            await self.backend.fully_consistent(context)
        while True:
            # No await in here: every item is decided in one view, at the same revision. An
            # item asking for a later revision than the index has sends the whole batch to
            # wait, then again.
            view = self.backend.authorizer.view()
            revision = view.revision
            decided = self._decide_batch(checks, view)
            if decided is not None:
                break
            wanted = max(check.at_least_revision for check in checks)
            await self.backend.wait_for(wanted, context)
        results, granted = decided
        _ALLOWED["BatchCheck"].inc(granted)
        _DENIED["BatchCheck"].inc(len(checks) - granted)
        if isinstance(results, list):
            response = pb.BatchCheckResponse(revision=revision)
            response.results.extend(results)
            return response
        return pb.BatchCheckResponse.FromString(results)

    def _decide_batch(self, checks, view):
        """(results, how many allowed), or None when an item wants a later revision. Results
        are the encoded response (bytes) when no item asked for an explanation, else a list of
        CheckResponse messages."""
        revision = view.revision
        # The view's question and answer, bound once for the loop (what View.question and
        # View.allowed call).
        memo, index, policy = view.memo, view.index, view.policy
        encoded = self._results.at(revision)
        yes, no = encoded.allowed, encoded.denied
        parts: list = []
        add = parts.append
        granted = 0
        explained = False
        position = -1
        try:
            for check in checks:
                position += 1
                if check.at_least_revision > revision:
                    return None
                if check.explain:
                    result = self._explained(check, view)
                    explained = True
                    add(result)
                    granted += result.allowed
                    continue
                resource = check.resource
                scope = check.scope
                rtype = resource.type
                if answer(index, policy, prepare(memo, index, check.subject, check.action,
                                                 bool(rtype) or check.HasField("resource"), rtype, resource.id,
                                                 scope.organization_id, scope.workspace_id, scope.project_id)):
                    add(yes)
                    granted += 1
                else:
                    add(no)
        except AuthzError as error:
            if any(check.at_least_revision > revision for check in checks):
                return None  # wait first, as a batch that asks for a later revision does
            raise error.under(f"checks[{position}]") from None
        shadow = self.backend.shadow
        if shadow is not None:  # shadow evaluation (api/shadow.py)
            shadow.offer_batch(checks, parts, yes)
        if explained:
            messages = [pb.CheckResponse.FromString(part[2:]) if isinstance(part, bytes) else part for part in parts]
            return messages, granted
        return response_bytes(parts, encoded), granted

    async def ListAllowedResources(self, request: pb.ListAllowedResourcesRequest, context):
        await self.backend.wait_for(request.at_least_revision, context)
        if request.fully_consistent:
            await self.backend.fully_consistent(context)
        view = self.backend.authorizer.view()
        check_subject(request.subject, "subject")
        check_name(request.action, "action", "action")
        check_name(request.resource_type, "resource_type", "resource type")
        scope = convert.scope_from_proto(request.scope)
        full, ids = view.list_allowed(request.subject, request.action, request.resource_type, scope)
        shadow = self.backend.shadow
        if shadow is not None:  # shadow evaluation (api/shadow.py)
            shadow.offer_listing(request, (full, ids))
        return pb.ListAllowedResourcesResponse(full_access=full, ids=ids, revision=view.revision)

    async def ListSubjects(self, request: pb.ListSubjectsRequest, context) -> pb.ListSubjectsResponse:
        return await access.list_subjects(self.backend, request, context)
