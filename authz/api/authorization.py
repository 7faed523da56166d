"""AuthorizationService: Check, BatchCheck, ListAllowedResources.

Checks are the hot path, so a check without `explain` skips what it can without changing an
answer: strings it has already found valid are remembered (in bounded sets, so unknown
subjects cannot grow them), and a scope that names a stored node is resolved with one lookup.
Anything unusual (an invalid or unknown value, ancestors to verify) takes the full path, which
gives the same answers and the same errors."""

from __future__ import annotations

from authz import metrics
from authz._gen.authz.v1 import authorization_pb2 as pb
from authz._gen.authz.v1 import authorization_pb2_grpc as pb_grpc
from authz.domain.errors import AuthzError, InvalidArgument
from authz.domain.model import ORGANIZATION, PROJECT, WORKSPACE, Scope
from authz.domain.validation import check_id, check_name, check_subject
from authz.engine import decide
from authz.engine.scope import resolve, scope_of

from . import access, convert
from .backend import Backend

MAX_ID = 128  # the longest id validation.ID_PATTERN accepts

_ALLOWED = {
    "Check": metrics.CHECKS.labels("Check", "allowed"),
    "BatchCheck": metrics.CHECKS.labels("BatchCheck", "allowed"),
}
_DENIED = {
    "Check": metrics.CHECKS.labels("Check", "denied"),
    "BatchCheck": metrics.CHECKS.labels("BatchCheck", "denied"),
}


class _Seen(dict):
    """Strings found valid, at most `limit` of them: when full it starts over."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, value: str) -> None:
        if len(self) >= self.limit:
            self.clear()
        self[value] = None


_SUBJECTS = _Seen(1 << 16)
_NAMES = _Seen(1 << 12)  # actions and resource types (the same syntax)
_IDS = _Seen(1 << 16)


def _question(check: pb.CheckRequest, index):
    """(the subject's index entry or None, subject, action, resource type, resource id, chain
    or None) of a valid check; raises InvalidArgument, naming the field, for an invalid one."""
    subject = check.subject
    # A subject the index knows was checked when it was written.
    entry = index.by_subject.get(subject)
    if entry is None and subject not in _SUBJECTS:
        check_subject(subject, "subject")
        _SUBJECTS.remember(subject)
    action = check.action
    if action not in _NAMES:
        check_name(action, "action", "action")
        _NAMES.remember(action)
    resource = check.resource
    rtype = resource.type
    if rtype not in _NAMES:
        if not check.HasField("resource"):
            raise InvalidArgument("is required", "resource")
        check_name(rtype, "resource.type", "resource type")
        _NAMES.remember(rtype)
    rid = resource.id
    # Letters and digits alone need no pattern; anything else is checked once.
    if rid and not (rid.isalnum() and rid.isascii() and len(rid) <= MAX_ID) and rid not in _IDS:
        check_id(rid, "resource.id")
        _IDS.remember(rid)
    scope = check.scope
    project, workspace, organization = scope.project_id, scope.workspace_id, scope.organization_id
    chains = index.chains
    # A stored node is valid; given ancestors must be its own. Else the full resolution.
    if project:
        chain = chains.get((PROJECT, project))
        if chain is not None and (not workspace or chain[1].id == workspace) and (
            not organization or chain[2].id == organization
        ):
            return entry, subject, action, rtype, rid, chain
    elif workspace:
        chain = chains.get((WORKSPACE, workspace))
        if chain is not None and (not organization or chain[1].id == organization):
            return entry, subject, action, rtype, rid, chain
    elif organization:
        chain = chains.get((ORGANIZATION, organization))
        if chain is not None:
            return entry, subject, action, rtype, rid, chain
    _, chain = resolve(index, Scope(organization, workspace, project))
    return entry, subject, action, rtype, rid, chain


def _varint_field(number: int, value: int) -> bytes:
    """A varint field in protobuf's wire format."""
    out = bytearray([number << 3])
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_RESULTS: dict[int, tuple[bytes, bytes]] = {}


