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
import hashlib
import re
import time
from collections.abc import Iterable
from pathlib import Path

import casbin

from authz.domain.errors import PolicyError
from authz.domain.model import LEVELS, WILDCARD
from authz.domain.validation import NAME_PATTERN

from .policy import (
    ACTIONS_FILE,
    EXPECTED_MODEL,
    MEMBER_LINE,
    MEMBER_MARKER,
    MODEL_FILE,
    TYPES_FILE,
    VOCABULARY_FILES,
    Permission,
    Policy,
    Problem,
    Role,
    Source,
    _check_lineage,
    _compile,
    _nearest,
    permission_problem,
)

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
