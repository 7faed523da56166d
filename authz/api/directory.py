"""DirectoryService: the hierarchy, teams, bindings and shares. Every write is one atomic
Authorizer.write; the unary writes and Import share the same converters."""

from __future__ import annotations

import base64
import binascii
import json

from authz._gen.authz.v1 import directory_pb2 as pb
from authz._gen.authz.v1 import directory_pb2_grpc as pb_grpc
from authz.domain import operations as ops
from authz.domain.errors import InvalidArgument
from authz.domain.model import BindingRow, Node
from authz.domain.validation import ID_PATTERN, check_id, check_name, check_subject
from authz.engine.index import share_sort_key
from authz.service.authorizer import View

from . import access, convert
from .backend import Backend


def _page_token(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode()


def _after_id(token: str) -> str | None:
    if not token:
        return None
    try:
        value = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = ""
    if not ID_PATTERN.fullmatch(value):
        raise InvalidArgument("is not a token this server issued", "page_token")
    return value


def _share_page_token(key: tuple[str, ...]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _after_share(token: str) -> tuple[str, ...] | None:
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = None
    if not (isinstance(value, list) and len(value) == 5 and all(isinstance(part, str) for part in value)):
        raise InvalidArgument("is not a token this server issued", "page_token")
    return tuple(value)


class DirectoryServicer(pb_grpc.DirectoryServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def _unary(self, name: str, request, context) -> pb.WriteResponse:
        written = await self.backend.write([convert.OPERATION_FROM_PROTO[name](request)], context)
        return pb.WriteResponse(revision=written.revision)

    async def CreateOrganization(self, request, context):
        return await self._unary("create_organization", request, context)

    async def CreateWorkspace(self, request, context):
        return await self._unary("create_workspace", request, context)

    async def CreateProject(self, request, context):
        return await self._unary("create_project", request, context)

    async def CreateTeam(self, request, context):
        return await self._unary("create_team", request, context)

    async def DeleteOrganization(self, request, context):
        return await self._unary("delete_organization", request, context)

    async def DeleteWorkspace(self, request, context):
        return await self._unary("delete_workspace", request, context)

    async def DeleteProject(self, request, context):
        return await self._unary("delete_project", request, context)

    async def DeleteTeam(self, request, context):
        return await self._unary("delete_team", request, context)

    async def AddTeamMember(self, request, context):
        return await self._unary("add_team_member", request, context)

    async def RemoveTeamMember(self, request, context):
        return await self._unary("remove_team_member", request, context)

    async def DeleteRoleBinding(self, request, context):
        return await self._unary("delete_role_binding", request, context)

    async def SetResourceMembership(self, request, context):
        return await self._unary("set_resource_membership", request, context)

    async def DeleteResources(self, request, context):
        limits = self.backend.limits
        limits.check_count(len(request.resources), limits.max_import_operations, "resources", "resources")
        return await self._unary("delete_resources", request, context)

    async def DeleteSubject(self, request, context):
        return await self._unary("delete_subject", request, context)

    async def CreateRoleBinding(self, request, context):
        written = await self.backend.write([convert.create_role_binding(request)], context)
        binding_id = written.recorded[0].id
        binding = written.put(BindingRow, lambda row: row.id == binding_id)
        scope = self.backend.authorizer.view().scope_of(binding.node)
        return pb.CreateRoleBindingResponse(binding=convert.binding_to_proto(binding, scope), revision=written.revision)

    async def Import(self, request, context):
        limits = self.backend.limits
        limits.check_size(request)
        count = len(request.operations)
        limits.check_count(count, limits.max_import_operations, "operations", "operations")
        operations = [convert.operation_from_proto(op, i) for i, op in enumerate(request.operations)]
        written = await self.backend.write(operations, context, field_prefix="operations")
        binding_ids = [op.id if isinstance(op, ops.CreateRoleBinding) else "" for op in written.recorded]
        return pb.ImportResponse(revision=written.revision, binding_ids=binding_ids)

    def _page_and_subject(self, request, asked_for: str) -> tuple[int, str | None]:
        """A listing's page size (within the limit) and its subject filter, both checked."""
        page_size = self.backend.limits.page_size(request.page_size, asked_for)
        subject = request.subject or None
        if subject:
            check_subject(subject, "subject")
        return page_size, subject

    @staticmethod
    def _scope_filter(request, view: View) -> tuple[Node | None, bool]:
        """The node a listing's scope names (None when it names none), and whether that node is
        stored (a listing at an unknown node is empty). InvalidArgument naming the field."""
        if not request.HasField("scope"):
            return None, True
        node, chain = view.resolve(convert.scope_from_proto(request.scope))
        return node, chain is not None

    async def ListRoleBindings(self, request, context):
        authorizer = self.backend.authorizer
        page_size, subject = self._page_and_subject(request, "bindings asked for")
        node, known = self._scope_filter(request, authorizer.view())
        if not known:
            return pb.ListRoleBindingsResponse(revision=authorizer.revision)
        after_id = _after_id(request.page_token)
        expires_before = convert.time_from_proto(request, "expires_before")
        rows, revision = await authorizer.list_role_bindings(subject, node, page_size + 1, after_id, expires_before)
        page = rows[:page_size]
        view = authorizer.view()
        return pb.ListRoleBindingsResponse(
            bindings=[convert.binding_to_proto(row, view.scope_of(row.node)) for row in page],
            next_page_token=_page_token(page[-1].id) if len(rows) > page_size else "",
            revision=revision,
        )

    async def ListSubjectAccess(self, request, context):
        return await access.list_subject_access(self.backend, request, context)

    async def ListResourceShares(self, request, context):
        view = self.backend.authorizer.view()
        page_size, subject = self._page_and_subject(request, "shares asked for")
        resource_type = resource_id = None
        if request.HasField("resource"):
            if request.resource.id and not request.resource.type:
                raise InvalidArgument("needs resource.type too", "resource.id")
            if request.resource.type:
                resource_type = check_name(request.resource.type, "resource.type", "resource type")
            if request.resource.id:
                resource_id = check_id(request.resource.id, "resource.id")
        node, known = self._scope_filter(request, view)
        if not known:
            return pb.ListResourceSharesResponse(revision=view.revision)
        after = _after_share(request.page_token)
        rows = view.shares_page(subject, node, resource_type, resource_id, page_size + 1, after)
        page = rows[:page_size]
        return pb.ListResourceSharesResponse(
            shares=[convert.share_to_proto(row, view.scope_of(row.node)) for row in page],
            next_page_token=_share_page_token(share_sort_key(page[-1])) if len(rows) > page_size else "",
            revision=view.revision,
        )
