"""The policy files in `policies/`: the Casbin model, role files, resource types and actions.

`check_policy_dir` reads a directory and reports every problem it finds, each with its file
and line; `load_policy` returns the compiled `Policy` or raises PolicyError listing them. Stock
pycasbin also loads the model and each role file, so a file Casbin would reject is rejected here.

Role files are every `*.csv` of the directory except resource_types.csv and actions.csv:
    p, <role>, <level>, <resource type|*>, *, <action|*>     a permission of a role
    g, <role>, <base role>, *                                 the role extends <base role>
"""

from __future__ import annotations

import configparser
import difflib
import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import casbin

from authz.domain.errors import PolicyError
from authz.domain.model import LEVELS, WILDCARD, RoleRow
from authz.domain.validation import NAME_PATTERN

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


@dataclass(frozen=True)
class Policy:
    roles: dict[str, Role]
    type_levels: dict[str, str]
    actions: frozenset[str]
    directory: Path
    digest: str
    loaded_at: float
    _grants: dict[str, _Grant]

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
        return replace(self, roles=roles, _grants=_compile(roles))


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


# The longest message of one problem (its values come from files a caller may name).
MAX_PROBLEM_CHARS = 300


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def read_text(path: Path) -> str:
    """A policy file's text; PolicyError, naming the file, when it cannot be read or is not
    UTF-8 (a person gets one line, a reload a refusal, rather than a traceback)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PolicyError(f"not UTF-8 text (byte {error.start} cannot be decoded); save it as UTF-8",
                          path.name) from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise PolicyError(f"cannot read it: {reason[:120]}", path.name) from None


def _lines(path: Path) -> Iterable[tuple[int, str]]:
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, line.strip()


class _Reader:
    """Reads one policy directory, collecting problems instead of stopping at the first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[Problem] = []

    def problem(self, file: str, line: int, message: str, suggestion: str = "") -> None:
        if len(message) > MAX_PROBLEM_CHARS:
            message = message[:MAX_PROBLEM_CHARS] + "..."
        self.problems.append(Problem(file, line, message, suggestion[:64]))

    def model(self) -> None:
        path = self.directory / MODEL_FILE
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        text = read_text(path)
        try:
            parser.read_string(text)
        except configparser.Error as error:
            self.problem(MODEL_FILE, getattr(error, "lineno", 0) or 0, f"cannot parse: {error.message}")
            return
        for (section, key), expected in EXPECTED_MODEL.items():
            got = parser.get(section, key, fallback=None)
            if got is None or _normalise(got) != _normalise(expected):
                line = next((n for n, row in enumerate(text.splitlines(), 1) if row.strip().startswith(f"{key} =")), 0)
                shown = "missing" if got is None else "different"
                self.problem(MODEL_FILE, line, f"[{section}] {key} is {shown}: authz implements exactly "
                                               f"'{_normalise(expected)[:80]}...' (see the README)")

    def vocabulary(self) -> tuple[dict[str, str], frozenset[str]]:
        type_levels: dict[str, str] = {}
        for number, line in _lines(self.directory / TYPES_FILE):
            cells = [cell.strip() for cell in line.split(",")]
            if len(cells) != 2:
                self.problem(TYPES_FILE, number, f"expected 'resource type, level', found {len(cells)} values")
                continue
            rtype, level = cells
            if not NAME_PATTERN.fullmatch(rtype):
                self.problem(TYPES_FILE, number, f"{rtype!r} is not a valid resource type name")
            elif level not in LEVELS:
                self.problem(TYPES_FILE, number, f"unknown level {level!r}", _nearest(level, LEVELS))
            elif rtype in type_levels:
                self.problem(TYPES_FILE, number, f"resource type {rtype!r} is listed twice")
            else:
                type_levels[rtype] = level
        actions: set[str] = set()
        for number, line in _lines(self.directory / ACTIONS_FILE):
            if not NAME_PATTERN.fullmatch(line):
                self.problem(ACTIONS_FILE, number, f"{line!r} is not a valid action name")
            elif line in actions:
                self.problem(ACTIONS_FILE, number, f"action {line!r} is listed twice")
            actions.add(line)
        return type_levels, frozenset(actions)

    def casbin_loads(self, name: str) -> None:
        try:
            casbin.Enforcer(str(self.directory / MODEL_FILE), str(self.directory / name))
        except Exception as error:  # noqa: BLE001 -- pycasbin raises bare exceptions of many kinds
            self.problem(name, 0, f"Casbin cannot load it with {MODEL_FILE}: {error}")

    def roles(self, files: list[str], type_levels: dict[str, str], actions: frozenset[str]) -> dict[str, Role]:
        levels: dict[str, tuple[str, Source]] = {}
        permissions: dict[str, list[Permission]] = {}
        bases: dict[str, tuple[str, Source]] = {}
        seen: dict[tuple[str, str, str], Source] = {}
        marker = False
        for name in files:
            try:
                lines = list(_lines(self.directory / name))
            except PolicyError as error:  # unreadable: a problem of this file, and the others still read
                self.problem(name, 0, error.reason)
                continue
            for number, line in lines:
                cells = [cell.strip() for cell in line.split(",")]
                source = Source(name, number, line)
                if tuple(cells) == MEMBER_LINE:
                    marker = True
                elif cells[0] == "p":
                    self._permission(cells, source, type_levels, actions, levels, permissions, seen)
                elif cells[0] == "g":
                    self._base(cells, source, bases)
                else:
                    self.problem(name, number, f"a line starts with 'p' (a permission) or 'g' (a base role), "
                                               f"not {cells[0]!r}")
        if not marker:
            self.problem(files[0] if files else "roles.csv", 0,
                         "the line 'p, member, *, *, *, read' is required (rule 3, see model.conf)")
        roles: dict[str, Role] = {}
        for role, (base, source) in bases.items():
            if role not in levels and base in levels:
                levels[role] = (levels[base][0], source)  # a role with no lines of its own takes its base's level
        for role, (level, source) in levels.items():
            base, base_source = bases.get(role, ("", None))
            roles[role] = Role(role, level, tuple(permissions.get(role, ())), base, source, base_source=base_source)
        for role, (base, source) in bases.items():
            if role not in roles:
                self.problem(source.file, source.line, f"role {role!r} has no permissions and extends "
                                                       f"{base!r}, which does not exist", _nearest(base, levels))
        for problem in _check_lineage(roles):
            self.problems.append(problem)
        return roles

    def _permission(self, cells, source, type_levels, actions, levels, permissions, seen) -> None:
        where = (source.file, source.line)
        if len(cells) != 6:
            self.problem(*where, f"a permission is 'p, <role>, <level>, <type>, *, <action>': found {len(cells)} "
                                 f"values")
            return
        _, role, level, rtype, rid, action = cells
        ok = True
        if not NAME_PATTERN.fullmatch(role) or role == MEMBER_MARKER:
            self.problem(*where, f"{role!r} is not a valid role name")
            ok = False
        if level not in LEVELS:
            self.problem(*where, f"unknown level {level!r}", _nearest(level, LEVELS))
            ok = False
        elif role in levels and levels[role][0] != level:
            first = levels[role][1]
            self.problem(*where, f"role {role!r} is a {levels[role][0]} role ({first}); a role has one level")
            ok = False
        if rid != WILDCARD:
            self.problem(*where, "role permissions name no resource id: the fifth value must be '*'")
            ok = False
        wrong = permission_problem(rtype, action, level if level in LEVELS else LEVELS[0], type_levels, actions)
        if wrong is not None:
            self.problem(*where, *wrong)
            ok = False
        if not ok:
            return  # a line already wrong is no duplicate of a right one (a misspelled level...)
        key = (role, rtype, action)
        if key in seen:
            self.problem(*where, f"duplicate of {seen[key]}")
            return
        seen[key] = source
        levels.setdefault(role, (level, source))
        permissions.setdefault(role, []).append(Permission(rtype, action, source))

    def _base(self, cells, source, bases) -> None:
        where = (source.file, source.line)
        if len(cells) != 4 or cells[3] != WILDCARD:
            self.problem(*where, "a base role is 'g, <role>, <base role>, *'")
            return
        _, role, base, _ = cells
        if role in bases:
            self.problem(*where, f"role {role!r} already extends {bases[role][0]!r} ({bases[role][1]}); "
                                 "a role extends at most one")
            return
        bases[role] = (base, source)


