"""A batch of operations planned at once (an Import) must do exactly what the same operations
written one at a time would: the planner holds some of a batch's changes back from the index
while it plans (plan.py, _Tentative), and these tests compare the two on random batches that
mix creations, duplicates within the batch, shares with and without an actor, and deletes."""

from __future__ import annotations

import copy
import itertools
import random

import pytest
from harness import Engine, bundled_policy, random_delete, tree, where
from hypothesis import given, settings
from hypothesis import strategies as st

from authz.domain import errors
from authz.domain import operations as ops
from authz.domain.model import Resource
from authz.testing.synthetic import random_world, scope_of_node

POLICY = bundled_policy()
ROLES_BY_LEVEL: dict[str, list[str]] = {}
for _role in POLICY.roles.values():
    ROLES_BY_LEVEL.setdefault(_role.level, []).append(_role.name)
PROJECT_TYPES = sorted(t for t, level in POLICY.type_levels.items() if level == "project")


def engine_with_ids() -> Engine:
    engine = Engine()
    counter = itertools.count()
    engine.planner.new_id = lambda: f"b{next(counter):06d}"
    return engine


def propose(rng: random.Random, engine: Engine, world, batch: list[ops.Operation]) -> ops.Operation:
    """A random operation against the engine's current state (most are valid in it)."""
    index = engine.index
    nodes = sorted(index.parent)
    projects = [n for n in nodes if n.kind == "project"]
    people = world.people + ["user:newcomer"]
    choice = rng.randrange(13)
    node = rng.choice(nodes)
    if batch and choice in (0, 12):  # the same operation again, later in the batch
        return rng.choice(batch)
    if choice <= 3:
        organization = index.organization_of(node)
        teams = [t for t in world.teams
                 if t in index.teams and index.teams[t].organization_id == organization]
        subject = rng.choice(people + [f"team:{t}" for t in teams])
        binding_id = rng.choice(["", "", "", f"given{rng.randrange(3)}"])
        role = rng.choice(ROLES_BY_LEVEL[node.kind])
        return ops.CreateRoleBinding(subject, role, scope_of_node(node), binding_id)
    if choice == 4:
        return ops.AddTeamMember(rng.choice(world.teams), rng.choice(people))
    if choice in (5, 6):
        project = rng.choice(projects)
        actor = rng.choice(["", "", rng.choice(people)])
        actions = tuple(rng.sample(["read", "update", "delete"], k=rng.randint(0, 2)))
        resource = Resource(rng.choice(PROJECT_TYPES), f"r{rng.randrange(4)}")
        return ops.SetResourceMembership(rng.choice(people), resource, scope_of_node(project), actions, actor)
    if choice == 7:
        workspaces = [n.id for n in nodes if n.kind == "workspace"]
        return ops.CreateProject(f"new{rng.randrange(3)}", rng.choice(workspaces))
    return random_delete(rng, engine, people)


def one_at_a_time(
    engine: Engine, operation: ops.Operation, revision: int
) -> tuple[list, list[ops.Operation]]:
    """Plan and apply one operation (at the batch's revision, so that rows compare equal)."""
    changes, recorded = engine.planner.plan_all([operation], revision)
    for change in changes:
        engine.index.apply(change)
    return changes, recorded


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 40))
def test_a_batch_plans_as_its_operations_one_at_a_time(seed, length):
    rng = random.Random(seed)
    world = random_world(seed, ROLES_BY_LEVEL, POLICY.type_levels, bindings=40, shares=20)
    at_once, one_by_one = engine_with_ids(), engine_with_ids()
    at_once.write(*world.operations)
    one_by_one.write(*world.operations)
    revision = at_once.revision + 1

    # The batch grows one operation at a time, each tried on `one_by_one` first: most
    # proposals that fail there are dropped, so that batches run long; a few are kept, and the
    # batch must then fail where one at a time did.
    batch: list[ops.Operation] = []
    first_error: tuple[int, errors.AuthzError] | None = None
    expected_changes, expected_recorded = [], []
    while len(batch) < length and first_error is None:
        operation = propose(rng, one_by_one, world, batch)
        try:
            changes, recorded = one_at_a_time(one_by_one, operation, revision)
        except errors.AuthzError as error:
            if rng.random() < 0.7:
                continue
            first_error = (len(batch), error)
        else:
            expected_changes += changes
            expected_recorded += recorded
        batch.append(operation)

    before = copy.deepcopy(vars(at_once.index))
    try:
        changes, recorded = at_once.planner.plan_all(batch, revision, field_prefix="operations")
    except errors.AuthzError as error:
        assert first_error is not None, f"the batch failed ({error.message}) where one at a time did not"
        position, expected = first_error
        assert type(error) is type(expected)
        assert error.reason == expected.reason
        name = ops.OPERATION_NAMES[type(batch[position])]
        assert error.field == f"operations[{position}].{name}.{expected.field}"
        assert vars(at_once.index) == before, "a failed batch left changes in the index"
        return
    assert first_error is None, f"one at a time failed at {first_error[0]}: {first_error[1].message}"
    assert vars(at_once.index) == before, "planning left changes in the index"
    for change in changes:
        at_once.index.apply(change)
    assert changes == expected_changes
    assert recorded == expected_recorded
    assert vars(at_once.index) == vars(one_by_one.index)


@pytest.mark.parametrize("first, again, field", [
    (ops.AddTeamMember("t1", "user:a"), ops.AddTeamMember("t1", "user:a"), "add_team_member.subject"),
    (ops.CreateRoleBinding("user:a", "project_viewer", where(project_id="p1")),
     ops.CreateRoleBinding("user:a", "project_viewer", where(project_id="p1")), "create_role_binding.role"),
    (ops.CreateRoleBinding("user:a", "project_viewer", where(project_id="p1"), "same"),
     ops.CreateRoleBinding("user:b", "project_viewer", where(project_id="p1"), "same"), "create_role_binding.id"),
])
def test_a_duplicate_of_an_earlier_operation_in_the_batch_is_refused(first, again, field):
    """The cases the random batches reach only now and then, each once for certain."""
    engine = tree(Engine())
    before = copy.deepcopy(vars(engine.index))
    with pytest.raises(errors.AlreadyExists) as caught:
        engine.planner.plan_all([first, again], 1, field_prefix="operations")
    assert caught.value.field == f"operations[1].{field}"
    assert vars(engine.index) == before


def test_a_share_set_twice_in_one_batch_keeps_the_second():
    engine = tree(Engine())
    share = ops.SetResourceMembership("user:a", Resource("model", "m"), where(project_id="p1"), ("read",))
    again = ops.SetResourceMembership("user:a", Resource("model", "m"), where(project_id="p1"), ("update",))
    engine.write(share, again)
    (row,) = [row for by_subject in engine.index.shares.values() for row in by_subject.values()]
    assert row.actions == frozenset({"update"})
