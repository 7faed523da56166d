"""PolicyService: roles, custom roles, the active policy, reloads and what-if."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from authz._gen.authz.v1 import policy_pb2 as pb
from authz._gen.authz.v1 import policy_pb2_grpc as pb_grpc
from authz.domain import operations as ops
from authz.domain.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from authz.domain.model import BindingRow
from authz.domain.validation import shown
from authz.engine.diff import Diff
from authz.engine.policy import Role
from authz.engine.policy_files import check_policy_dir

from . import callinfo, convert, shadow
from .backend import Backend

DEFAULT_EXAMPLES = 20
MAX_EXAMPLES = 1000
MAX_PROBLEMS_SHOWN = 10


def _role_to_proto(role: Role, binding_count: int) -> pb.Role:
    return pb.Role(
        name=role.name,
        level=role.level,
        permissions=[pb.Permission(resource_type=p.resource_type, action=p.action) for p in role.permissions],
        base_role=role.base_role,
        custom=role.custom,
        source=pb.PolicyLine(file=role.source.file, line=role.source.line, text=role.source.text),
        binding_count=binding_count,
    )


def _permissions(request) -> tuple[ops.PermissionSpec, ...]:
    return tuple(ops.PermissionSpec(p.resource_type, p.action) for p in request.permissions)


class PolicyServicer(pb_grpc.PolicyServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        # A PolicyReloader (authz/reload.py, above this layer), set by the server once the index has loaded.
        self.reloader: Any = None

    async def ListRoles(self, request, context) -> pb.ListRolesResponse:
        view = self.backend.authorizer.view()
        return pb.ListRolesResponse(roles=[_role_to_proto(role, used) for role, used in view.roles()])

    async def GetPolicy(self, request, context) -> pb.GetPolicyResponse:
        view = self.backend.authorizer.view()
        files, active = view.file_policy, view.policy
        return pb.GetPolicyResponse(
            hash=files.digest, loaded_at=files.loaded_at, directory=str(files.directory),
            role_count=len(active.roles), custom_role_count=len(active.custom_roles),
        )

    async def _role_write(self, operation, context) -> pb.RoleWriteResponse:
        written = await self.backend.write([operation], context)
        return pb.RoleWriteResponse(revision=written.revision, removed_bindings=written.removed(BindingRow))

    async def CreateRole(self, request, context):
        operation = ops.CreateCustomRole(request.name, request.level, request.base_role, _permissions(request))
        return await self._role_write(operation, context)

    async def UpdateRole(self, request, context):
        operation = ops.UpdateCustomRole(request.name, request.level, request.base_role, _permissions(request),
                                         request.force)
        return await self._role_write(operation, context)

    async def DeleteRole(self, request, context):
        return await self._role_write(ops.DeleteCustomRole(request.name, request.force), context)

    async def Reload(self, request, context) -> pb.ReloadResponse:
        if self.reloader is None:
            raise Unavailable("the policy reloader is starting")
        outcome = await self.reloader.reload(
            request.force, "rpc", callinfo.caller.get(), callinfo.request_id.get()
        )
        return pb.ReloadResponse(changed=outcome.changed, hash=outcome.digest, revision=outcome.revision,
                                 removed_bindings=outcome.removed_bindings, message=outcome.message)

    async def DiffPolicy(self, request, context) -> pb.DiffPolicyResponse:
        authorizer = self.backend.authorizer
        examples = request.max_examples or DEFAULT_EXAMPLES
        self.backend.limits.check_count(examples, MAX_EXAMPLES, "max_examples", "examples")
        if bool(request.candidate_directory) == bool(request.operations):
            raise InvalidArgument("give exactly one of candidate_directory and operations", "candidate_directory")
        if request.candidate_directory:
            directory = _candidate_directory(request.candidate_directory)
            candidate, problems = await asyncio.to_thread(check_policy_dir, directory)
            if candidate is None:
                shown = "; ".join(map(str, problems[:MAX_PROBLEMS_SHOWN]))
                more = f" ({len(problems)} problems in all)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
                raise FailedPrecondition(f"the candidate policy is invalid: {shown}{more}", "candidate_directory")
            # The view is taken on the worker thread, with writes held off: nothing moves it.
            diff = await authorizer.read_off_loop(lambda: authorizer.view().diff_policy(candidate))
            digest = candidate.digest
        else:
            self.backend.limits.check_count(len(request.operations), self.backend.limits.max_import_operations,
                                            "operations", "operations")
            operations = [convert.operation_from_proto(op, i) for i, op in enumerate(request.operations)]
            # On the event loop: it applies the operations to the index for a moment (bounded
            # by the import limit), which a check on another thread could see.
            view = authorizer.view()
            diff = view.diff_operations(operations)
            digest = view.file_policy.digest
        return self._diff_to_proto(diff, examples, digest)

    def _diff_to_proto(self, diff: Diff, examples: int, digest: str) -> pb.DiffPolicyResponse:
        view = self.backend.authorizer.view()

        def flips(items):
            return [pb.Flip(subject=f.subject, resource_type=f.resource_type, resource_id=f.resource_id,
                            action=f.action, scope=convert.scope_to_proto(view.scope_of(f.node)))
                    for f in items[:examples]]

        return pb.DiffPolicyResponse(
            gained_count=len(diff.gained), lost_count=len(diff.lost), gained=flips(diff.gained),
            lost=flips(diff.lost),
            roles_in_use=[pb.RoleInUse(role=r, binding_count=n, change=c) for r, n, c in diff.roles_in_use],
            revision=view.revision, hash=digest,
        )


    # ---- shadow evaluation of a candidate policy (api/shadow.py)

    async def StartShadow(self, request, context) -> pb.StartShadowResponse:
        if not request.candidate_directory:
            raise InvalidArgument("is required", "candidate_directory")
        return await shadow.start(self.backend, request, _candidate_directory(request.candidate_directory))

    async def StopShadow(self, request, context) -> pb.ShadowReport:
        return shadow.stop(self.backend)

    async def GetShadowReport(self, request, context) -> pb.ShadowReport:
        return shadow.report(self.backend, request)

def _candidate_directory(text: str) -> Path:
    """The directory a caller names, or InvalidArgument/NotFound (never an OS error)."""
    field = "candidate_directory"
    try:
        directory = Path(text)
        is_dir = directory.is_dir()
    except (OSError, ValueError) as error:  # too long a name, a NUL byte, no permission...
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise InvalidArgument(f"{shown(text)} cannot be read: {reason[:80]}", field) from None
    if not is_dir:
        raise NotFound(f"{shown(text)} is not a directory on the server", field)
    return directory
