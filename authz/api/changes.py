"""ChangeService: the change table as a stream (WatchChanges) and as a filtered listing
(ListChanges). The reading is service/changes.py's; this converts and checks the input."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from authz._gen.authz.v1 import changes_pb2 as pb
from authz._gen.authz.v1 import changes_pb2_grpc as pb_grpc
from authz.domain.errors import InvalidArgument
from authz.domain.validation import check_id, check_subject
from authz.engine.changes import ChangeFilter, scope_nodes
from authz.service import changes

from . import convert
from .backend import Backend

MAX_TOKEN_NAME = 128


def _filters_digest(request) -> str:
    """What a page token is bound to: the listing's filters and its first revision."""
    scope = request.scope
    text = "\0".join((str(request.after_revision), request.subject, request.token_name, scope.organization_id,
                      scope.workspace_id, scope.project_id))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _page_token(request, after: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([after, _filters_digest(request)]).encode()).decode()


def _after(request) -> int:
    """The revision the page starts after: the request's, or its page token's."""
    if not request.page_token:
        return request.after_revision
    try:
        value = json.loads(base64.urlsafe_b64decode(request.page_token.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = None
    if not (isinstance(value, list) and len(value) == 2 and type(value[0]) is int
            and value[0] >= request.after_revision and value[1] == _filters_digest(request)):
        raise InvalidArgument("is not a token this server issued for this listing (same filters and "
                              "after_revision)", "page_token")
    return value[0]


def _filter(request) -> ChangeFilter:
    if request.subject:
        check_subject(request.subject, "subject")
    node = None
    if request.HasField("scope"):
        nodes = scope_nodes(convert.scope_from_proto(request.scope))
        if not nodes:
            raise InvalidArgument("give at least one of organization_id, workspace_id, project_id", "scope")
        for each in nodes:
            check_id(each.id, f"scope.{each.kind}_id")
        node = nodes[0]
    if len(request.token_name) > MAX_TOKEN_NAME:
        raise InvalidArgument(f"is {len(request.token_name)} characters long; no token name is longer than "
                              f"{MAX_TOKEN_NAME}", "token_name")
    return ChangeFilter(request.subject or None, node, request.token_name or None)


class ChangeServicer(pb_grpc.ChangeServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def WatchChanges(self, request, context):
        authorizer = self.backend.authorizer
        async for record in changes.follow(authorizer, request.after_revision, self.backend.stopping):
            yield convert.change_to_proto(record)

    async def ListChanges(self, request, context):
        limits = self.backend.limits
        page_size = limits.page_size(request.page_size, "changes asked for")
        wanted = _filter(request)
        after = _after(request)
        found = await changes.page(self.backend.authorizer, after, wanted, page_size,
                                   "page_token" if request.page_token else "after_revision")
        return pb.ListChangesResponse(
            changes=[convert.change_to_proto(record, positions if wanted.by_operation else None)
                     for record, positions in found.found],
            next_page_token=_page_token(request, found.revision) if found.more else "",
            revision=found.revision,
        )
