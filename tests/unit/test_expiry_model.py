"""Randomized: at any instant, the index after taking out what has expired decides, lists and
explains exactly as an index built from only the grants live at that instant."""

from __future__ import annotations

import dataclasses
import random

from harness import Engine, bundled_policy
from hypothesis import given, settings
from hypothesis import strategies as st

from authz.domain import operations as ops
from authz.engine import decide, explain
from authz.testing.synthetic import random_checks, random_world

INSTANTS = (100.0, 200.0, 300.0)  # the expiries drawn from; 0.0 is never


def world_with_expiries(seed: int):
    policy = bundled_policy()
    roles: dict[str, list[str]] = {}
    for role in policy.roles.values():
        roles.setdefault(role.level, []).append(role.name)
    world = random_world(seed, roles, policy.type_levels, organizations=2, bindings=60, shares=40)
    rng = random.Random(seed)
    operations = []
    for op in world.operations:
        if isinstance(op, (ops.CreateRoleBinding, ops.SetResourceMembership, ops.AddTeamMember)):
            op = dataclasses.replace(op, expires_at=rng.choice((0.0, *INSTANTS)))
        operations.append(op)
    return world, operations


def engine_of(operations, now: float) -> Engine:
    engine = Engine()
    engine.planner.now = 0.0
    engine.write(*[op for op in operations
                   if not getattr(op, "expires_at", 0.0) or op.expires_at > now])
    return engine


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), now=st.sampled_from((99.0, 100.0, 150.0, 200.0, 299.999, 300.0)))
def test_expired_grants_taken_out_match_an_index_without_them(seed, now):
    world, operations = world_with_expiries(seed)
    full = engine_of(operations, now=0.0)
    full.index.expire(now) if now >= full.index.expiries.next_at else None
    live = engine_of(operations, now=now)
    policy = bundled_policy()
    for subject, action, rtype, rid, node in random_checks(seed, world, policy.type_levels, 300):
        got = decide.check(full.index, policy, subject, action, rtype, rid, node)
        assert got == decide.check(live.index, policy, subject, action, rtype, rid, node)
        if full.index.chain(node) is not None:
            assert explain.explain(full.index, policy, subject, action, rtype, rid, node).allowed == got
            assert decide.list_allowed(full.index, policy, subject, action, rtype, node) == \
                decide.list_allowed(live.index, policy, subject, action, rtype, node)
    def grants(index):
        return sorted((b.subject, b.role, b.node, b.expires_at) for b in index.bindings.values())

    assert grants(full.index) == grants(live.index)
    assert full.index.shares == live.index.shares
    assert full.index.members == live.index.members
    assert full.index.expiries.next_at > now
