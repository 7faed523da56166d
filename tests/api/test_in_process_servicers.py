"""Every servicer method, in process, with what it converts: requests to domain objects and
back, through the real interceptors (tokens, request ids, the error table)."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest
from api_world import ADMIN, CHECKER, build, fails, scope

from authz._gen.authz.v1 import authorization_pb2 as authz
from authz._gen.authz.v1 import changes_pb2 as changes
from authz._gen.authz.v1 import common_pb2 as common
from authz._gen.authz.v1 import diagnostics_pb2 as diagnostics
from authz._gen.authz.v1 import directory_pb2 as directory
from authz._gen.authz.v1 import policy_pb2 as policy
from authz.testing.in_process import InProcessServer

SERVICES = (authz, directory, policy, diagnostics, changes)


def check(subject: str, action: str, rtype: str, rid: str = "", explain: bool = False, **where: str):
    return authz.CheckRequest(subject=subject, action=action, resource=common.Resource(type=rtype, id=rid),
                              scope=scope(**where), explain=explain)


def test_every_method_of_every_service_is_called_here() -> None:
    text = "\n".join(path.read_text() for path in Path(__file__).parent.glob("*.py"))
    methods = [method.name for module in SERVICES for service in module.DESCRIPTOR.services_by_name.values()
               for method in service.methods]
    assert len(methods) > 30
    assert [name for name in methods if not re.search(rf"\.{name}\b", text)] == []


def test_a_replica_describes_its_revision_and_index(make_server) -> None:
    first = make_server()
    build(first)
    second = make_server(first.storage.reopen())  # another replica on the same (memory) database
    described = [server.stub("diagnostics").DescribeReplica(diagnostics.DescribeReplicaRequest(), metadata=ADMIN)
                 for server in (first, second)]
    assert [d.revision for d in described] == [1, 1] and described[0].pid
    assert described[0].index_digest == described[1].index_digest


def test_the_change_feed_lists_and_streams_what_was_written(api: InProcessServer) -> None:
    build(api)
    api.stub("directory").CreateOrganization(directory.CreateOrganizationRequest(id="o2"), metadata=ADMIN)
    stub = api.stub("changes")
    listed = stub.ListChanges(changes.ListChangesRequest(), metadata=ADMIN)
    assert [(c.revision, c.token_name) for c in listed.changes] == [(1, "admin"), (2, "admin")]
    assert listed.changes[1].operations[0].create_organization.id == "o2"
    stream = stub.WatchChanges(changes.WatchChangesRequest(after_revision=1), metadata=ADMIN)
    try:
        assert next(stream).revision == 2
    finally:
        stream.cancel()
    details = fails(stub.ListChanges, changes.ListChangesRequest(), grpc.StatusCode.PERMISSION_DENIED, CHECKER)
    assert "audit" in details


def test_import_answers_the_revision_and_the_binding_ids(api: InProcessServer) -> None:
    response = build(api)
    assert response.revision == 1
    ids = list(response.binding_ids)
    assert [bool(i) for i in ids] == [False] * 6 + [True, True, False]
    assert api.authorizer is not None and api.authorizer.revision == 1


def test_the_unary_writes_each_advance_the_revision(api: InProcessServer) -> None:
    stub = api.stub("directory")
    calls = [
        (stub.CreateOrganization, directory.CreateOrganizationRequest(id="o2")),
        (stub.CreateWorkspace, directory.CreateWorkspaceRequest(id="w2", organization_id="o2")),
        (stub.CreateProject, directory.CreateProjectRequest(id="p3", workspace_id="w2")),
        (stub.CreateTeam, directory.CreateTeamRequest(id="t2", organization_id="o2")),
        (stub.AddTeamMember, directory.AddTeamMemberRequest(team_id="t2", subject="user:zoe")),
        (stub.RemoveTeamMember, directory.RemoveTeamMemberRequest(team_id="t2", subject="user:zoe")),
        (stub.SetResourceMembership, directory.SetResourceMembershipRequest(
            subject="user:zoe", resource=common.Resource(type="pipeline", id="x"), scope=scope("p3"),
            actions=["read", "update"])),
        (stub.DeleteResources, directory.DeleteResourcesRequest(resources=[directory.ResourceRef(
            resource=common.Resource(type="pipeline", id="x"), scope=scope("p3"))])),
        (stub.SetResourceMembership, directory.SetResourceMembershipRequest(
            subject="user:zoe", resource=common.Resource(type="pipeline", id="y"), scope=scope("p3"),
            actions=["read"])),
        (stub.DeleteSubject, directory.DeleteSubjectRequest(subject="user:zoe")),
        (stub.DeleteTeam, directory.DeleteTeamRequest(id="t2")),
        (stub.DeleteProject, directory.DeleteProjectRequest(id="p3")),
        (stub.DeleteWorkspace, directory.DeleteWorkspaceRequest(id="w2")),
        (stub.DeleteOrganization, directory.DeleteOrganizationRequest(id="o2")),
    ]
    revisions = [call(request, metadata=ADMIN).revision for call, request in calls]
    assert revisions == list(range(1, len(calls) + 1))
    assert api.run(lambda: api.authorizer.index.counts()) == api.run(lambda: _empty_counts(api))


def _empty_counts(api: InProcessServer) -> dict[str, int]:
    from authz.engine.index import Index

    return Index().counts()


def test_a_binding_answers_with_its_full_scope_and_goes_away(api: InProcessServer) -> None:
    build(api)
    stub = api.stub("directory")
    created = stub.CreateRoleBinding(directory.CreateRoleBindingRequest(
        subject="user:cy", role="project_admin", scope=scope("p2")), metadata=ADMIN)
    binding = created.binding
    assert created.revision == 2 and binding.id and binding.created_revision == 2
    assert (binding.subject, binding.role) == ("user:cy", "project_admin")
    assert binding.scope == scope("p2", "w1", "o1")
    again = fails(stub.CreateRoleBinding, directory.CreateRoleBindingRequest(
        subject="user:cy", role="project_admin", scope=scope("p2")), grpc.StatusCode.ALREADY_EXISTS)
    assert again.startswith("role: ") and binding.id in again
    assert stub.DeleteRoleBinding(directory.DeleteRoleBindingRequest(id=binding.id), metadata=ADMIN).revision == 3


def test_checks_explanations_and_batches(api: InProcessServer) -> None:
    build(api)
    stub = api.stub("authorization")
    asked = [check("user:ada", "read", "pipeline", "etl", project="p1"),
             check("user:ada", "update", "pipeline", "etl", project="p1"),
             check("user:tim", "read", "pipeline", "etl", project="p2"),  # the team's workspace binding
             check("user:bob", "read", "pipeline", "etl", project="p2"),  # the share
             check("user:bob", "read", "pipeline", "other", project="p2"),
             check("user:ada", "read", "pipeline", "etl", project="unknown")]
    answers = [stub.Check(request, metadata=CHECKER) for request in asked]
    assert [a.allowed for a in answers] == [True, False, True, True, False, False]
    assert {a.revision for a in answers} == {1}
    batch = stub.BatchCheck(authz.BatchCheckRequest(checks=asked), metadata=CHECKER)
    assert list(batch.results) == answers and batch.revision == 1

    explained = stub.Check(check("user:tim", "read", "pipeline", "etl", explain=True, project="p2"),
                           metadata=CHECKER)
    why = explained.explanation
    assert explained.allowed and why.rule == authz.Explanation.RULE_ROLE_BINDING
    assert why.via_team == "team:t1" and why.binding.role == "workspace_viewer"
    assert why.binding.scope == scope(workspace="w1", organization="o1") and why.text
    shared = stub.Check(check("user:bob", "read", "pipeline", "etl", explain=True, project="p2"), metadata=CHECKER)
    assert shared.explanation.rule == authz.Explanation.RULE_RESOURCE_SHARE
    assert shared.explanation.share.resource == common.Resource(type="pipeline", id="etl")
    mixed = stub.BatchCheck(authz.BatchCheckRequest(checks=[asked[0], check(
        "user:tim", "read", "pipeline", "etl", explain=True, project="p2")]), metadata=CHECKER)
    assert [r.allowed for r in mixed.results] == [True, True] and mixed.results[1].explanation == why

    listed = stub.ListAllowedResources(authz.ListAllowedResourcesRequest(
        subject="user:bob", action="read", resource_type="pipeline", scope=scope("p2")), metadata=CHECKER)
    assert (listed.full_access, list(listed.ids), listed.revision) == (False, ["etl"], 1)
    everything = stub.ListAllowedResources(authz.ListAllowedResourcesRequest(
        subject="user:ada", action="read", resource_type="pipeline", scope=scope("p1")), metadata=CHECKER)
    assert everything.full_access


def test_echo_carries_the_checks_undecided(api: InProcessServer) -> None:
    echoed = api.stub("diagnostics").Echo(diagnostics.EchoRequest(checks=[
        check("user:ada", "read", "pipeline", project="p1")] * 3), metadata=CHECKER)
    assert len(echoed.results) == 3 and not any(r.allowed for r in echoed.results)


def test_listings_of_bindings_shares_access_and_subjects(api: InProcessServer) -> None:
    build(api)
    stub = api.stub("directory")
    everything = stub.ListRoleBindings(directory.ListRoleBindingsRequest(), metadata=ADMIN)  # from storage
    assert sorted(b.subject for b in everything.bindings) == ["team:t1", "user:ada"] and everything.revision == 1
    first = stub.ListRoleBindings(directory.ListRoleBindingsRequest(page_size=1), metadata=ADMIN)
    rest = stub.ListRoleBindings(directory.ListRoleBindingsRequest(page_size=1, page_token=first.next_page_token),
                                 metadata=ADMIN)
    assert [*first.bindings, *rest.bindings] == list(everything.bindings) and not rest.next_page_token
    on_p1 = stub.ListRoleBindings(directory.ListRoleBindingsRequest(scope=scope("p1")), metadata=ADMIN)
    assert [(b.subject, b.scope) for b in on_p1.bindings] == [("user:ada", scope("p1", "w1", "o1"))]
    of_team = stub.ListRoleBindings(directory.ListRoleBindingsRequest(subject="team:t1"), metadata=ADMIN)
    assert [b.role for b in of_team.bindings] == ["workspace_viewer"]
    nowhere = stub.ListRoleBindings(directory.ListRoleBindingsRequest(scope=scope("p9")), metadata=ADMIN)
    assert list(nowhere.bindings) == [] and nowhere.revision == 1

    shares = stub.ListResourceShares(directory.ListResourceSharesRequest(
        resource=common.Resource(type="pipeline")), metadata=ADMIN)
    assert [(s.subject, list(s.actions), s.scope) for s in shares.shares] == [
        ("user:bob", ["read"], scope("p2", "w1", "o1"))]
    assert list(stub.ListResourceShares(directory.ListResourceSharesRequest(scope=scope("p9")),
                                        metadata=ADMIN).shares) == []

    access = stub.ListSubjectAccess(directory.ListSubjectAccessRequest(subject="user:tim"), metadata=ADMIN)
    assert access.entries and {e.subject for e in access.entries} == {"user:tim"}
    assert access.entries[0].grant.binding.role == "workspace_viewer"
    whole = stub.ListSubjectAccess(directory.ListSubjectAccessRequest(organization_id="o1"), metadata=ADMIN)
    assert {e.subject for e in whole.entries} >= {"user:ada", "user:bob", "team:t1"}

    subjects = api.stub("authorization").ListSubjects(authz.ListSubjectsRequest(
        action="read", resource=common.Resource(type="pipeline", id="etl"), scope=scope("p2"), page_size=1),
        metadata=ADMIN)
    assert len(subjects.subjects) == 1 and subjects.next_page_token and subjects.revision == 1


def test_roles_custom_roles_and_the_policy(api: InProcessServer, policies: Path) -> None:
    build(api)
    stub = api.stub("policy")
    roles = {r.name: r for r in stub.ListRoles(policy.ListRolesRequest()).roles}  # open: no token
    assert roles["project_viewer"].binding_count == 1 and roles["project_admin"].binding_count == 0
    assert not roles["project_viewer"].custom and roles["project_viewer"].source.file
    described = stub.GetPolicy(policy.GetPolicyRequest())
    assert described.role_count == len(roles) and described.custom_role_count == 0 and described.hash

    permissions = [policy.Permission(resource_type="model", action="read")]
    created = stub.CreateRole(policy.CreateRoleRequest(name="auditor", level="project", permissions=permissions),
                              metadata=ADMIN)
    assert created.revision == 2
    bound = api.stub("directory").CreateRoleBinding(directory.CreateRoleBindingRequest(
        subject="user:al", role="auditor", scope=scope("p1")), metadata=ADMIN)
    assert bound.binding.role == "auditor"
    updated = stub.UpdateRole(policy.UpdateRoleRequest(name="auditor", level="project", base_role="project_viewer",
                                                       permissions=permissions), metadata=ADMIN)
    assert (updated.revision, updated.removed_bindings) == (4, 0)
    assert stub.GetPolicy(policy.GetPolicyRequest()).custom_role_count == 1
    deleted = stub.DeleteRole(policy.DeleteRoleRequest(name="auditor", force=True), metadata=ADMIN)
    assert (deleted.revision, deleted.removed_bindings) == (5, 1)

    reloaded = stub.Reload(policy.ReloadRequest(), metadata=ADMIN)
    assert not reloaded.changed and reloaded.hash == described.hash and reloaded.revision == 5


def test_what_if_by_operations_and_by_candidate(api: InProcessServer, policies: Path, tmp_path: Path) -> None:
    build(api)
    stub = api.stub("policy")
    granted = stub.DiffPolicy(policy.DiffPolicyRequest(operations=[directory.Operation(
        create_role_binding=directory.CreateRoleBindingRequest(subject="user:new", role="project_admin",
                                                               scope=scope("p1")))]), metadata=ADMIN)
    assert granted.gained_count > 0 and granted.lost_count == 0 and granted.revision == 1
    assert {(f.subject, f.scope.project_id) for f in granted.gained} == {("user:new", "p1")}
    assert granted.gained[0].scope == scope("p1", "w1", "o1")

    candidate = _without_role(policies, tmp_path / "candidate", "workspace_viewer")
    dropped = stub.DiffPolicy(policy.DiffPolicyRequest(candidate_directory=str(candidate)), metadata=ADMIN)
    assert [(r.role, r.binding_count, r.change) for r in dropped.roles_in_use] == [("workspace_viewer", 1, "dropped")]
    assert dropped.lost_count > 0 and dropped.hash != api.stub("policy").GetPolicy(policy.GetPolicyRequest()).hash


def test_a_shadow_starts_reports_and_stops(api: InProcessServer, policies: Path, tmp_path: Path) -> None:
    build(api)
    stub = api.stub("policy")
    candidate = _without_role(policies, tmp_path / "candidate", "workspace_viewer")
    started = stub.StartShadow(policy.StartShadowRequest(candidate_directory=str(candidate)), metadata=ADMIN)
    assert [(r.role, r.binding_count, r.change) for r in started.dropped_roles] == [("workspace_viewer", 1, "dropped")]
    assert started.sample_rate == 1.0 and started.warnings
    answer = api.stub("authorization").Check(check("user:tim", "read", "pipeline", "etl", project="p2"),
                                             metadata=CHECKER)
    assert answer.allowed
    report = stub.GetShadowReport(policy.GetShadowReportRequest(), metadata=ADMIN)
    assert report.running and report.sampled == 1 and report.evaluated == 1
    (example,) = report.examples
    assert (example.subject, example.active_allowed, example.candidate_allowed) == ("user:tim", True, False)
    assert example.scope == scope("p2", "w1", "o1")
    stopped = stub.StopShadow(policy.StopShadowRequest(), metadata=ADMIN)
    assert not stopped.running and stopped.end_reason == "stopped"


def _without_role(policies: Path, directory: Path, role: str) -> Path:
    """A copy of the policy directory without `role` (and without test suites that use it)."""
    import shutil

    shutil.copytree(policies, directory)
    roles = directory / "roles.csv"
    roles.write_text("".join(line for line in roles.read_text().splitlines(keepends=True)
                             if f", {role}," not in line))
    for suite in (directory / "tests").glob("*.yaml"):
        if role in suite.read_text():
            suite.unlink()
    return directory


@pytest.mark.parametrize("token", [ADMIN, CHECKER])
def test_checks_take_the_check_token_or_the_admin_one(api: InProcessServer, token) -> None:
    build(api)
    assert api.stub("authorization").Check(check("user:ada", "read", "pipeline", project="p1"),
                                           metadata=token).allowed
