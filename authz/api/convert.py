"""Proto <-> domain conversion, in one place. The engine never sees a protobuf message."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, cast

from authz._gen.authz.v1 import authorization_pb2 as authz_pb
from authz._gen.authz.v1 import changes_pb2 as changes_pb
from authz._gen.authz.v1 import common_pb2 as common_pb
from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz._gen.authz.v1 import policy_pb2 as policy_pb
from authz.domain import operations as ops
from authz.domain.errors import InvalidArgument
from authz.domain.model import BindingRow, Resource, Scope, ShareRow
from authz.engine.changes import on_behalf_of
from authz.engine.explain import Decision
from authz.engine.lookup import Grant


def scope_from_proto(message: common_pb.Scope) -> Scope:
    return Scope(message.organization_id, message.workspace_id, message.project_id)


def scope_to_proto(scope: Scope) -> common_pb.Scope:
    return common_pb.Scope(
        organization_id=scope.organization_id, workspace_id=scope.workspace_id, project_id=scope.project_id
    )


def resource_from_proto(message: common_pb.Resource) -> Resource:
    return Resource(message.type, message.id)


# The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_MIN_SECONDS, _MAX_SECONDS = -62135596800, 253402300799


def time_from_proto(message, name: str = "expires_at") -> float:
    """A Timestamp field as unix seconds, to the microsecond (nanoseconds are cut, so that a
    grant never outlives the time asked); 0.0 when unset. InvalidArgument naming the field when
    it is not a valid Timestamp."""
    if not message.HasField(name):
        return 0.0
    value = getattr(message, name)
    if not _MIN_SECONDS <= value.seconds <= _MAX_SECONDS or not 0 <= value.nanos < 1_000_000_000:
        raise InvalidArgument("is not a valid time (seconds from 0001 to 9999, nanos in [0, 1e9))", name)
    return value.seconds + (value.nanos // 1000) / 1e6 or -1.0  # the epoch itself is a time, and in the past


def set_time(target, name: str, at: float) -> None:
    """Set the Timestamp field `name` of `target` to unix seconds `at` (leave it unset for 0)."""
    if at:
        seconds = int(at // 1)
        getattr(target, name).FromNanoseconds(seconds * 1_000_000_000 + round((at - seconds) * 1e6) * 1000)


def binding_to_proto(binding: BindingRow, scope: Scope) -> common_pb.RoleBinding:
    message = common_pb.RoleBinding(
        id=binding.id,
        subject=binding.subject,
        role=binding.role,
        scope=scope_to_proto(scope),
        created_revision=binding.created_revision,
    )
    set_time(message, "expires_at", binding.expires_at)
    return message


def share_to_proto(share: ShareRow, scope: Scope) -> common_pb.ResourceShare:
    message = common_pb.ResourceShare(
        subject=share.subject,
        resource=common_pb.Resource(type=share.resource_type, id=share.resource_id),
        scope=scope_to_proto(scope),
        actions=sorted(share.actions),
    )
    set_time(message, "expires_at", share.expires_at)
    return message


def explanation_to_proto(decision: Decision, scope_of) -> authz_pb.Explanation:
    """`scope_of(node)` gives the full Scope of a node named in the decision."""
    message = authz_pb.Explanation(
        rule=cast(Any, decision.rule), text=decision.text, via_team=decision.via_team,
        inherited_from=decision.inherited_from, closest_misses=decision.closest_misses,
    )
    if decision.policy_line is not None:
        line = decision.policy_line
        message.policy_line.CopyFrom(policy_pb.PolicyLine(file=line.file, line=line.line, text=line.text))
    if decision.binding is not None:
        message.binding.CopyFrom(binding_to_proto(decision.binding, scope_of(decision.binding.node)))
    if decision.share is not None:
        message.share.CopyFrom(share_to_proto(decision.share, scope_of(decision.share.node)))
    set_time(message, "via_team_expires_at", decision.via_team_expires_at)
    return message


def _scope(message, name: str = "scope") -> Scope | None:
    return scope_from_proto(getattr(message, name)) if message.HasField(name) else None


def _resource(message) -> Resource | None:
    return resource_from_proto(message.resource) if message.HasField("resource") else None


def create_role_binding(m: dir_pb.CreateRoleBindingRequest) -> ops.CreateRoleBinding:
    return ops.CreateRoleBinding(m.subject, m.role, _scope(m), expires_at=time_from_proto(m))  # type: ignore[arg-type]


def set_resource_membership(m: dir_pb.SetResourceMembershipRequest) -> ops.SetResourceMembership:
    return ops.SetResourceMembership(
        m.subject, _resource(m), _scope(m), tuple(m.actions), m.actor, m.on_behalf_of,  # type: ignore[arg-type]
        time_from_proto(m),
    )


def delete_resources(m: dir_pb.DeleteResourcesRequest) -> ops.DeleteResources:
    refs = tuple(ops.ResourceRef(_resource(ref), _scope(ref)) for ref in m.resources)  # type: ignore[arg-type]
    return ops.DeleteResources(refs)


# One converter per `Operation` oneof field; unary write RPCs use the same ones.
OPERATION_FROM_PROTO: dict[str, Callable[[Any], ops.Operation]] = {
    "create_organization": lambda m: ops.CreateOrganization(m.id, m.display_name),
    "create_workspace": lambda m: ops.CreateWorkspace(m.id, m.organization_id, m.display_name),
    "create_project": lambda m: ops.CreateProject(m.id, m.workspace_id, m.display_name),
    "create_team": lambda m: ops.CreateTeam(m.id, m.organization_id, m.display_name),
    "delete_organization": lambda m: ops.DeleteOrganization(m.id),
    "delete_workspace": lambda m: ops.DeleteWorkspace(m.id),
    "delete_project": lambda m: ops.DeleteProject(m.id),
    "delete_team": lambda m: ops.DeleteTeam(m.id),
    "add_team_member": lambda m: ops.AddTeamMember(m.team_id, m.subject, time_from_proto(m)),
    "remove_team_member": lambda m: ops.RemoveTeamMember(m.team_id, m.subject),
    "create_role_binding": create_role_binding,
    "delete_role_binding": lambda m: ops.DeleteRoleBinding(m.id),
    "set_resource_membership": set_resource_membership,
    "delete_resources": delete_resources,
    "delete_subject": lambda m: ops.DeleteSubject(m.subject),
}


def operation_from_proto(message: dir_pb.Operation, position: int) -> ops.Operation:
    which = message.WhichOneof("operation")
    if which is None:
        raise InvalidArgument("names no operation", f"operations[{position}]")
    return OPERATION_FROM_PROTO[which](getattr(message, which))


def _operation_fields(operation: ops.Operation) -> dict:
    """Keyword arguments of the proto message for one operation."""
    if isinstance(operation, (ops.CreateRoleBinding, ops.AddTeamMember)):
        fields = ({"subject": operation.subject, "role": operation.role, "scope": scope_to_proto(operation.scope)}
                  if isinstance(operation, ops.CreateRoleBinding)
                  else {"team_id": operation.team_id, "subject": operation.subject})
        if operation.expires_at:
            fields["expires_at"] = _timestamp(operation.expires_at)
        return fields
    if isinstance(operation, ops.SetResourceMembership):
        return {
            "subject": operation.subject,
            "resource": common_pb.Resource(type=operation.resource.type, id=operation.resource.id),
            "scope": scope_to_proto(operation.scope),
            "actions": list(operation.actions),
            "actor": operation.actor,
            "on_behalf_of": operation.on_behalf_of,
            **({"expires_at": _timestamp(operation.expires_at)} if operation.expires_at else {}),
        }
    if isinstance(operation, (ops.CreateCustomRole, ops.UpdateCustomRole)):
        role: dict[str, Any] = {
            "name": operation.name, "level": operation.level, "base_role": operation.base_role,
            "permissions": [policy_pb.Permission(resource_type=p.resource_type, action=p.action)
                            for p in operation.permissions],
        }
        if isinstance(operation, ops.UpdateCustomRole):
            role["force"] = operation.force
        return role
    if isinstance(operation, ops.DeleteResources):
        return {
            "resources": [
                dir_pb.ResourceRef(
                    resource=common_pb.Resource(type=ref.resource.type, id=ref.resource.id),
                    scope=scope_to_proto(ref.scope),
                )
                for ref in operation.resources
            ]
        }
    return {name: getattr(operation, name) for name in operation.__slots__}


def _timestamp(at: float):
    holder = common_pb.RoleBinding()
    set_time(holder, "expires_at", at)
    return holder.expires_at


def operation_to_proto(operation: ops.Operation, container: Any = dir_pb.Operation) -> Any:
    """The `Operation` message for a domain operation (clients and tests build imports with it),
    or with `container=ChangeOperation`, that message, which also holds custom-role writes."""
    name = ops.OPERATION_NAMES[type(operation)]
    request_type = container.DESCRIPTOR.fields_by_name[name].message_type._concrete_class
    return container(**{name: request_type(**_operation_fields(operation))})


def _permission_specs(message) -> tuple[ops.PermissionSpec, ...]:
    return tuple(ops.PermissionSpec(p.resource_type, p.action) for p in message.permissions)


# The `ChangeOperation` oneof: the directory operations, and the custom-role writes.
CHANGE_OPERATION_FROM_PROTO: dict[str, Callable[[Any], ops.Operation]] = {
    **OPERATION_FROM_PROTO,
    "create_custom_role": lambda m: ops.CreateCustomRole(m.name, m.level, m.base_role, _permission_specs(m)),
    "update_custom_role": lambda m: ops.UpdateCustomRole(m.name, m.level, m.base_role, _permission_specs(m),
                                                         m.force),
    "delete_custom_role": lambda m: ops.DeleteCustomRole(m.name, m.force),
}


def change_operation_from_proto(message: changes_pb.ChangeOperation, binding_id: str = "") -> ops.Operation:
    """A recorded operation back as a domain operation (the CLI words them); `binding_id`, the
    id a CreateRoleBinding's binding was given (Change.binding_ids)."""
    which = message.WhichOneof("operation")
    if which is None:
        raise ValueError("a ChangeOperation that names no operation")
    operation = CHANGE_OPERATION_FROM_PROTO[which](getattr(message, which))
    if binding_id and isinstance(operation, ops.CreateRoleBinding):
        operation = dataclasses.replace(operation, id=binding_id)
    return operation


