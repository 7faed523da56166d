"""The policy files in `policies/`: the Casbin model, role permissions, resource types, actions.

Stock pycasbin parses the model and the role lines, so a file that Casbin would reject is
rejected here too; the rest of authz works from the compiled `Policy`."""

from __future__ import annotations

import configparser
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import casbin

from authz.domain.errors import PolicyError
from authz.domain.model import LEVELS, WILDCARD
from authz.domain.validation import NAME_PATTERN

MODEL_FILE = "model.conf"
ROLES_FILE = "roles.csv"
TYPES_FILE = "resource_types.csv"
ACTIONS_FILE = "actions.csv"
# The pseudo-role of rule 3 (see model.conf); not a role anyone can be bound to.
MEMBER_MARKER = "member"

# The model sections whose semantics the engine implements (whitespace aside).
EXPECTED_MODEL = {
    ("request_definition", "r"): "sub, dom, ws, org, type, id, act",
    ("policy_definition", "p"): "sub, dom, type, id, act",
    ("role_definition", "g"): "_, _, _",
    ("role_definition", "g2"): "_, _",
    ("policy_effect", "e"): "some(where (p.eft == allow))",
}
EXPECTED_MATCHER = (
    '(p.id == "*" && p.sub != "member" && (g(r.sub, p.sub, r.dom) || g(r.sub, p.sub, r.ws) || '
    'g(r.sub, p.sub, r.org)) && (p.type == "*" || p.type == r.type) && (p.act == "*" || p.act == r.act)) || '
    "(p.dom == r.dom && p.type == r.type && p.id == r.id && p.act == r.act && g(r.sub, p.sub, r.dom)) || "
    '(r.act == "read" && r.id != "" && p.sub == "member" && g(r.sub, "member", r.type + ":" + r.id) && '
    '((r.type == "organization" && r.dom == r.org && r.org == r.type + ":" + r.id) || '
    '(r.type == "workspace" && r.dom == r.org && g2(r.type + ":" + r.id, r.dom)) || '
    '(r.type == "project" && r.dom == r.ws && g2(r.type + ":" + r.id, r.dom))))'
)


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    level: str
    permissions: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class _Grant:
    """A role's permissions compiled for O(1) questions."""

    everything: bool = False
    pairs: set[tuple[str, str]] = field(default_factory=set)
    any_action_types: set[str] = field(default_factory=set)
    any_type_actions: set[str] = field(default_factory=set)

    def allows(self, rtype: str, action: str) -> bool:
        return (
            self.everything
            or (rtype, action) in self.pairs
            or rtype in self.any_action_types
            or action in self.any_type_actions
        )


@dataclass(frozen=True)
class Policy:
    roles: dict[str, Role]
    type_levels: dict[str, str]
    actions: frozenset[str]
    directory: Path
    digest: str
    _grants: dict[str, _Grant]

    def allows(self, role: str, rtype: str, action: str) -> bool:
        """Does `role` have a permission matching (rtype, action)? Unknown roles allow nothing."""
        grant = self._grants.get(role)
        return grant is not None and grant.allows(rtype, action)

    def file(self, name: str) -> Path:
        return self.directory / name


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _check_model(path: Path) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(path.read_text())
    except (configparser.Error, OSError) as exc:
        raise PolicyError(f"{path}: cannot parse: {exc}") from exc
    for (section, key), expected in EXPECTED_MODEL.items():
        got = parser.get(section, key, fallback=None)
        if got is None or _normalise(got) != _normalise(expected):
            raise PolicyError(
                f"{path}: [{section}] {key} must be '{expected}' (authz implements this model), found {got!r}"
            )
    if _normalise(parser.get("matchers", "m", fallback="")) != _normalise(EXPECTED_MATCHER):
        raise PolicyError(f"{path}: [matchers] m differs from the matcher authz implements; see the README")


def _read_table(path: Path, columns: int) -> list[tuple[int, list[str]]]:
    """(line number, cells) for each non-comment line of a small CSV file."""
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != columns:
            raise PolicyError(f"{path}:{number}: expected {columns} comma-separated values, found {len(cells)}")
        rows.append((number, cells))
    return rows


