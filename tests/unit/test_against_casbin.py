"""Randomized comparison with stock pycasbin over the exported model and policy, after
random writes including deletes; and the incremental index against one rebuilt from rows."""

from __future__ import annotations

import itertools
import random

import casbin
from harness import Engine, bundled_policy, random_delete
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authz.engine import casbin_export, decide, explain
from authz.engine.index import Index
from authz.testing.synthetic import random_checks, random_world

POLICY = bundled_policy()
ROLES_BY_LEVEL: dict[str, list[str]] = {}
for _role in POLICY.roles.values():
    ROLES_BY_LEVEL.setdefault(_role.level, []).append(_role.name)


def build(seed: int, with_deletes: bool) -> tuple[Engine, object]:
    world = random_world(seed, ROLES_BY_LEVEL, POLICY.type_levels, bindings=60, shares=40)
    engine = Engine()
    engine.write(*world.operations)
    if with_deletes:
        rng = random.Random(seed)
        for _ in range(6):
            engine.write(random_delete(rng, engine, world.people))
    return engine, world


def compare(engine: Engine, world, seed: int, tmp_path, count: int) -> int:
    model, csv = casbin_export.export(engine.index, POLICY, tmp_path / f"export{seed}")
    oracle = casbin.Enforcer(str(model), str(csv))
    allowed = 0
    for subject, action, rtype, rid, node in random_checks(seed, world, POLICY.type_levels, count):
        mine = decide.check(engine.index, POLICY, subject, action, rtype, rid, node)
        theirs = oracle.enforce(*casbin_export.request_for(engine.index, subject, action, rtype, rid, node))
        assert mine == theirs, explain.explain(engine.index, POLICY, subject, action, rtype, rid, node).text
        allowed += mine
    return allowed


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), with_deletes=st.booleans())
def test_engine_agrees_with_stock_casbin(seed, with_deletes, tmp_path):
    engine, world = build(seed, with_deletes)
    allowed = compare(engine, world, seed, tmp_path, 150)
    assert allowed > 0  # the comparison must exercise grants, not only denials


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_incremental_index_equals_one_rebuilt_from_its_rows(seed):
    engine, _ = build(seed, with_deletes=True)
    index = engine.index
    rebuilt = Index()
    rows = [*index.nodes.values()]
    rows.sort(key=lambda row: ("organization", "workspace", "project").index(row.node.kind))
    rows += list(index.teams.values())
    from authz.domain.model import MemberRow

    rows += [MemberRow(team, subject) for team, members in index.members.items() for subject in members]
    rows += list(index.bindings.values())
    rows += [share for by_subject in index.shares.values() for share in by_subject.values()]
    for _, table in itertools.groupby(rows, type):  # a table at a time, as start-up loads
        rebuilt.load_rows(table)
    assert vars(rebuilt) == vars(index)


def test_export_with_base_roles_and_custom_roles_agrees(tmp_path):
    """Base roles (files) and custom roles (database) export as Casbin role links."""
    import shutil

    from harness import POLICIES

    from authz.domain.model import RoleRow
    from authz.engine.policy_files import load_policy

    directory = tmp_path / "policies"
    shutil.copytree(POLICIES, directory)
    (directory / "custom.csv").write_text(
        "p, model_reviewer, project, model, *, promote\ng, model_reviewer, project_viewer, *\n"
        "g, senior_reviewer, model_reviewer, *\n"
        "p, ws_lead, workspace, stack, *, update\ng, ws_lead, workspace_viewer, *\n")
    stored = RoleRow("db_auditor", "organization", "organization_viewer", (("billing", "read"),))
    policy = load_policy(directory).with_custom_roles([stored])
    roles: dict[str, list[str]] = {}
    for role in policy.roles.values():
        roles.setdefault(role.level, []).append(role.name)
    world = random_world(99, roles, policy.type_levels, bindings=80, shares=30)
    engine = Engine(policy)
    engine.index.load_rows([stored])
    engine.write(*world.operations)
    engine.bind("user:u0", "db_auditor", organization_id="org0")
    engine.bind("user:u1", "senior_reviewer", project_id="prj0-0-0")
    engine.bind("team:team0-0", "ws_lead", workspace_id="ws0-0")
    model, csv = casbin_export.export(engine.index, policy, tmp_path / "export")
    oracle = casbin.Enforcer(str(model), str(csv))
    checks = list(random_checks(5, world, policy.type_levels, 300))
    for subject, action, rtype, rid, node in checks:
        mine = decide.check(engine.index, policy, subject, action, rtype, rid, node)
        theirs = oracle.enforce(*casbin_export.request_for(engine.index, subject, action, rtype, rid, node))
        assert mine == theirs, explain.explain(engine.index, policy, subject, action, rtype, rid, node).text
