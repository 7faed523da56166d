"""Reverse lookups agree with Check: over random worlds (teams, shares, inheritance, rule 3,
`*` permissions, custom roles, deletes), every subject of the world is in "who can" exactly
when Check allows it, and each of its grants is one that Check would find."""

from __future__ import annotations

import random
import shutil

from harness import POLICIES, Engine, bundled_policy, random_delete
from hypothesis import given, settings
from hypothesis import strategies as st

from authz.domain.model import Node, RoleRow
from authz.engine import decide, lookup
from authz.engine.lookup import RULE_MEMBERSHIP, RULE_RESOURCE_SHARE, RULE_ROLE_BINDING
from authz.engine.policy_files import load_policy
from authz.testing.synthetic import random_checks, random_world

CUSTOM = RoleRow("db_auditor", "organization", "organization_viewer", (("billing", "read"), ("pipeline", "*")))


_POLICIES: dict[str, object] = {}


def policy_for(custom: bool):
    if not custom:
        return bundled_policy()
    if "custom" not in _POLICIES:
        import tempfile
        from pathlib import Path

        directory = Path(tempfile.mkdtemp(prefix="authz-lookup-")) / "p"
        shutil.copytree(POLICIES, directory)
        (directory / "custom.csv").write_text("p, model_reviewer, project, model, *, promote\n"
                                              "g, model_reviewer, project_viewer, *\n")
        _POLICIES["custom"] = load_policy(directory).with_custom_roles([CUSTOM])
    return _POLICIES["custom"]


def build(seed: int, custom: bool, with_deletes: bool):
    policy = policy_for(custom)
    roles: dict[str, list[str]] = {}
    for role in policy.roles.values():
        roles.setdefault(role.level, []).append(role.name)
    world = random_world(seed, roles, policy.type_levels, bindings=70, shares=50)
    engine = Engine(policy)
    if custom:
        engine.index.load_rows([CUSTOM])
    engine.write(*world.operations)
    if with_deletes:
        rng = random.Random(seed)
        for _ in range(5):
            engine.write(random_delete(rng, engine, world.people))
    universe = world.people + [f"team:{t}" for t in world.teams] + ["user:stranger"]
    return engine, world, universe


def assert_grant_is_real(engine: Engine, subject: str, grant, action, rtype, rid, chain) -> None:
    index, policy = engine.index, engine.policy
    holder = grant.via_team or subject
    if grant.via_team:
        assert holder in index.teams_of.get(subject, ()), (subject, grant)
    if grant.rule == RULE_ROLE_BINDING:
        binding = grant.binding
        assert index.bindings[binding.id] == binding and binding.subject == holder
        assert binding.node in chain and policy.allows(binding.role, rtype, action)
        exact = any(p.resource_type == rtype and p.action == action for p in policy.effective_permissions(binding.role))
        assert grant.wildcard == (not exact)
    elif grant.rule == RULE_RESOURCE_SHARE:
        share = grant.share
        assert share.subject == holder and share.node == chain[0]
        assert (share.resource_type, share.resource_id) == (rtype, rid) and action in share.actions
    else:
        assert grant.rule == RULE_MEMBERSHIP and action == "read"
        assert grant.member_of.kind == rtype and grant.member_of.id == rid
        assert grant.binding.subject == holder and grant.member_of in index.chain(grant.binding.node)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), custom=st.booleans(), with_deletes=st.booleans())
def test_who_can_holds_exactly_the_subjects_check_allows(seed, custom, with_deletes):
    engine, world, universe = build(seed, custom, with_deletes)
    index, policy = engine.index, engine.policy
    questions = {(action, rtype, rid, node) for _, action, rtype, rid, node in
                 random_checks(seed, world, policy.type_levels, 120)}
    # Rule 3's questions: reading each node at its parent (an organization at itself).
    questions |= {("read", node.kind, node.id, index.parent[node] or node) for node in index.nodes}
    allowed_total = 0
    rules_seen = set()
    for action, rtype, rid, node in sorted(questions):
        found = lookup.who_can(index, policy, action, rtype, rid, node)
        for subject in universe:
            allowed = decide.check(index, policy, subject, action, rtype, rid, node)
            assert (subject in found) == allowed, (subject, action, rtype, rid, node, found.get(subject))
            allowed_total += allowed
        assert set(found) <= set(universe)
        chain = index.chain(node)
        for subject, grants in found.items():
            for grant in grants:
                assert_grant_is_real(engine, subject, grant, action, rtype, rid, chain)
                rules_seen.add(grant.rule)
            # Every binding Check could use is listed, not only the first.
            expected = {(binding_id, "" if holder == subject else holder)
                        for holder in index.subjects(subject) for here in chain
                        for role, binding_id in (index.roles_of(holder, here) or {}).items()
                        if policy.allows(role, rtype, action)}
            listed = {(g.binding.id, g.via_team) for g in grants if g.rule == RULE_ROLE_BINDING}
            assert listed == expected
        # Pages of any size, concatenated, are the whole answer in order.
        size = 1 + seed % 4
        pages, after = [], ""
        while True:
            page, more = lookup.subjects_page(index, policy, action, rtype, rid, node, after, size)
            pages += page
            if not more:
                break
            after = page[-1].subject
        assert [a.subject for a in pages] == sorted(found)
        assert all(len(a.grants) == len(found[a.subject]) for a in pages)
    assert allowed_total > 0 and RULE_ROLE_BINDING in rules_seen


