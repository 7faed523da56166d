"""The decision semantics, rule by rule, with teams, at every level."""

from __future__ import annotations

import pytest
from harness import Engine, tree

from authz.domain import operations as ops


@pytest.fixture
def e() -> Engine:
    return tree(Engine())


# ---- rule 1: bindings on the node or an ancestor


def test_project_binding_grants_in_its_project_only(e):
    e.bind("user:a", "project_viewer", project_id="p1")
    assert e.check("user:a", "read", "pipeline/x", project_id="p1")
    assert e.check("user:a", "read", "pipeline", project_id="p1")  # no id: the type as a whole
    assert not e.check("user:a", "read", "pipeline/x", project_id="p2")
    assert not e.check("user:a", "update", "pipeline/x", project_id="p1")


def test_nothing_flows_upward(e):
    e.bind("user:a", "project_admin", project_id="p1")
    assert not e.check("user:a", "read", "pipeline/x", workspace_id="w1")
    assert not e.check("user:a", "read", "pipeline/x", organization_id="o1")


def test_workspace_binding_reaches_its_projects_not_its_siblings(e):
    e.bind("user:a", "workspace_viewer", workspace_id="w1")
    assert e.check("user:a", "read", "stack/s", workspace_id="w1")
    assert e.check("user:a", "read", "pipeline/x", project_id="p1")
    assert e.check("user:a", "read", "pipeline/x", project_id="p2")
    assert not e.check("user:a", "read", "pipeline/x", project_id="p3")
    assert not e.check("user:a", "read", "pipeline/x", workspace_id="w2")
    assert not e.check("user:a", "update", "pipeline/x", project_id="p1")


def test_organization_admin_reaches_every_project_of_its_organization_only(e):
    e.bind("user:a", "organization_admin", organization_id="o1")
    for scope in ({"organization_id": "o1"}, {"workspace_id": "w2"}, {"project_id": "p3"}):
        assert e.check("user:a", "delete", "pipeline/x", **scope)
        assert e.check("user:a", "anything_new", "brand_new_type/x", **scope)
    assert not e.check("user:a", "read", "pipeline/x", project_id="p4")
    assert not e.check("user:a", "read", "organization/o2", organization_id="o2")


def test_rules_apply_at_the_node_given_whatever_the_type_level(e):
    e.bind("user:a", "workspace_viewer", workspace_id="w1")
    # A project-level type asked at the workspace is still granted by the workspace binding.
    assert e.check("user:a", "read", "pipeline/x", workspace_id="w1")


def test_team_binding_grants_its_members(e):
    e.write(ops.AddTeamMember("t1", "user:a"), ops.AddTeamMember("t1", "service_account:bot"))
    e.bind("team:t1", "project_developer", project_id="p1")
    assert e.check("user:a", "update", "model/m", project_id="p1")
    assert e.check("service_account:bot", "create", "model/m", project_id="p1")
    assert e.check("team:t1", "update", "model/m", project_id="p1")
    assert not e.check("user:b", "update", "model/m", project_id="p1")
    decision = e.explain("user:a", "update", "model/m", project_id="p1")
    assert decision.via_team == "team:t1" and decision.binding.role == "project_developer"


def test_team_membership_removed_revokes(e):
    e.write(ops.AddTeamMember("t1", "user:a"))
    e.bind("team:t1", "workspace_admin", workspace_id="w1")
    assert e.check("user:a", "delete", "stack/s", workspace_id="w1")
    e.write(ops.RemoveTeamMember("t1", "user:a"))
    assert not e.check("user:a", "delete", "stack/s", workspace_id="w1")


def test_unknown_types_and_actions_are_granted_only_by_a_wildcard(e):
    e.bind("user:a", "project_developer", project_id="p1")
    e.bind("user:b", "workspace_admin", workspace_id="w1")
    e.bind("user:c", "workspace_viewer", workspace_id="w1")
    assert not e.check("user:a", "read", "new_type/x", project_id="p1")
    assert e.check("user:b", "new_action", "new_type/x", project_id="p1")
    assert e.check("user:c", "read", "new_type/x", project_id="p1")
    assert not e.check("user:c", "new_action", "pipeline/x", project_id="p1")


def test_unknown_scope_and_unknown_subject_deny(e):
    e.bind("user:a", "organization_admin", organization_id="o1")
    assert not e.check("user:a", "read", "pipeline/x", project_id="nope")
    assert not e.check("user:nobody", "read", "pipeline/x", project_id="p1")
    assert "does not exist" in e.explain("user:a", "read", "pipeline/x", project_id="nope").text


