"""`policy diff` against brute force: every effective decision before and after, at every node.

A flip is listed once, at the highest node where it happens; every decision that flips has a
listed flip at it or above it; a node below a listed flip that does not flip holds a binding of
the subject (or of one of its teams) that makes the difference; no listed flip's parent flips
the same way."""

from __future__ import annotations

import contextlib
import random
import shutil

import pytest
from harness import POLICIES, Engine, tree, where

from authz.domain import operations as ops
from authz.domain.errors import AlreadyExists
from authz.domain.model import Node
from authz.engine import decide
from authz.engine.diff import Flip, diff_operations, diff_policy
from authz.engine.policy import Policy
from authz.engine.policy_files import load_policy

OTHER_TYPE, OTHER_ACTION = "zz_unnamed_type", "zz_unnamed_action"


@pytest.fixture(scope="module")
def candidate(tmp_path_factory) -> Policy:
    """Stack admins lose stacks; workspace viewers lose models; project viewers gain promote."""
    directory = tmp_path_factory.mktemp("candidate") / "policies"
    shutil.copytree(POLICIES, directory)
    roles = directory / "roles.csv"
    text = roles.read_text()
    text = text.replace("p, stack_admin, workspace, stack, *, *\n", "")
    text = text.replace("p, workspace_viewer, workspace, *, *, read\n",
                        "p, workspace_viewer, workspace, pipeline, *, read\np, workspace_viewer, workspace, stack, *, read\n")
    text = text.replace("p, project_viewer, project, model, *, read\n",
                        "p, project_viewer, project, model, *, read\np, project_viewer, project, model, *, promote\n")
    roles.write_text(text)
    (directory / "tests").mkdir(exist_ok=True)
    return load_policy(directory)


def decisions(engine: Engine, policy: Policy, subjects: list[str]) -> dict[tuple[str, str, str, Node], bool]:
    """Rule 1 at every node for every (type, action), "*" standing for names the policy lacks."""
    types = sorted(policy.type_levels) + [OTHER_TYPE]
    actions = sorted(policy.actions) + [OTHER_ACTION]
    index = engine.index
    return {(s, t, a, node): decide.check(index, policy, s, a, t, "", node)
            for s in subjects for node in index.parent for t in types for a in actions}


def as_key(flip: Flip) -> tuple[str, str, str, Node]:
    rtype = OTHER_TYPE if flip.resource_type == "*" else flip.resource_type
    action = OTHER_ACTION if flip.action == "*" else flip.action
    return flip.subject, rtype, action, flip.node


def holds_binding_between(engine: Engine, subject: str, low: Node, high: Node) -> bool:
    index = engine.index
    who = index.subjects(subject)
    node: Node | None = low
    while node is not None and node != high:
        if any(index.roles_of(each, node) for each in who):
            return True
        node = index.parent.get(node)
    return False


def assert_diff_matches_brute_force(engine: Engine, diff, before: dict, after: dict) -> None:
    index = engine.index
    for listed, direction in ((diff.gained, True), (diff.lost, False)):
        keys = {as_key(f) for f in listed}
        assert len(keys) == len(listed), "a flip is listed twice"
        flipped = {k for k in before if before[k] != after[k] and after[k] == direction}
        assert keys <= flipped, sorted(keys - flipped)[:5]
        for subject, rtype, action, node in flipped:
            chain = index.chain(node) or ()
            assert any((subject, rtype, action, n) in keys for n in chain), (subject, rtype, action, node)
        for subject, rtype, action, node in keys:
            parent = index.parent.get(node)
            assert parent is None or (subject, rtype, action, parent) not in flipped, (subject, rtype, action, node)
            for below in index.subtree(node):
                if (subject, rtype, action, below) not in flipped:
                    assert holds_binding_between(engine, subject, below, node), (subject, rtype, action, below)


