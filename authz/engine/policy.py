"""The compiled policy: roles, their permissions, the resource types and actions, and the
grant memo a decision reads (owned by the policy, so that a reload drops it with the policy).

policy_files.py reads a policy directory into a `Policy`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from authz.domain.errors import PolicyError
from authz.domain.model import LEVELS, WILDCARD, RoleRow

if TYPE_CHECKING:
    from .index import Index

MODEL_FILE = "model.conf"
TYPES_FILE = "resource_types.csv"
ACTIONS_FILE = "actions.csv"
VOCABULARY_FILES = (TYPES_FILE, ACTIONS_FILE)
# The pseudo-role of rule 3 (see model.conf); not a role anyone can be bound to.
MEMBER_MARKER = "member"
MEMBER_LINE = ("p", MEMBER_MARKER, WILDCARD, WILDCARD, WILDCARD, "read")
DATABASE = "database"

# The model sections whose semantics the engine implements (whitespace aside).
EXPECTED_MODEL = {
    ("request_definition", "r"): "sub, dom, ws, org, type, id, act",
    ("policy_definition", "p"): "sub, dom, type, id, act",
    ("role_definition", "g"): "_, _, _",
    ("role_definition", "g2"): "_, _",
    ("policy_effect", "e"): "some(where (p.eft == allow))",
    ("matchers", "m"): (
        '(p.id == "*" && p.sub != "member" && (g(r.sub, p.sub, r.dom) || g(r.sub, p.sub, r.ws) || '
        'g(r.sub, p.sub, r.org)) && (p.type == "*" || p.type == r.type) && (p.act == "*" || p.act == r.act)) || '
        "(p.dom == r.dom && p.type == r.type && p.id == r.id && p.act == r.act && g(r.sub, p.sub, r.dom)) || "
        '(r.act == "read" && r.id != "" && p.sub == "member" && g(r.sub, "member", r.type + ":" + r.id) && '
        '((r.type == "organization" && r.dom == r.org && r.org == r.type + ":" + r.id) || '
        '(r.type == "workspace" && r.dom == r.org && g2(r.type + ":" + r.id, r.dom)) || '
        '(r.type == "project" && r.dom == r.ws && g2(r.type + ":" + r.id, r.dom))))'
    ),
}


@dataclass(frozen=True, slots=True)
class Source:
    """Where something is written: a file of the policy directory and a line, or the database."""

    file: str
    line: int = 0
    text: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    message: str
    suggestion: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        hint = f" (did you mean {self.suggestion!r}?)" if self.suggestion else ""
        return f"{where}: {self.message}{hint}"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "message": self.message, "suggestion": self.suggestion}


@dataclass(frozen=True, slots=True)
class Permission:
    resource_type: str
    action: str
    source: Source


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    level: str
    permissions: tuple[Permission, ...]  # its own, not its base role's
    base_role: str = ""
    source: Source = Source(DATABASE)
    custom: bool = False
    base_source: Source | None = None  # the `g` line naming the base role


@dataclass(slots=True)
class _Grant:
    """A role's effective permissions (its own and its base roles') compiled for O(1) questions."""

    everything: bool = False
    pairs: set[tuple[str, str]] = field(default_factory=set)
    any_action_types: set[str] = field(default_factory=set)
    any_type_actions: set[str] = field(default_factory=set)

    def add(self, rtype: str, action: str) -> None:
        if rtype == WILDCARD and action == WILDCARD:
            self.everything = True
        elif action == WILDCARD:
            self.any_action_types.add(rtype)
        elif rtype == WILDCARD:
            self.any_type_actions.add(action)
        else:
            self.pairs.add((rtype, action))

    def allows(self, rtype: str, action: str) -> bool:
        return (
            self.everything
            or (rtype, action) in self.pairs
            or rtype in self.any_action_types
            or action in self.any_type_actions
        )


def _matches(permission: Permission, rtype: str, action: str) -> bool:
    return permission.resource_type in (WILDCARD, rtype) and permission.action in (WILDCARD, action)


GRANTING_LIMIT = 4096


@dataclass(frozen=True)
class Policy:
    roles: dict[str, Role]
    type_levels: dict[str, str]
    actions: frozenset[str]
    directory: Path
    digest: str
    loaded_at: float
    _grants: dict[str, _Grant]
    # The grant memo: the roles that grant each (resource type, action), filled as checks ask.
    # Owned by this policy, so a reload or a custom-role write (a new Policy) starts it over.
    _granting: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    def granting(self, rtype: str, action: str) -> frozenset[str]:
        """The roles with a permission matching (rtype, action). Bounded: types and actions the
        policy does not know come from requests, so at most GRANTING_LIMIT pairs are kept."""
        memo = self._granting
        key = (rtype, action)
        roles = memo.get(key)
        if roles is None:
            roles = frozenset(role for role in self.roles if self.allows(role, rtype, action))
            if len(memo) >= GRANTING_LIMIT:
                memo.clear()
            memo[key] = roles
        return roles

    def allows(self, role: str, rtype: str, action: str) -> bool:
        """Does `role` (with its base roles) have a permission matching (rtype, action)?
        Unknown roles allow nothing."""
        grant = self._grants.get(role)
        return grant is not None and grant.allows(rtype, action)

    def file(self, name: str) -> Path:
        return self.directory / name

    def lineage(self, role: str) -> list[Role]:
        """The role followed by its base roles, nearest first."""
        chain: list[Role] = []
        while role and role in self.roles and len(chain) <= len(self.roles):
            chain.append(self.roles[role])
            role = self.roles[role].base_role
        return chain

    def matching_permission(self, role: str, rtype: str, action: str) -> tuple[Role, Permission] | None:
        """The first permission line, of the role or of a role it extends, that matches."""
        for each in self.lineage(role):
            for permission in each.permissions:
                if _matches(permission, rtype, action):
                    return each, permission
        return None

    def effective_permissions(self, role: str) -> list[Permission]:
        return [permission for each in self.lineage(role) for permission in each.permissions]

    @property
    def custom_roles(self) -> list[Role]:
        return [role for role in self.roles.values() if role.custom]

    def with_stored_roles(self, index: Index) -> Policy:
        """This policy plus the custom roles `index` holds (PolicyError if they do not fit): the
        active policy of a policy of files."""
        return self.with_custom_roles(index.custom_roles.values())

    def with_custom_roles(self, rows: Iterable[RoleRow]) -> Policy:
        """This policy plus custom roles from the database; PolicyError if they do not fit."""
        roles = {name: role for name, role in self.roles.items() if not role.custom}
        problems: list[Problem] = []
        for row in rows:
            if row.name in roles:
                problems.append(Problem(DATABASE, 0, f"custom role {row.name!r} is also defined in "
                                        f"{roles[row.name].source}"))
                continue
            permissions = tuple(Permission(t, a, Source(DATABASE, 0, f"{row.name}: {t}, {a}"))
                                for t, a in row.permissions)
            roles[row.name] = Role(row.name, row.level, permissions, row.base_role,
                                   Source(DATABASE, 0, f"custom role {row.name}"), custom=True)
        problems += _check_lineage(roles)
        if problems:
            raise PolicyError("; ".join(str(p) for p in problems))
        return replace(self, roles=roles, _grants=_compile(roles), _granting={})


def _compile(roles: dict[str, Role]) -> dict[str, _Grant]:
    grants = {}
    for name in roles:
        grant = grants[name] = _Grant()
        seen: set[str] = set()
        role: str = name
        while role and role in roles and role not in seen:
            seen.add(role)
            for permission in roles[role].permissions:
                grant.add(permission.resource_type, permission.action)
            role = roles[role].base_role
    return grants


def _check_lineage(roles: dict[str, Role]) -> list[Problem]:
    """Base roles exist, share the level of the role extending them, and form no cycle."""
    problems = []
    for role in roles.values():
        if not role.base_role:
            continue
        line = role.base_source or role.source
        where = (line.file, line.line)
        base = roles.get(role.base_role)
        if base is None:
            problems.append(Problem(*where, f"role {role.name!r} extends {role.base_role!r}, which does not exist",
                                    _nearest(role.base_role, roles)))
        elif base.level != role.level:
            problems.append(Problem(*where, f"{role.level} role {role.name!r} cannot extend {base.level} "
                                            f"role {base.name!r}"))
        seen = [role.name]
        current = role.base_role
        while current in roles:
            if current in seen:
                if current == role.name:
                    problems.append(Problem(*where, "base roles form a cycle: " + " -> ".join([*seen, current])))
                break
            seen.append(current)
            current = roles[current].base_role
    return problems


def permission_problem(
    rtype: str, action: str, level: str, type_levels: dict[str, str], actions: frozenset[str]
) -> tuple[str, str] | None:
    """Why a role of `level` cannot have the permission (rtype, action), with a suggestion;
    None when it can. Shared by the role files and PolicyService's custom roles."""
    if rtype != WILDCARD and rtype not in type_levels:
        return f"unknown resource type {rtype!r}", _nearest(rtype, type_levels)
    if rtype != WILDCARD and LEVELS.index(type_levels[rtype]) < LEVELS.index(level):
        return f"{rtype!r} is a {type_levels[rtype]}-level type: a {level} role's permission on it could never apply", ""
    if action != WILDCARD and action not in actions:
        return f"unknown action {action!r}", _nearest(action, actions)
    return None


def _nearest(word: str, known: Iterable[str]) -> str:
    matches = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else ""


def suggest(word: str, known: Iterable[str]) -> str:
    """The "did you mean" of `policy validate`: the nearest known name, or ""."""
    return _nearest(word, known)


def unknown_role(name: str, policy: Policy) -> str:
    """Why `name` names no role, with validate's suggestion (never the whole list of roles)."""
    nearest = suggest(name, [role for role in policy.roles if role != MEMBER_MARKER])
    if nearest:
        return f"unknown role {name!r} (did you mean {nearest!r}?)"
    return f"unknown role {name!r}; ListRoles lists the {len(policy.roles)} roles"


def listed(names: list[str], most: int = 5) -> str:
    """At most `most` names, then how many more."""
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")