def _encoded_results(revision: int) -> tuple[bytes, bytes]:
    """`results` entries of a BatchCheckResponse (field 1, each a CheckResponse with `allowed`
    and `revision`), allowed and denied, in protobuf's wire format. Building the response from
    bytes costs one parse in C instead of a message copy per item."""
    encoded = _RESULTS.get(revision)
    if encoded is None:
        tail = _varint_field(2, revision)
        allowed = b"\x08\x01" + tail
        denied = tail
        encoded = (b"\x0a" + bytes([len(allowed)]) + allowed, b"\x0a" + bytes([len(denied)]) + denied)
        _RESULTS.clear()
        _RESULTS[revision] = encoded
    return encoded


class AuthorizationServicer(pb_grpc.AuthorizationServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _allowed(self, check: pb.CheckRequest, authorizer) -> bool:
        entry, subject, action, rtype, rid, chain = _question(check, authorizer.index)
        return chain is not None and decide.allowed_for(authorizer.index, authorizer.policy, entry, subject, action,
                                                        rtype, rid, chain)

    def _explained(self, check: pb.CheckRequest, authorizer) -> pb.CheckResponse:
        _question(check, authorizer.index)  # validation, with the same errors as without explain
        resource = convert.resource_from_proto(check.resource)
        decision = authorizer.explain(check.subject, check.action, resource, convert.scope_from_proto(check.scope))
        explanation = convert.explanation_to_proto(decision, lambda node: scope_of(authorizer.index, node))
        return pb.CheckResponse(allowed=decision.allowed, revision=authorizer.revision, explanation=explanation)

    async def Check(self, request: pb.CheckRequest, context) -> pb.CheckResponse:
        await self.backend.wait_for(request.at_least_revision, context)
        authorizer = self.backend.authorizer
        if request.explain:
            response = self._explained(request, authorizer)
            allowed = response.allowed
        else:
            allowed = self._allowed(request, authorizer)
            response = pb.CheckResponse(allowed=allowed, revision=authorizer.revision)
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
        authorizer = self.backend.authorizer
        while True:
            # No await in here: every item is decided at the same revision. An item asking for
            # a later revision than the index has sends the whole batch to wait, then again.
            revision = authorizer.revision
            decided = self._decide_batch(checks, authorizer)
            if decided is not None:
                break
            wanted = max(check.at_least_revision for check in checks)
            await self.backend.wait_for(wanted, context)
            authorizer = self.backend.authorizer
        results, granted = decided
        _ALLOWED["BatchCheck"].inc(granted)
        _DENIED["BatchCheck"].inc(len(checks) - granted)
        if isinstance(results, list):
            response = pb.BatchCheckResponse(revision=revision)
            response.results.extend(results)
            return response
        return pb.BatchCheckResponse.FromString(results)

    def _decide_batch(self, checks, authorizer):
        """(results, how many allowed), or None when an item wants a later revision. Results
        are the encoded response (bytes) when no item asked for an explanation, else a list of
        CheckResponse messages."""
        revision = authorizer.revision
        index, policy = authorizer.index, authorizer.policy
        allowed = decide.allowed_for
        yes, no = _encoded_results(revision)
        parts = []
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
                    result = self._explained(check, authorizer)
                    explained = True
                    add(result)
                    granted += result.allowed
                    continue
                entry, subject, action, rtype, rid, chain = _question(check, index)
                if chain is not None and allowed(index, policy, entry, subject, action, rtype, rid, chain):
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
        parts.append(_varint_field(2, revision))
        return b"".join(parts), granted

    async def ListAllowedResources(self, request: pb.ListAllowedResourcesRequest, context):
        await self.backend.wait_for(request.at_least_revision, context)
        authorizer = self.backend.authorizer
        check_subject(request.subject, "subject")
        check_name(request.action, "action", "action")
        check_name(request.resource_type, "resource_type", "resource type")
        scope = convert.scope_from_proto(request.scope)
        full, ids = authorizer.list_allowed(request.subject, request.action, request.resource_type, scope)
        shadow = self.backend.shadow
        if shadow is not None:  # shadow evaluation (api/shadow.py)
            shadow.offer_listing(request, (full, ids))
        return pb.ListAllowedResourcesResponse(full_access=full, ids=ids, revision=authorizer.revision)

    async def ListSubjects(self, request: pb.ListSubjectsRequest, context) -> pb.ListSubjectsResponse:
        return await access.list_subjects(self.backend, request, context)