def test_a_workspace_role_over_several_projects_flips_at_its_workspace_only(candidate):
    engine = tree(Engine())
    engine.bind("user:s", "stack_admin", workspace_id="w1")
    engine.bind("user:s", "project_viewer", project_id="p1")  # unrelated to stacks
    engine.bind("user:v", "workspace_viewer", workspace_id="w1")
    engine.bind("user:v", "project_viewer", project_id="p2")  # still reads models in p2
    diff = diff_policy(engine.index, engine.policy, candidate)
    w1, p1, p2 = Node("workspace", "w1"), Node("project", "p1"), Node("project", "p2")
    lost = {(f.subject, f.resource_type, f.action, f.node) for f in diff.lost}
    stack_actions = {f.action for f in diff.lost if f.subject == "user:s"}
    assert {(s, t, n) for s, t, a, n in lost if s == "user:s"} == {("user:s", "stack", w1)}
    assert len(stack_actions) == len(engine.policy.actions) + 1  # every action, and "*"
    assert ("user:v", "model", "read", w1) in lost
    assert not any(n in (p1, p2) for s, t, a, n in lost)  # not again below the workspace
    gained = {(f.subject, f.resource_type, f.action, f.node) for f in diff.gained}
    assert gained == {("user:s", "model", "promote", p1), ("user:v", "model", "promote", p2)}
    subjects = ["user:s", "user:v"]
    assert_diff_matches_brute_force(engine, diff, decisions(engine, engine.policy, subjects),
                                    decisions(engine, candidate, subjects))


ROLES_BY_LEVEL = {
    "organization": ["organization_admin", "organization_viewer", "organization_member"],
    "workspace": ["workspace_admin", "workspace_viewer", "workspace_developer", "stack_admin"],
    "project": ["project_admin", "project_viewer", "project_developer"],
}


def random_world(rng: random.Random) -> tuple[Engine, list[str]]:
    engine = tree(Engine())
    people = [f"user:u{n}" for n in range(4)]
    teams = ["t1", "t2"]
    for team in teams:
        for person in rng.sample(people, 2):
            engine.write(ops.AddTeamMember(team, person))
    nodes = [n for n in engine.index.parent if n.id.startswith(("o1", "w1", "w2", "p1", "p2", "p3"))]
    subjects = people + [f"team:{t}" for t in teams]
    for _ in range(rng.randrange(3, 10)):
        node = rng.choice(nodes)
        subject = rng.choice(subjects)
        role = rng.choice(ROLES_BY_LEVEL[node.kind])
        scope = where(**{f"{node.kind}_id": node.id})
        with contextlib.suppress(AlreadyExists):  # a duplicate binding drawn twice
            engine.write(ops.CreateRoleBinding(subject, role, scope))
    return engine, subjects


@pytest.mark.parametrize("seed", range(12))
def test_policy_diff_agrees_with_brute_force(candidate, seed):
    engine, subjects = random_world(random.Random(seed))
    diff = diff_policy(engine.index, engine.policy, candidate)
    assert_diff_matches_brute_force(engine, diff, decisions(engine, engine.policy, subjects),
                                    decisions(engine, candidate, subjects))


@pytest.mark.parametrize("seed", range(8))
def test_operations_diff_agrees_with_brute_force(seed):
    rng = random.Random(1000 + seed)
    engine, subjects = random_world(rng)
    policy = engine.policy
    before = decisions(engine, policy, subjects)
    node = rng.choice([Node("workspace", "w1"), Node("project", "p1"), Node("organization", "o1")])
    operations: list = [ops.CreateRoleBinding(rng.choice(subjects), rng.choice(ROLES_BY_LEVEL[node.kind]),
                                              where(**{f"{node.kind}_id": node.id}))]
    if engine.index.bindings:
        operations.append(ops.DeleteRoleBinding(rng.choice(sorted(engine.index.bindings))))
    try:
        diff = diff_operations(engine.index, policy, operations)
    except Exception:  # noqa: BLE001 -- the drawn binding exists already
        pytest.skip("the random operations do not apply")
    diff.gained = [f for f in diff.gained if not f.resource_id]  # rule 1 only; rules 2 and 3 are per id
    diff.lost = [f for f in diff.lost if not f.resource_id]
    engine.write(*operations)
    assert_diff_matches_brute_force(engine, diff, before, decisions(engine, policy, subjects))
