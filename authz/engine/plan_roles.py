"""Planning custom-role writes (PolicyService): validate against the active policy and the
stored bindings, and turn each into row changes, removing bindings only when forced."""

from __future__ import annotations

from authz.domain import operations as ops
from authz.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PolicyError
from authz.domain.model import LEVELS, Change, Put, Remove, RoleRow
from authz.domain.validation import check_name
from authz.domain.wording import agree, count

from .index import Index
from .policy import MEMBER_MARKER, Policy, listed, permission_problem, unknown_role

ROLE_OPERATIONS = (ops.CreateCustomRole, ops.UpdateCustomRole, ops.DeleteCustomRole)


def plan_role_operation(index: Index, policy: Policy, operation) -> list[Change]:
    if isinstance(operation, ops.DeleteCustomRole):
        return _delete(index, policy, operation)
    return _create_or_update(index, policy, operation)


def _custom(policy: Policy, name: str):
    check_name(name, "name", "role name")
    role = policy.roles.get(name)
    if role is None:
        raise NotFound(unknown_role(name, policy), "name")
    if not role.custom:
        raise FailedPrecondition(f"role {name!r} is defined in {role.source} and is read-only here; "
                                 "edit the policy files instead", "name")
    return role


def _dependents(policy: Policy, name: str) -> list[str]:
    return sorted(role.name for role in policy.roles.values() if role.base_role == name)


def _remove_bindings(index: Index, name: str, force: bool, why: str) -> list[Change]:
    ids = sorted(index.bindings_by_role.get(name, ()))
    if ids and not force:
        raise FailedPrecondition(f"{count(len(ids), 'binding')} {agree(len(ids), 'uses', 'use')} role {name!r}; "
                                 f"{why} only with force, which removes them too", "force")
    return [Remove(index.bindings[binding_id]) for binding_id in ids]


def _delete(index: Index, policy: Policy, op: ops.DeleteCustomRole) -> list[Change]:
    _custom(policy, op.name)
    dependents = _dependents(policy, op.name)
    if dependents:
        raise FailedPrecondition(f"role {op.name!r} is the base of {listed(dependents)}; change those first",
                                 "name")
    changes = _remove_bindings(index, op.name, op.force, "it can be deleted")
    return [*changes, Remove(index.custom_roles[op.name])]


def _create_or_update(index: Index, policy: Policy, op) -> list[Change]:
    creating = isinstance(op, ops.CreateCustomRole)
    if creating:
        check_name(op.name, "name", "role name")
        if op.name == MEMBER_MARKER:
            raise InvalidArgument(f"{op.name!r} is reserved", "name")
        if op.name in policy.roles:
            raise AlreadyExists(f"role {op.name!r} already exists ({policy.roles[op.name].source})", "name")
    else:
        _custom(policy, op.name)
    if op.level not in LEVELS:
        raise InvalidArgument(f"must be one of {', '.join(LEVELS)}", "level")
    if op.base_role:
        check_name(op.base_role, "base_role", "role name")
        base = policy.roles.get(op.base_role)
        if base is None or op.base_role == MEMBER_MARKER:
            raise NotFound(unknown_role(op.base_role, policy), "base_role")
        if base.level != op.level:
            raise FailedPrecondition(f"a {op.level} role cannot extend the {base.level} role {op.base_role!r}",
                                     "base_role")
    if not op.permissions and not op.base_role:
        raise InvalidArgument("a role needs permissions or a base role", "permissions")
    seen = set()
    for position, permission in enumerate(op.permissions):
        field = f"permissions[{position}]"
        for value, name in ((permission.resource_type, "resource_type"), (permission.action, "action")):
            if value != "*":
                check_name(value, f"{field}.{name}", name.replace("_", " "))
        wrong = permission_problem(permission.resource_type, permission.action, op.level, policy.type_levels,
                                   policy.actions)
        if wrong is not None:
            message, suggestion = wrong
            raise InvalidArgument(message + (f" (did you mean {suggestion!r}?)" if suggestion else ""), field)
        pair = (permission.resource_type, permission.action)
        if pair in seen:
            raise InvalidArgument("appears twice", field)
        seen.add(pair)
    row = RoleRow(op.name, op.level, op.base_role, tuple((p.resource_type, p.action) for p in op.permissions))
    others = [r for name, r in index.custom_roles.items() if name != op.name]
    try:
        policy.with_custom_roles([*others, row])
    except PolicyError as error:
        raise FailedPrecondition(error.reason, "base_role") from None
    if creating:
        return [Put(row)]
    old = index.custom_roles[op.name]
    changes: list[Change] = []
    if old.level != op.level:
        dependents = _dependents(policy, op.name)
        if dependents:
            raise FailedPrecondition(f"role {op.name!r} is the base of {listed(dependents)}; its level cannot "
                                     "change", "level")
        changes = _remove_bindings(index, op.name, op.force, f"it can move from {old.level} to {op.level}")
    return [*changes, Remove(old), Put(row)]