def test_workspace_developer_has_no_delete_and_no_settings(e):
    e.bind("user:a", "workspace_developer", workspace_id="w1")
    assert e.check("user:a", "update", "pipeline/x", project_id="p1")
    assert e.check("user:a", "create", "stack/s", workspace_id="w1")
    assert not e.check("user:a", "delete", "pipeline/x", project_id="p1")
    assert not e.check("user:a", "update", "workspace/w1", workspace_id="w1")
    assert not e.check("user:a", "update", "member/m", workspace_id="w1")


def test_workspace_contributor_has_no_project_access(e):
    e.bind("user:a", "workspace_contributor", workspace_id="w1")
    assert e.check("user:a", "create", "stack/s", workspace_id="w1")
    assert not e.check("user:a", "read", "stack/s", workspace_id="w1")
    assert not e.check("user:a", "create", "pipeline/x", project_id="p1")


# ---- rule 2: shares


def test_share_grants_the_listed_actions_on_that_resource_at_that_node_only(e):
    e.share("user:a", "pipeline/x", ("read", "update"), project_id="p1")
    assert e.check("user:a", "read", "pipeline/x", project_id="p1")
    assert e.check("user:a", "update", "pipeline/x", project_id="p1")
    assert not e.check("user:a", "delete", "pipeline/x", project_id="p1")
    assert not e.check("user:a", "read", "pipeline/y", project_id="p1")
    assert not e.check("user:a", "read", "pipeline", project_id="p1")
    assert not e.check("user:a", "read", "pipeline/x", project_id="p2")


def test_share_on_a_workspace_does_not_reach_its_projects(e):
    e.share("user:a", "stack/s", ("read",), workspace_id="w1")
    assert e.check("user:a", "read", "stack/s", workspace_id="w1")
    assert not e.check("user:a", "read", "stack/s", project_id="p1")


def test_team_share_grants_members_and_replace_and_remove(e):
    e.write(ops.AddTeamMember("t1", "user:a"))
    e.share("team:t1", "model/m", ("read",), project_id="p1")
    assert e.check("user:a", "read", "model/m", project_id="p1")
    e.share("team:t1", "model/m", ("update",), project_id="p1")  # replaces
    assert not e.check("user:a", "read", "model/m", project_id="p1")
    assert e.check("user:a", "update", "model/m", project_id="p1")
    e.share("team:t1", "model/m", (), project_id="p1")  # empty removes
    assert not e.check("user:a", "update", "model/m", project_id="p1")
    assert e.index.shares == {}


# ---- rule 3: members see the places they belong to


def test_member_reads_its_project_at_the_workspace_and_upward_places(e):
    e.bind("user:a", "project_viewer", project_id="p1")
    assert e.check("user:a", "read", "project/p1", workspace_id="w1")
    assert e.check("user:a", "read", "workspace/w1", organization_id="o1")
    assert e.check("user:a", "read", "organization/o1", organization_id="o1")
    # Not the sibling, not at the wrong node, not other actions.
    assert not e.check("user:a", "read", "project/p2", workspace_id="w1")
    assert not e.check("user:a", "read", "workspace/w2", organization_id="o1")
    assert not e.check("user:a", "read", "project/p1", organization_id="o1")
    assert not e.check("user:a", "read", "project/p1", project_id="p1")
    assert not e.check("user:a", "update", "project/p1", workspace_id="w1")
    assert e.explain("user:a", "read", "project/p1", workspace_id="w1").rule == 3


def test_membership_through_a_team(e):
    e.write(ops.AddTeamMember("t2", "user:a"))
    e.bind("team:t2", "workspace_viewer", workspace_id="w2")
    assert e.check("user:a", "read", "workspace/w2", organization_id="o1")
    decision = e.explain("user:a", "read", "workspace/w2", organization_id="o1")
    assert decision.via_team == "team:t2" and decision.binding.node.id == "w2"


# ---- listing


