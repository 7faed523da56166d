"""AuthorizationService: Check, BatchCheck, ListAllowedResources, ListSubjects.

Each call reads one view of the service (Authorizer.view): a check is prepared by the engine
(engine/check.py: the validation memo and the scope fast path) and answered by its rules; a
batch's items are read in one pass and decided in one call (View.answer_all), and a batch
without explanations is answered in bytes (batch_wire.py)."""

from __future__ import annotations

from authz import metrics
from authz._gen.authz.v1 import authorization_pb2 as pb
from authz._gen.authz.v1 import authorization_pb2_grpc as pb_grpc
from authz.domain.errors import AuthzError
from authz.domain.validation import check_name, check_subject
from authz.engine.check import Row

from . import access, convert
from .backend import Backend
from .batch_wire import ResultBytes, response_bytes

# [denied, allowed] of authz_checks_total, indexed by the decision (metrics.CALLS).
_CHECK_DECISIONS = metrics.CALLS.decisions("Check")
_BATCH_DECISIONS = metrics.CALLS.decisions("BatchCheck")
# What _decide_batch answers for a batch that must first read the database's newest revision.
_CONSISTENT = object()


def _row(check: pb.CheckRequest) -> Row:
    """The check's strings, as engine/check.py decides them."""
    resource = check.resource
    scope = check.scope
    rtype = resource.type
    return (check.subject, check.action, bool(rtype) or check.HasField("resource"), rtype, resource.id,
            scope.organization_id, scope.workspace_id, scope.project_id)


class AuthorizationServicer(pb_grpc.AuthorizationServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._results = ResultBytes()  # the encoded results of the last revision batched
        # The two CheckResponses (denied, allowed) of the last revision answered: a response is
        # never changed once made, so every Check at that revision answers one of them.
        self._responses: tuple[pb.CheckResponse, pb.CheckResponse] = (pb.CheckResponse(), pb.CheckResponse())
        self._responses_revision = -1

    def _response(self, revision: int, allowed: bool) -> pb.CheckResponse:
        if revision != self._responses_revision:
            self._responses = (pb.CheckResponse(allowed=False, revision=revision),
                               pb.CheckResponse(allowed=True, revision=revision))
            self._responses_revision = revision
        return self._responses[allowed]

    def _explained(self, check: pb.CheckRequest, view) -> pb.CheckResponse:
        view.allowed(_row(check))  # validation, with the same errors as without explain
        resource = convert.resource_from_proto(check.resource)
        decision = view.explain(check.subject, check.action, resource, convert.scope_from_proto(check.scope))
        explanation = convert.explanation_to_proto(decision, view.scope_of)
        return pb.CheckResponse(allowed=decision.allowed, revision=view.revision, explanation=explanation)

    async def Check(self, request: pb.CheckRequest, context) -> pb.CheckResponse:
        if request.at_least_revision:
            await self.backend.wait_for(request.at_least_revision, context)
        if request.fully_consistent:
            await self.backend.fully_consistent(context)
        view = self.backend.authorizer.view()  # Unavailable while the index loads
        if request.explain:
            response = self._explained(request, view)
            allowed = response.allowed
        else:
            allowed = view.allowed(_row(request))
            response = self._response(view.revision, allowed)
        _CHECK_DECISIONS[allowed] += 1
        shadow = self.backend.shadow
        if shadow is not None:  # shadow evaluation (api/shadow.py): after the answer is decided
            shadow.offer_check("Check", request, allowed)
        return response

    async def BatchCheck(self, request: pb.BatchCheckRequest, context) -> pb.BatchCheckResponse | bytes:
        """The response, or when no item asked for an explanation its encoding (bytes, which the
        registration's serializer sends as they are: interceptors/base.py)."""
        limits = self.backend.limits
        limits.check_size(request)
        checks = request.checks
        limits.check_count(len(checks), limits.max_batch_size, "checks", "checks")
        consistent = False
        while True:
            # No await in here: every item is decided in one view, at the same revision. A
            # batch with an item asking for a fully consistent answer, or for a later revision
            # than the index has, waits for it before any item is decided, then looks again.
            view = self.backend.authorizer.view()
            decided = self._decide_batch(checks, view, consistent)
            if decided.__class__ is tuple:
                break
            if decided is _CONSISTENT:
                await self.backend.fully_consistent(context)
                consistent = True
            else:
                await self.backend.wait_for(decided, context)
        results, granted = decided
        _BATCH_DECISIONS[1] += granted
        _BATCH_DECISIONS[0] += len(checks) - granted
        if isinstance(results, list):
            response = pb.BatchCheckResponse(revision=view.revision)
            response.results.extend(results)
            return response
        return results

    def _decide_batch(self, checks, view, consistent: bool):
        """(results, how many allowed); or _CONSISTENT when an item wants a fully consistent
        answer and `consistent` is not yet; or the revision to wait for, when an item wants a
        later one than the view's. Results are the encoded response (bytes) when no item asked
        for an explanation, else a list of CheckResponse messages."""
        revision = view.revision
        rows: list[Row] = []
        add = rows.append
        explained = wants_consistent = False
        wanted = 0
        # The fields first, in one pass: a batch that waits does so before any item is decided
        # (or found invalid).
        for check in checks:
            if check.at_least_revision > wanted:
                wanted = check.at_least_revision
            if check.explain:
                explained = True
            if check.fully_consistent:
                wants_consistent = True
            resource = check.resource
            scope = check.scope
            rtype = resource.type
            add((check.subject, check.action, bool(rtype) or check.HasField("resource"), rtype, resource.id,
                 scope.organization_id, scope.workspace_id, scope.project_id))
        if wants_consistent and not consistent:
            return _CONSISTENT
        if wanted > revision:
            return wanted
        encoded = self._results.at(revision)
        yes, no = encoded.allowed, encoded.denied
        parts: list = []
        if explained:
            granted = self._decide_explained(checks, rows, view, parts, yes, no)
        else:
            try:
                granted = view.answer_all(rows, parts, yes, no)
            except AuthzError as error:
                raise error.under(f"checks[{len(parts)}]") from None
        shadow = self.backend.shadow
        if shadow is not None:  # shadow evaluation (api/shadow.py)
            shadow.offer_batch(checks, parts, yes)
        if explained:
            messages = [pb.CheckResponse.FromString(part[2:]) if isinstance(part, bytes) else part for part in parts]
            return messages, granted
        return response_bytes(parts, encoded), granted

    def _decide_explained(self, checks, rows: list[Row], view, parts: list, yes: bytes, no: bytes) -> int:
        """A batch in which some items ask for an explanation: those are CheckResponse messages
        in `parts`, the others `yes` or `no`."""
        granted = 0
        for position, (check, row) in enumerate(zip(checks, rows, strict=True)):
            try:
                if check.explain:
                    result = self._explained(check, view)
                    parts.append(result)
                    granted += result.allowed
                elif view.allowed(row):
                    parts.append(yes)
                    granted += 1
                else:
                    parts.append(no)
            except AuthzError as error:
                raise error.under(f"checks[{position}]") from None
        return granted

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
