"""Policy test suites: `<policy dir>/tests/*.yaml`, each a small world and the decisions
expected in it (schema: schemas/policy-test.schema.json). Run by `authz policy test` and before
every hot reload."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from authz.domain import operations as ops
from authz.domain.errors import AuthzError
from authz.domain.model import Resource, Scope

from . import decide, explain
from .index import Index
from .plan import Planner
from .policy import Policy
from .scope import resolve

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "policy-test.schema.json"
_VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


class SuiteError(Exception):
    """A suite that cannot be run: unreadable YAML, a schema violation, an impossible world."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")
        self.file, self.line, self.message = file, line, message


@dataclass(frozen=True)
class Failure:
    file: str
    line: int
    assertion: str
    expected: str
    explanation: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.assertion}: expected {self.expected}, got the opposite\n    {self.explanation}"


@dataclass
class SuiteResult:
    file: str
    name: str
    assertions: int = 0
    failures: list[Failure] = field(default_factory=list)


def _scope(item: dict) -> Scope:
    return Scope(item.get("organization", ""), item.get("workspace", ""), item.get("project", ""))


def world_operations(world: dict) -> list[tuple[str, ops.Operation]]:
    """(where in the YAML, operation) for every entity of a suite's world, parents first."""
    result: list[tuple[str, ops.Operation]] = []
    for o, org in enumerate(world.get("organizations", [])):
        result.append((f"world.organizations[{o}]", ops.CreateOrganization(org["id"])))
        for w, workspace in enumerate(org.get("workspaces", [])):
            where = f"world.organizations[{o}].workspaces[{w}]"
            result.append((where, ops.CreateWorkspace(workspace["id"], org["id"])))
            result.extend((f"{where}.projects[{p}]", ops.CreateProject(project, workspace["id"]))
                          for p, project in enumerate(workspace.get("projects", [])))
    for t, team in enumerate(world.get("teams", [])):
        result.append((f"world.teams[{t}]", ops.CreateTeam(team["id"], team["organization"])))
        result.extend((f"world.teams[{t}].members[{m}]", ops.AddTeamMember(team["id"], member))
                      for m, member in enumerate(team.get("members", [])))
    for b, binding in enumerate(world.get("bindings", [])):
        result.append((f"world.bindings[{b}]", ops.CreateRoleBinding(binding["subject"], binding["role"],
                                                                      _scope(binding))))
    for s, share in enumerate(world.get("shares", [])):
        result.append((f"world.shares[{s}]", ops.SetResourceMembership(
            share["subject"], Resource.parse(share["resource"]), _scope(share), tuple(share["actions"]))))
    return result


def _assertion_lines(text: str) -> list[int]:
    """The line of each item of the top-level `assertions` list."""
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "assertions" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def load_suite(path: Path, relative: str) -> tuple[dict, list[int]]:
    try:
        text = path.read_text()
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise SuiteError(relative, 0, "not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise SuiteError(relative, mark.line + 1 if mark else 0, f"not valid YAML: {error}") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise SuiteError(relative, 0, f"cannot read it: {reason[:120]}") from None
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(part) for part in first.absolute_path) or "(top level)"
        raise SuiteError(relative, 0, f"{where}: {first.message}")
    return data, _assertion_lines(text)


def build_world(policy: Policy, data: dict, relative: str) -> Index:
    """The suite's world, planned through the same validation as real writes."""
    index = Index()
    planner = Planner(index, policy)
    for where, operation in world_operations(data.get("world", {})):
        try:
            changes, _ = planner.plan(operation, 1)
        except AuthzError as error:
            raise SuiteError(relative, 0, f"{where}: {error.message}") from None
        for change in changes:
            index.apply(change)
    return index


def check_suites(directory: str | Path, policy: Policy) -> list[SuiteError]:
    """Every suite that cannot load or whose world does not fit the policy (for validate)."""
    directory = Path(directory)
    errors = []
    for path in suite_files(directory):
        relative = str(path.relative_to(directory))
        try:
            data, _ = load_suite(path, relative)
            build_world(policy, data, relative)
        except SuiteError as error:
            errors.append(error)
    return errors


def run_suite(policy: Policy, data: dict, relative: str, lines: list[int]) -> SuiteResult:
    index = build_world(policy, data, relative)
    result = SuiteResult(relative, data["name"])
    for position, item in enumerate(data["assertions"]):
        resource = Resource.parse(item["resource"])
        line = lines[position] if position < len(lines) else 0
        try:
            node, chain = resolve(index, _scope(item))
        except AuthzError as error:
            raise SuiteError(relative, line, f"assertions[{position}]: {error.message}") from None
        allowed = chain is not None and decide.find_grant(
            index, policy, item["subject"], item["action"], resource.type, resource.id, chain) is not None
        result.assertions += 1
        if allowed != (item["expect"] == "allow"):
            decision = explain.explain(index, policy, item["subject"], item["action"], resource.type, resource.id,
                                       node)
            text = f"{item['subject']} {item['action']} {item['resource']} in {node}"
            if item.get("why"):
                text += f" ({item['why']})"
            result.failures.append(Failure(relative, line, text, item["expect"], decision.text))
    return result


def suite_files(directory: Path) -> list[Path]:
    return sorted((directory / "tests").glob("*.yaml")) + sorted((directory / "tests").glob("*.yml"))


def run_suites(directory: str | Path, policy: Policy) -> tuple[list[SuiteResult], list[SuiteError]]:
    """Run every suite of a policy directory against `policy`."""
    directory = Path(directory)
    results, errors = [], []
    for path in suite_files(directory):
        relative = str(path.relative_to(directory))
        try:
            data, lines = load_suite(path, relative)
            results.append(run_suite(policy, data, relative, lines))
        except SuiteError as error:
            errors.append(error)
    return results, errors