def test_list_allowed_full_access_and_ids(e):
    e.write(ops.AddTeamMember("t1", "user:a"))
    e.bind("user:v", "workspace_viewer", workspace_id="w1")
    assert e.list_allowed("user:v", "read", "pipeline", project_id="p1") == (True, [])
    e.share("user:a", "pipeline/b", ("read",), project_id="p1")
    e.share("team:t1", "pipeline/a", ("read", "update"), project_id="p1")
    e.share("user:a", "pipeline/c", ("update",), project_id="p1")
    e.share("user:a", "pipeline/d", ("read",), project_id="p2")
    assert e.list_allowed("user:a", "read", "pipeline", project_id="p1") == (False, ["a", "b"])
    assert e.list_allowed("user:a", "update", "pipeline", project_id="p1") == (False, ["a", "c"])
    assert e.list_allowed("user:nobody", "read", "pipeline", project_id="p1") == (False, [])
    assert e.list_allowed("user:a", "read", "pipeline", project_id="gone") == (False, [])


def test_list_allowed_places_by_membership(e):
    e.bind("user:a", "project_viewer", project_id="p2")
    e.bind("user:a", "project_viewer", project_id="p3")
    assert e.list_allowed("user:a", "read", "project", workspace_id="w1") == (False, ["p2"])
    assert e.list_allowed("user:a", "read", "workspace", organization_id="o1") == (False, ["w1", "w2"])
    assert e.list_allowed("user:a", "read", "organization", organization_id="o1") == (False, ["o1"])
    e.bind("user:m", "organization_viewer", organization_id="o1")
    assert e.list_allowed("user:m", "read", "workspace", organization_id="o1") == (True, [])


# ---- deletes


def test_delete_workspace_removes_everything_under_it(e):
    e.write(ops.AddTeamMember("t1", "user:a"))
    e.bind("user:a", "workspace_admin", workspace_id="w1")
    e.bind("team:t1", "project_admin", project_id="p1")
    e.share("user:a", "pipeline/x", ("read",), project_id="p2")
    kept = e.bind("user:a", "workspace_viewer", workspace_id="w2")
    e.write(ops.DeleteWorkspace("w1"))
    assert set(e.index.bindings) == {kept}
    assert e.index.shares == {}
    assert not e.check("user:a", "read", "pipeline/x", project_id="p1")
    assert e.check("user:a", "read", "pipeline/x", project_id="p3")
    assert e.index.members == {"t1": {"user:a"}}  # teams belong to the organization


def test_delete_organization_leaves_nothing_of_it(e):
    e.write(ops.AddTeamMember("t1", "user:a"), ops.AddTeamMember("t3", "user:a"))
    e.bind("team:t1", "workspace_admin", workspace_id="w1")
    e.bind("user:a", "organization_admin", organization_id="o1")
    e.share("team:t1", "pipeline/x", ("read",), project_id="p1")
    other = e.bind("team:t3", "project_viewer", project_id="p4")
    e.write(ops.DeleteOrganization("o1"))
    assert set(e.index.bindings) == {other}
    assert set(e.index.teams) == {"t3"} and e.index.teams_of == {"user:a": {"team:t3"}}
    assert {n.id for n in e.index.parent} == {"o2", "w3", "p4"}
    assert e.index.shares == {} and e.index.shares_by_subject == {}
    assert all(subject == "team:t3" for subject, _ in e.index.member_count)


def test_delete_team_and_delete_subject(e):
    e.write(ops.AddTeamMember("t1", "user:a"), ops.AddTeamMember("t2", "user:a"))
    e.bind("team:t1", "workspace_admin", workspace_id="w1")
    e.share("team:t1", "pipeline/x", ("read",), project_id="p1")
    e.bind("user:a", "project_viewer", project_id="p1")
    e.share("user:a", "pipeline/y", ("read",), project_id="p1")
    e.write(ops.DeleteTeam("t1"))
    assert "t1" not in e.index.teams and e.index.teams_of == {"user:a": {"team:t2"}}
    assert not e.check("user:a", "delete", "stack/s", workspace_id="w1")
    e.write(ops.DeleteSubject("user:a"))
    assert e.index.bindings == {} and e.index.shares == {} and e.index.teams_of == {}
    assert e.index.member_count == {} and e.index.member_children == {}


def test_asking_about_strangers_stores_nothing(e):
    e.bind("user:a", "organization_admin", organization_id="o1")
    before = {name: len(value) for name, value in vars(e.index).items()}
    for i in range(500):
        e.check(f"user:stranger{i}", "read", f"pipeline/x{i}", project_id="p1")
        e.list_allowed(f"team:nobody{i}", "read", "project", workspace_id="w1")
        e.check(f"user:stranger{i}", "read", "pipeline/x", project_id=f"unknown{i}")
    assert {name: len(value) for name, value in vars(e.index).items()} == before