def test_every_rule_and_team_members_are_found():
    engine, _, _ = build(7, custom=True, with_deletes=False)
    index, policy = engine.index, engine.policy
    engine.bind("team:team0-0", "project_viewer", project_id="prj0-0-0")
    engine.share("team:team0-1", "model/m1", ("read",), project_id="prj0-0-0")
    engine.bind("user:u3", "db_auditor", organization_id="org0")
    node = engine.node(project_id="prj0-0-0")
    found = lookup.who_can(index, policy, "read", "model", "m1", node)
    for team, rule in (("team0-0", RULE_ROLE_BINDING), ("team0-1", RULE_RESOURCE_SHARE)):
        for member in index.members[team]:
            assert any(g.rule == rule and g.via_team == f"team:{team}" for g in found[member])
        assert any(g.rule == rule and not g.via_team for g in found[f"team:{team}"])
    # The custom role grants pipeline by `*` action: a wildcard grant.
    pipelines = lookup.who_can(index, policy, "delete", "pipeline", "", node)
    assert any(g.wildcard and g.binding.role == "db_auditor" for g in pipelines["user:u3"])
    # Rule 3: members of a project (here, through a team) may read it at its workspace.
    members = lookup.who_can(index, policy, "read", "project", "prj0-0-0", engine.node(workspace_id="ws0-0"))
    member = min(index.members["team0-0"])
    assert any(g.rule == RULE_MEMBERSHIP and g.via_team == "team:team0-0" for g in members[member])
    # An unknown node: Check denies everyone, so nobody is listed.
    assert lookup.who_can(index, policy, "read", "model", "m1", Node("project", "no-such-project")) == {}


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), with_deletes=st.booleans())
def test_subject_access_agrees_with_check_and_the_organization_report(seed, with_deletes):
    engine, _, universe = build(seed, custom=False, with_deletes=with_deletes)
    index, policy = engine.index, engine.policy
    everyone = set()
    for subject in universe:
        rows = lookup.subject_access(index, subject)
        order = [lookup._report_order(index)(r.node) for r in rows]
        assert order == sorted(order)
        bindings = {(r.grant.binding.id, r.grant.via_team) for r in rows if r.grant.rule == RULE_ROLE_BINDING}
        assert bindings == {(binding_id, "" if holder == subject else holder) for holder in index.subjects(subject)
                            for binding_id in index.bindings_by_subject.get(holder, ())}
        shares = {(r.grant.share.node, r.grant.share.resource_type, r.grant.share.resource_id, r.grant.via_team)
                  for r in rows if r.grant.rule == RULE_RESOURCE_SHARE}
        assert shares == {(*key, "" if holder == subject else holder) for holder in index.subjects(subject)
                          for key in index.shares_by_subject.get(holder, ())}
        seen = {r.node for r in rows if r.grant.rule == RULE_MEMBERSHIP}
        for node in index.nodes:
            # Rule 3 reads node m at its parent (an organization at itself).
            at = index.chain(index.parent[node] or node)
            grant = decide.find_grant(index, policy, subject, "read", node.kind, node.id, at)
            if node in seen:
                assert grant is not None, (subject, node)
            else:  # allowed, if at all, by a binding or a share before membership is asked
                assert grant is None or grant[0] != RULE_MEMBERSHIP, (subject, node)
        for r in rows:
            if r.grant.rule != RULE_MEMBERSHIP:
                everyone.add((r.subject, r.node, r.grant.rule, r.grant.binding or r.grant.share, r.grant.via_team))
        for organization in ("org0", "org1"):
            inside = lookup.subject_access(index, subject, organization)
            assert inside == [r for r in rows if index.chain(r.node)[-1].id == organization]
    reported = set()
    for organization in ("org0", "org1"):
        for node in lookup.organization_nodes(index, organization):
            for r in lookup.node_access(index, node):
                reported.add((r.subject, r.node, r.grant.rule, r.grant.binding or r.grant.share, r.grant.via_team))
    # Subjects outside the universe hold nothing (only its people and teams were written).
    assert reported == everyone
