"""Write validation: each failure is the right error class, naming the field and why."""

from __future__ import annotations

import copy

import pytest
from harness import Engine, tree, where

from authz.domain import errors
from authz.domain import operations as ops
from authz.domain.model import Resource


@pytest.fixture
def e() -> Engine:
    return tree(Engine())


def fails(e: Engine, error: type, field: str, *operations, contains: str = "") -> errors.AuthzError:
    with pytest.raises(error) as caught:
        e.write(*operations)
    assert caught.value.field == field, caught.value.message
    assert contains in caught.value.message
    return caught.value


@pytest.mark.parametrize(
    "bad", ["", "a" * 129, "has space", "comma,", "colon:", "new\nline", "quote\"", "star*", "slash/", "ünï"]
)
def test_ids_outside_the_character_set_are_invalid(e, bad):
    fails(e, errors.InvalidArgument, "id", ops.CreateOrganization(bad))
    fails(e, errors.InvalidArgument, "subject", ops.AddTeamMember("t1", f"user:{bad}"))


def test_ids_are_case_sensitive_and_may_use_the_allowed_punctuation(e):
    e.write(ops.CreateOrganization("Org.1_x-y@z"), ops.CreateOrganization("org.1_x-y@z"))
    assert len([n for n in e.index.parent if n.kind == "organization"]) == 4


def test_hierarchy_errors(e):
    fails(e, errors.AlreadyExists, "id", ops.CreateOrganization("o1"))
    fails(e, errors.AlreadyExists, "id", ops.CreateProject("p1", "w2"))
    fails(e, errors.NotFound, "organization_id", ops.CreateWorkspace("w9", "nope"))
    fails(e, errors.NotFound, "workspace_id", ops.CreateProject("p9", "nope"))
    fails(e, errors.NotFound, "id", ops.DeleteProject("nope"))
    fails(e, errors.NotFound, "id", ops.DeleteTeam("nope"))
    fails(e, errors.NotFound, "organization_id", ops.CreateTeam("t9", "nope"))
    fails(e, errors.InvalidArgument, "display_name", ops.CreateOrganization("o9", "x" * 300))


def test_team_membership_errors(e):
    fails(e, errors.InvalidArgument, "subject", ops.AddTeamMember("t1", "team:t2"), contains="do not nest")
    fails(e, errors.NotFound, "team_id", ops.AddTeamMember("nope", "user:a"))
    e.write(ops.AddTeamMember("t1", "user:a"))
    fails(e, errors.AlreadyExists, "subject", ops.AddTeamMember("t1", "user:a"))
    fails(e, errors.NotFound, "subject", ops.RemoveTeamMember("t1", "user:b"))


def test_binding_errors(e):
    bind = lambda subject, role, **scope: ops.CreateRoleBinding(subject, role, where(**scope))  # noqa: E731
    fails(e, errors.InvalidArgument, "subject", bind("robot:x", "project_viewer", project_id="p1"))
    fails(e, errors.InvalidArgument, "role", bind("user:a", "no_such_role", project_id="p1"), contains="known")
    fails(e, errors.InvalidArgument, "role", bind("user:a", "member", project_id="p1"))
    fails(e, errors.NotFound, "scope", bind("user:a", "project_viewer", project_id="nope"))
    fails(e, errors.InvalidArgument, "scope", bind("user:a", "project_viewer"))
    fails(e, errors.InvalidArgument, "scope.workspace_id", bind("user:a", "project_viewer", project_id="p1",
                                                                 workspace_id="w2"), contains="belongs to")
    fails(e, errors.FailedPrecondition, "role", bind("user:a", "project_viewer", workspace_id="w1"),
          contains="project role")
    fails(e, errors.NotFound, "subject", bind("team:nope", "project_viewer", project_id="p1"))
    fails(e, errors.FailedPrecondition, "subject", bind("team:t3", "project_viewer", project_id="p1"),
          contains="belongs to organization 'o2'")
    e.bind("user:a", "project_viewer", project_id="p1")
    fails(e, errors.AlreadyExists, "role", bind("user:a", "project_viewer", project_id="p1"))
    fails(e, errors.NotFound, "id", ops.DeleteRoleBinding("nope"))


