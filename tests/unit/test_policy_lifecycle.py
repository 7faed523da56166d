"""Policy validation, base roles, custom roles, policy test suites and what-if diffs."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from harness import POLICIES, Engine, tree, where

from authz.domain import errors
from authz.domain import operations as ops
from authz.domain.model import Node, Resource
from authz.engine.diff import Flip, diff_operations, diff_policy
from authz.engine.policy_files import check_policy_dir, load_policy
from authz.engine.policy_tests import run_suites


@pytest.fixture
def candidate(tmp_path) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(POLICIES, directory)
    return directory


def append(directory: Path, name: str, text: str) -> None:
    with open(directory / name, "a") as handle:
        handle.write(text)


def problems_of(directory: Path) -> list[str]:
    policy, problems = check_policy_dir(directory)
    assert (policy is None) == bool(problems)
    return [str(problem) for problem in problems]


# ---- validate


def test_bundled_policy_is_valid():
    policy, problems = check_policy_dir(POLICIES)
    assert problems == [] and len(policy.roles) == 14


def test_every_problem_is_reported_with_file_line_and_suggestion(candidate):
    lines = len((candidate / "roles.csv").read_text().splitlines())
    append(candidate, "roles.csv", "\n".join([
        "p, project_viewer, project, pipline, *, read",
        "p, project_viewer, project, stack, *, read",
        "p, project_viewer, project, model, *, reed",
        "p, project_viewer, project, model, *, read",
        "p, a_role, projct, model, *, read",
        "x, nonsense",
    ]) + "\n")
    found = problems_of(candidate)
    n = lines + 1
    assert f"roles.csv:{n}: unknown resource type 'pipline' (did you mean 'pipeline'?)" in found
    assert any(p.startswith(f"roles.csv:{n + 1}: 'stack' is a workspace-level type") for p in found)
    assert f"roles.csv:{n + 2}: unknown action 'reed' (did you mean 'read'?)" in found
    assert any(p.startswith(f"roles.csv:{n + 3}: duplicate of roles.csv:") for p in found)
    assert f"roles.csv:{n + 4}: unknown level 'projct' (did you mean 'project'?)" in found
    assert any(p.startswith(f"roles.csv:{n + 5}: a line starts with 'p'") for p in found)
    assert len(found) == 6


def test_problems_come_in_file_order_and_a_misspelled_level_is_no_duplicate(candidate):
    lines = len((candidate / "roles.csv").read_text().splitlines())
    append(candidate, "roles.csv", "p, project_viewer, project, pipline, *, read\n")
    (candidate / "custom.csv").write_text("p, model_reviewer, project, model, *, promote\n"
                                          "p, model_reviewer, projct, model, *, promote\n"
                                          "g, model_reviewer, projct_viewer, *\n")
    assert problems_of(candidate) == [
        "custom.csv:2: unknown level 'projct' (did you mean 'project'?)",
        "custom.csv:3: role 'model_reviewer' extends 'projct_viewer', which does not exist "
        "(did you mean 'project_viewer'?)",
        f"roles.csv:{lines + 1}: unknown resource type 'pipline' (did you mean 'pipeline'?)",
    ]


def test_unreadable_policy_files_are_problems_not_errors(candidate):
    (candidate / "broken.csv").write_bytes(b"p, \xff\xfe, project, model, *, read\n")
    (candidate / "folder.csv").mkdir()
    found = problems_of(candidate)
    assert sorted(p.split(":")[0] for p in found) == ["broken.csv", "folder.csv"], found
    assert all("cannot read it" in p or "not UTF-8" in p for p in found), found


def test_base_role_problems(candidate):
    append(candidate, "custom.csv", "\n".join([
        "p, reviewer, project, model, *, promote",
        "g, reviewer, projct_viewer, *",
        "p, cyc_a, project, model, *, read",
        "g, cyc_a, cyc_b, *",
        "g, cyc_b, cyc_a, *",
        "p, lead, workspace, stack, *, read",
        "g, lead, project_viewer, *",
    ]) + "\n")
    found = problems_of(candidate)
    assert ("custom.csv:2: role 'reviewer' extends 'projct_viewer', which does not exist "
            "(did you mean 'project_viewer'?)") in found
    assert any("base roles form a cycle: cyc_a -> cyc_b -> cyc_a" in p for p in found)
    assert "custom.csv:7: workspace role 'lead' cannot extend project role 'project_viewer'" in found


def test_a_model_that_differs_from_the_engine_is_refused(candidate):
    model = candidate / "model.conf"
    model.write_text(model.read_text().replace("some(where (p.eft == allow))", "!some(where (p.eft == deny))"))
    (found,) = problems_of(candidate)
    assert found.startswith("model.conf:") and "[policy_effect] e is different" in found


def test_a_role_extending_a_base_role_inherits_it_and_explains_where(candidate):
    append(candidate, "custom.csv", "p, model_reviewer, project, model, *, promote\n"
                                    "g, model_reviewer, project_viewer, *\n")
    engine = tree(Engine(load_policy(candidate)))
    engine.bind("user:r", "model_reviewer", project_id="p1")
    assert engine.check("user:r", "promote", "model/m", project_id="p1")
    assert engine.check("user:r", "read", "pipeline/x", project_id="p1")
    assert not engine.check("user:r", "update", "model/m", project_id="p1")
    decision = engine.explain("user:r", "read", "pipeline/x", project_id="p1")
    assert decision.inherited_from == "project_viewer"
    assert decision.policy_line.file == "roles.csv"
    assert decision.policy_line.text == "p, project_viewer, project, pipeline, *, read"
    own = engine.explain("user:r", "promote", "model/m", project_id="p1")
    assert (own.policy_line.file, own.policy_line.line, own.inherited_from) == ("custom.csv", 1, "")


def test_closest_misses_name_what_came_near():
    engine = tree(Engine())
    engine.write(ops.AddTeamMember("t1", "user:a"))
    engine.bind("team:t1", "project_viewer", project_id="p1")
    engine.bind("user:a", "project_admin", project_id="p2")
    engine.share("user:a", "pipeline/x", ("read",), project_id="p1")
    decision = engine.explain("user:a", "delete", "pipeline/x", project_id="p1")
    assert not decision.allowed
    assert decision.closest_misses == (
        "has project_viewer on project:p1 through team:t1; allows read on pipeline",
        "pipeline/x is shared with user:a for read, not delete",
        "has project_admin on project:p2, which does not reach project:p1",
    )
    assert "user:nobody holds nothing at all" in engine.explain("user:nobody", "read", "pipeline/x",
                                                                project_id="p1").closest_misses


# ---- policy test suites


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "authz.cli", *args], capture_output=True, text=True, timeout=60)


def test_shipped_suites_pass_and_cover_every_predefined_role():
    policy = load_policy(POLICIES)
    results, suite_errors = run_suites(POLICIES, policy)
    assert suite_errors == [] and all(not r.failures for r in results)
    import yaml

    outcomes: dict[str, set[str]] = {}
    for path in (POLICIES / "tests").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        role_of = {b["subject"]: b["role"] for b in data["world"].get("bindings", [])}
        for item in data["assertions"]:
            if item["subject"] in role_of:
                outcomes.setdefault(role_of[item["subject"]], set()).add(item["expect"])
    assert {role: kinds for role, kinds in outcomes.items()} == {role: {"allow", "deny"} for role in policy.roles}


def test_policy_test_exit_codes(candidate):
    assert run_cli("policy", "test", str(candidate)).returncode == 0
    suite = candidate / "tests" / "project_roles.yaml"
    suite.write_text(suite.read_text().replace(
        "{subject: user:viewer, action: create, resource: artifact/a, project: recs, expect: deny}",
        "{subject: user:viewer, action: create, resource: artifact/a, project: recs, expect: allow}"))
    failed = run_cli("policy", "test", str(candidate))
    assert failed.returncode == 1
    assert "FAIL tests/project_roles.yaml:" in failed.stdout and "expected allow" in failed.stdout
    assert "closest: has project_viewer on project:recs; allows read on artifact" in failed.stdout
    (candidate / "tests" / "broken.yaml").write_text("name: broken\nassertions: [{subject: nobody}]\n")
    assert run_cli("policy", "test", str(candidate)).returncode == 2
    (candidate / "tests" / "broken.yaml").unlink()
    append(candidate, "roles.csv", "p, project_viewer, project, pipline, *, read\n")
    unloadable = run_cli("policy", "test", str(candidate))
    assert unloadable.returncode == 2 and "pipline" in unloadable.stderr


def test_policy_validate_exit_codes_and_json(candidate):
    assert run_cli("policy", "validate", str(candidate)).returncode == 0
    suite = candidate / "tests" / "project_roles.yaml"
    suite.write_text(suite.read_text().replace("role: project_viewer, project: recs", "role: project_veiwer, project: recs"))
    in_suite = run_cli("policy", "validate", str(candidate))
    assert in_suite.returncode == 1
    assert "tests/project_roles.yaml: world.bindings[3]: role: unknown role 'project_veiwer'" in in_suite.stdout
    suite.write_text(suite.read_text().replace("project_veiwer", "project_viewer"))
    append(candidate, "roles.csv", "p, project_viewer, project, pipline, *, read\n")
    done = run_cli("policy", "validate", str(candidate), "--format", "json")
    import json

    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["valid"] is False
    assert report["problems"][0]["suggestion"] == "pipeline" and report["problems"][0]["file"] == "roles.csv"


# ---- custom roles


def test_custom_roles_are_planned_and_guarded():
    engine = tree(Engine())
    create = ops.CreateCustomRole("reviewer", "project", "project_viewer", (ops.PermissionSpec("model", "promote"),))
    engine.write(create)
    engine.policy = engine.policy.with_stored_roles(engine.index)
    engine.planner.policy = engine.policy
    engine.bind("user:r", "reviewer", project_id="p1")
    assert engine.check("user:r", "promote", "model/m", project_id="p1")
    assert engine.check("user:r", "read", "model/m", project_id="p1")

    def fails(error, field, operation, contains=""):
        with pytest.raises(error) as caught:
            engine.write(operation)
        assert caught.value.field == field and contains in caught.value.message, caught.value.message

    fails(errors.AlreadyExists, "name", create)
    fails(errors.AlreadyExists, "name", ops.CreateCustomRole("project_viewer", "project", "",
                                                              (ops.PermissionSpec("model", "read"),)))
    fails(errors.FailedPrecondition, "name", ops.DeleteCustomRole("project_viewer"), contains="read-only")
    fails(errors.InvalidArgument, "permissions[0]", ops.CreateCustomRole(
        "x", "project", "", (ops.PermissionSpec("stack", "read"),)), contains="could never apply")
    fails(errors.InvalidArgument, "permissions[0]", ops.CreateCustomRole(
        "x", "project", "", (ops.PermissionSpec("modle", "read"),)), contains="did you mean 'model'")
    fails(errors.FailedPrecondition, "base_role", ops.CreateCustomRole("x", "workspace", "project_viewer", ()))
    fails(errors.FailedPrecondition, "force", ops.DeleteCustomRole("reviewer"), contains="1 binding uses role")
    fails(errors.FailedPrecondition, "force", ops.UpdateCustomRole("reviewer", "workspace", "",
                                                                   (ops.PermissionSpec("stack", "read"),)))
    engine.write(ops.DeleteCustomRole("reviewer", force=True))
    assert engine.index.custom_roles == {} and engine.index.bindings == {}


# ---- what-if


def fixture_world() -> Engine:
    engine = tree(Engine())
    engine.write(ops.AddTeamMember("t1", "user:a"), ops.AddTeamMember("t1", "user:b"))
    engine.bind("team:t1", "project_viewer", project_id="p1")
    engine.bind("user:b", "project_developer", project_id="p1")
    engine.bind("user:c", "workspace_viewer", workspace_id="w1")
    engine.bind("user:d", "project_admin", project_id="p3")
    return engine


def test_policy_diff_reports_known_flips_once_at_the_binding_node(candidate):
    roles = candidate / "roles.csv"
    roles.write_text(roles.read_text()
                     .replace("p, project_viewer, project, pipeline, *, read\n", "")
                     .replace("p, project_viewer, project, model, *, read\n",
                              "p, project_viewer, project, model, *, read\np, project_viewer, project, model, *, promote\n"))
    engine = fixture_world()
    diff = diff_policy(engine.index, engine.policy, load_policy(candidate))
    p1 = Node("project", "p1")
    assert diff.gained == [Flip(s, "model", "promote", p1) for s in ("team:t1", "user:a", "user:b")]
    # user:b keeps pipeline read through project_developer: no flip for it.
    assert diff.lost == [Flip(s, "pipeline", "read", p1) for s in ("team:t1", "user:a")]
    assert diff.roles_in_use == []


def test_policy_diff_names_dropped_roles_in_use(candidate):
    roles = candidate / "roles.csv"
    roles.write_text("\n".join(line for line in roles.read_text().splitlines()
                               if not line.startswith("p, project_admin,")) + "\n")
    engine = fixture_world()
    diff = diff_policy(engine.index, engine.policy, load_policy(candidate))
    assert diff.roles_in_use == [("project_admin", 1, "dropped")]
    # every action on 16 types, and "*" for the actions the policy does not name
    assert {f.subject for f in diff.lost} == {"user:d"} and len(diff.lost) == 16 * 11


def test_operations_diff_reports_what_binding_changes_would_flip():
    engine = fixture_world()
    before = copy.deepcopy(vars(engine.index))
    diff = diff_operations(engine.index, engine.policy, [
        ops.RemoveTeamMember("t1", "user:a"),
        ops.SetResourceMembership("user:e", Resource("pipeline", "x"), where(project_id="p2"), ("read",)),
    ])
    assert vars(engine.index) == before  # nothing applied
    lost_types = {(f.subject, f.resource_type, f.action, f.node.id) for f in diff.lost if not f.resource_id}
    assert ("user:a", "pipeline", "read", "p1") in lost_types and len(lost_types) == 16
    assert {(f.subject, f.resource_type, f.resource_id, f.node.id) for f in diff.lost if f.resource_id} == {
        ("user:a", "project", "p1", "w1"), ("user:a", "workspace", "w1", "o1"), ("user:a", "organization", "o1", "o1")}
    assert diff.gained == [Flip("user:e", "pipeline", "read", Node("project", "p2"), "x")]