def role_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.csv") if p.name not in VOCABULARY_FILES)


def watched_digest(directory: str | Path) -> str:
    """The content hash of everything validation reads: the policy files and the test suites
    under tests/. The watcher compares it, so that fixing only a test file is noticed."""
    directory = Path(directory)
    tests = sorted(str(p.relative_to(directory)) for p in (directory / "tests").glob("*.y*ml") if p.is_file())
    return policy_digest(directory) + ":" + _digest(directory, tests)


def _digest(directory: Path, files: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
    return digest.hexdigest()


def policy_digest(directory: str | Path) -> str:
    """The content hash of a policy directory (the model, role and vocabulary files)."""
    directory = Path(directory)
    names = [MODEL_FILE, *VOCABULARY_FILES, *role_files(directory)]
    return _digest(directory, [n for n in names if (directory / n).is_file()])


def check_policy_dir(directory: str | Path) -> tuple[Policy | None, list[Problem]]:
    """Read and validate a policy directory: the compiled Policy (None when there are
    problems) and every problem found."""
    directory = Path(directory)
    reader = _Reader(directory)
    try:
        return _check(directory, reader)
    except PolicyError as error:  # a file that cannot be read: the problems so far, and it
        return None, [*reader.problems, Problem(error.field or "", 0, error.reason)]
    except OSError as error:
        reason = error.strerror or str(error)
        return None, [*reader.problems, Problem(str(directory)[:120], 0, f"cannot read it: {reason[:120]}")]


def _in_file_order(problems: list[Problem], files: list[str]) -> list[Problem]:
    """Problems sorted as the files are read (model, vocabulary, role files by name), then by line."""
    order = {name: position for position, name in enumerate([MODEL_FILE, *VOCABULARY_FILES, *files])}
    return sorted(problems, key=lambda p: (order.get(p.file, len(order)), p.file, p.line))


def _check(directory: Path, reader: _Reader) -> tuple[Policy | None, list[Problem]]:
    for name in (MODEL_FILE, *VOCABULARY_FILES):
        if not (directory / name).is_file():
            reader.problem(name, 0, "missing")
    files = role_files(directory)
    if not files:
        reader.problem("roles.csv", 0, "no role file (*.csv) in the directory")
    if reader.problems:
        return None, reader.problems
    reader.model()
    type_levels, actions = reader.vocabulary()
    roles = reader.roles(files, type_levels, actions)
    if not reader.problems:
        for name in files:
            reader.casbin_loads(name)
    if reader.problems:
        return None, _in_file_order(reader.problems, files)
    policy = Policy(roles, type_levels, actions, directory, _digest(directory, [MODEL_FILE, *VOCABULARY_FILES, *files]),
                    time.time(), _compile(roles))
    return policy, []


def load_policy(directory: str | Path) -> Policy:
    """Load and validate a policy directory; PolicyError lists every problem."""
    policy, problems = check_policy_dir(directory)
    if policy is None:
        raise PolicyError(f"the policy in {directory} is invalid:\n" + "\n".join(f"  {p}" for p in problems))
    return policy