def test_share_errors_and_actor_rule(e):
    def share(subject="user:a", resource=None, actions=("read",), actor="", **scope):
        return ops.SetResourceMembership(subject, resource or Resource("pipeline", "x"), where(**(scope or {"project_id": "p1"})), actions, actor)

    fails(e, errors.InvalidArgument, "resource.id", share(resource=Resource("pipeline", "")))
    fails(e, errors.InvalidArgument, "resource.type", share(resource=Resource("*", "x")))
    fails(e, errors.InvalidArgument, "actions[1]", share(actions=("read", "*")))
    fails(e, errors.FailedPrecondition, "resource.type", share(workspace_id="w1"), contains="project-level")
    fails(e, errors.FailedPrecondition, "resource.type", share(resource=Resource("stack", "s")))
    fails(e, errors.FailedPrecondition, "subject", share(subject="team:t3"))
    fails(e, errors.NotFound, "scope", share(project_id="nope"))
    # Unknown types may be shared anywhere.
    e.write(share(resource=Resource("future_type", "f"), workspace_id="w1"))
    # Empty share that does not exist: fine, and nothing to write.
    assert e.planner.plan_all([share(actions=())], 99)[0] == []
    # The actor must hold `share` and every action granted.
    fails(e, errors.PermissionDenied, "actor", share(actor="user:owner"), contains="'share'")
    e.bind("user:owner", "project_developer", project_id="p1")
    fails(e, errors.PermissionDenied, "actor", share(actor="user:owner"), contains="'share'")
    e.share("user:owner", "pipeline/x", ("share",), project_id="p1")
    e.write(share(actor="user:owner"))
    fails(e, errors.PermissionDenied, "actor", share(actions=("delete",), actor="user:owner"), contains="'delete'")
    assert e.check("user:a", "read", "pipeline/x", project_id="p1")


def test_delete_resources_and_subject(e):
    e.share("user:a", "pipeline/x", ("read",), project_id="p1")
    e.share("user:b", "pipeline/x", ("read",), project_id="p1")
    e.share("user:b", "pipeline/y", ("read",), project_id="p1")
    refs = (ops.ResourceRef(Resource("pipeline", "x"), where(project_id="p1")),
            ops.ResourceRef(Resource("model", "never-shared"), where(project_id="p1")),
            ops.ResourceRef(Resource("model", "m"), where(project_id="gone")))
    e.write(ops.DeleteResources(refs))
    assert [k[2] for k in e.index.shares] == ["y"]
    fails(e, errors.InvalidArgument, "subject", ops.DeleteSubject("team:t1"))
    e.write(ops.DeleteSubject("user:never-seen"))


def test_a_failed_import_names_the_operation_and_changes_nothing(e):
    before = copy.deepcopy(vars(e.index))
    with pytest.raises(errors.NotFound) as caught:
        e.planner.plan_all(
            [ops.CreateOrganization("o9"), ops.CreateWorkspace("w9", "o9"), ops.CreateProject("p9", "nope")],
            2, field_prefix="operations",
        )
    assert caught.value.field == "operations[2].create_project.workspace_id"
    assert vars(e.index) == before


def test_later_operations_of_an_import_see_earlier_ones(e):
    recorded = e.write(
        ops.CreateOrganization("o9"), ops.CreateWorkspace("w9", "o9"), ops.CreateTeam("t9", "o9"),
        ops.AddTeamMember("t9", "user:z"),
        ops.CreateRoleBinding("team:t9", "workspace_viewer", where(workspace_id="w9")),
        ops.DeleteTeam("t9"),
    )
    assert recorded[4].id and e.index.bindings == {}