def _load_vocabulary(directory: Path) -> tuple[dict[str, str], frozenset[str]]:
    type_levels: dict[str, str] = {}
    for number, (rtype, level) in _read_table(directory / TYPES_FILE, 2):
        where = f"{directory / TYPES_FILE}:{number}"
        if not NAME_PATTERN.fullmatch(rtype):
            raise PolicyError(f"{where}: {rtype!r} is not a valid resource type name")
        if level not in LEVELS:
            raise PolicyError(f"{where}: level {level!r} must be one of {', '.join(LEVELS)}")
        if rtype in type_levels:
            raise PolicyError(f"{where}: resource type {rtype!r} is listed twice")
        type_levels[rtype] = level
    actions: set[str] = set()
    for number, (action,) in _read_table(directory / ACTIONS_FILE, 1):
        if not NAME_PATTERN.fullmatch(action):
            raise PolicyError(f"{directory / ACTIONS_FILE}:{number}: {action!r} is not a valid action name")
        actions.add(action)
    return type_levels, frozenset(actions)


def _compile_roles(
    rows: list[list[str]], type_levels: dict[str, str], actions: frozenset[str], where: Path
) -> tuple[dict[str, Role], dict[str, _Grant]]:
    levels: dict[str, str] = {}
    permissions: dict[str, list[tuple[str, str]]] = {}
    for sub, dom, rtype, rid, action in rows:
        if sub == MEMBER_MARKER:
            continue
        line = f"{where}: p, {sub}, {dom}, {rtype}, {rid}, {action}"
        if not NAME_PATTERN.fullmatch(sub):
            raise PolicyError(f"{line}: {sub!r} is not a valid role name")
        if dom not in LEVELS:
            raise PolicyError(f"{line}: the level must be one of {', '.join(LEVELS)}")
        if levels.setdefault(sub, dom) != dom:
            raise PolicyError(f"{line}: role {sub!r} is already a {levels[sub]} role")
        if rid != WILDCARD:
            raise PolicyError(f"{line}: role permissions name no resource id; use '*'")
        if rtype != WILDCARD and rtype not in type_levels:
            raise PolicyError(f"{line}: unknown resource type {rtype!r}; add it to {TYPES_FILE}")
        if action != WILDCARD and action not in actions:
            raise PolicyError(f"{line}: unknown action {action!r}; add it to {ACTIONS_FILE}")
        permissions.setdefault(sub, []).append((rtype, action))
    roles = {name: Role(name, levels[name], tuple(perms)) for name, perms in permissions.items()}
    grants: dict[str, _Grant] = {}
    for role in roles.values():
        grant = grants[role.name] = _Grant()
        for rtype, action in role.permissions:
            if rtype == WILDCARD and action == WILDCARD:
                grant.everything = True
            elif action == WILDCARD:
                grant.any_action_types.add(rtype)
            elif rtype == WILDCARD:
                grant.any_type_actions.add(action)
            else:
                grant.pairs.add((rtype, action))
    return roles, grants


def load_policy(directory: str | Path) -> Policy:
    """Load and validate a policy directory; PolicyError says which file and why."""
    directory = Path(directory)
    for name in (MODEL_FILE, ROLES_FILE, TYPES_FILE, ACTIONS_FILE):
        if not (directory / name).is_file():
            raise PolicyError(f"{directory / name}: missing")
    _check_model(directory / MODEL_FILE)
    try:
        enforcer = casbin.Enforcer(str(directory / MODEL_FILE), str(directory / ROLES_FILE))
    except Exception as exc:  # pycasbin raises bare exceptions of many kinds
        raise PolicyError(f"{directory}: Casbin cannot load the policy: {exc}") from exc
    rows = [list(row) for row in enforcer.get_policy()]
    if [MEMBER_MARKER, WILDCARD, WILDCARD, WILDCARD, "read"] not in rows:
        raise PolicyError(f"{directory / ROLES_FILE}: the line 'p, member, *, *, *, read' is required (rule 3)")
    if enforcer.get_grouping_policy() or enforcer.get_named_grouping_policy("g2"):
        raise PolicyError(f"{directory / ROLES_FILE}: bindings belong in the database, not in g lines")
    type_levels, actions = _load_vocabulary(directory)
    roles, grants = _compile_roles(rows, type_levels, actions, directory / ROLES_FILE)
    digest = hashlib.sha256()
    for name in (MODEL_FILE, ROLES_FILE, TYPES_FILE, ACTIONS_FILE):
        digest.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
    return Policy(roles, type_levels, actions, directory, digest.hexdigest(), grants)