def change_operations_from_proto(change: changes_pb.Change) -> list[ops.Operation]:
    ids = list(change.binding_ids) or [""] * len(change.operations)
    return [change_operation_from_proto(op, binding_id) for op, binding_id in zip(change.operations, ids, strict=True)]


def change_to_proto(record: ops.WriteRecord, matching: list[int] | None = None) -> changes_pb.Change:
    """A change record as a `Change`; `matching`: positions of the operations a filter matched."""
    message = changes_pb.Change(
        revision=record.revision, token_name=record.actor, on_behalf_of=on_behalf_of(record.operations),
        request_id=record.request_id,
        operations=[operation_to_proto(op, changes_pb.ChangeOperation) for op in record.operations],
        matching_operations=matching or (),
        binding_ids=[op.id if isinstance(op, ops.CreateRoleBinding) else "" for op in record.operations],
    )
    set_time(message, "committed_at", record.committed_at)
    return message


def fill_grant(message: common_pb.Grant, grant: Grant, scope_message, team_expiry=None) -> None:
    """Fill an empty Grant message in place (listings make thousands: setting fields costs
    less than building and copying sub-messages). `scope_message(node)` gives a node's full
    Scope message; `team_expiry(team)`, when given, when the membership of a team expires."""
    message.rule = cast(Any, grant.rule)
    if grant.via_team:
        message.via_team = grant.via_team
        if team_expiry is not None:
            set_time(message, "via_team_expires_at", team_expiry(grant.via_team))
    if grant.wildcard:
        message.wildcard = True
    binding = grant.binding
    if binding is not None:
        target = message.binding
        target.id = binding.id
        target.subject = binding.subject
        target.role = binding.role
        target.created_revision = binding.created_revision
        target.scope.CopyFrom(scope_message(binding.node))
        if binding.expires_at:
            set_time(target, "expires_at", binding.expires_at)
    share = grant.share
    if share is not None:
        target = message.share
        target.subject = share.subject
        target.resource.type = share.resource_type
        target.resource.id = share.resource_id
        target.scope.CopyFrom(scope_message(share.node))
        target.actions.extend(sorted(share.actions))
        if share.expires_at:
            set_time(target, "expires_at", share.expires_at)
    if grant.member_of is not None:
        message.member_of.CopyFrom(scope_message(grant.member_of))
