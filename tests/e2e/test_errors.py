"""Every status code the API promises, with a message naming the field and why."""

from __future__ import annotations

import grpc
import pytest

from authz._gen.authz.v1 import authorization_pb2 as authz_pb
from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz.client import Client, check_request
from authz.testing import example

pytestmark = pytest.mark.e2e
CODE = grpc.StatusCode


def status(call, *args, **kwargs) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value.code(), caught.value.details()


@pytest.fixture
def loaded(sqlite_server):
    with sqlite_server.client() as client:
        client.import_operations(example.operations())
        yield client


def test_invalid_arguments_name_the_field(loaded):
    c = loaded
    cases = [
        (lambda: c.check("ada", "read", "model/m", project="prod-llms"), "subject: 'ada' is not a subject"),
        (lambda: c.check("user:ada", "*", "model/m", project="prod-llms"), "action: '*' is not allowed"),
        (lambda: c.check("user:ada", "read", "*/m", project="prod-llms"), "resource.type: '*' is not allowed"),
        (lambda: c.check("user:ada", "read", "model/a b", project="prod-llms"), "resource.id:"),
        (lambda: c.check("user:ada", "read", "model/m"), "scope: give at least one of"),
        (lambda: c.check("user:ada", "read", "model/m", project="prod-llms", workspace="staging"),
         "scope.workspace_id: project 'prod-llms' belongs to workspace 'production', not 'staging'"),
        (lambda: c.check("user:ada", "read", "model/m", project="x\ny"), "scope.project_id:"),
        (lambda: c.list_allowed("user:ada", "read", "", project="prod-llms"), "resource_type: is required"),
        (lambda: c.create_organization(""), "id: is required"),
        (lambda: c.add_team_member("contractors", "team:data-science"), "subject: teams do not nest"),
        (lambda: c.create_role_binding("user:a", "root", project="prod-llms"), "role: unknown role 'root'"),
    ]
    for call, message in cases:
        code, details = status(call)
        assert code == CODE.INVALID_ARGUMENT and details.startswith(message), details


def test_batch_errors_name_the_item_and_limits_are_enforced(loaded):
    good = check_request("user:ada", "read", "model/m", project="prod-llms")
    bad = check_request("user:ada", "read", "model/m", project="prod-llms", workspace="staging")
    code, details = status(loaded.batch_check, [good, good, bad])
    assert code == CODE.INVALID_ARGUMENT and details.startswith("checks[2].scope.workspace_id: ")
    code, details = status(loaded.batch_check, [good] * 1001)
    assert code == CODE.INVALID_ARGUMENT and details == "checks: 1001 checks; at most 1000 per call"
    code, details = status(loaded._call, loaded.directory.ListRoleBindings,
                           dir_pb.ListRoleBindingsRequest(page_size=5000))
    assert code == CODE.INVALID_ARGUMENT and details.startswith("page_size:")
    code, details = status(loaded._call, loaded.directory.ListRoleBindings,
                           dir_pb.ListRoleBindingsRequest(page_token="not-a-token!"))
    assert code == CODE.INVALID_ARGUMENT and details.startswith("page_token:")
    big = dir_pb.ImportRequest(operations=[dir_pb.Operation(create_organization=dir_pb.CreateOrganizationRequest(
        id=f"org{i}", display_name="x" * 250)) for i in range(17_000)])
    code, details = status(loaded._call, loaded.directory.Import, big)
    assert code == CODE.INVALID_ARGUMENT and "bytes; at most 4194304" in details
    many = dir_pb.ImportRequest(operations=[dir_pb.Operation(create_organization=dir_pb.CreateOrganizationRequest(
        id=f"org{i}")) for i in range(10_001)])
    code, details = status(loaded._call, loaded.directory.Import, many)
    assert code == CODE.INVALID_ARGUMENT and details == "operations: 10001 operations; at most 10000 per call"


def test_import_is_atomic_and_names_the_failing_operation(loaded):
    before = loaded.check("user:zed", "read", "model/m", project="prod-llms").revision
    request = dir_pb.ImportRequest(operations=[
        dir_pb.Operation(create_project=dir_pb.CreateProjectRequest(id="new-project", workspace_id="production")),
        dir_pb.Operation(create_role_binding=dir_pb.CreateRoleBindingRequest(
            subject="user:zed", role="project_admin", scope={"project_id": "new-project"})),
        dir_pb.Operation(create_project=dir_pb.CreateProjectRequest(id="other", workspace_id="nope")),
    ])
    code, details = status(loaded._call, loaded.directory.Import, request)
    assert code == CODE.NOT_FOUND
    assert details == "operations[2].create_project.workspace_id: workspace 'nope' not found"
    after = loaded.check("user:zed", "read", "model/m", project="new-project")
    assert not after.allowed and after.revision == before
    code, details = status(loaded._call, loaded.directory.Import, dir_pb.ImportRequest(operations=[dir_pb.Operation()]))
    assert code == CODE.INVALID_ARGUMENT and details == "operations[0]: names no operation"


def test_not_found_already_exists_failed_precondition_permission_denied(loaded):
    c = loaded
    expectations = [
        (lambda: c.create_workspace("w", "nope"), CODE.NOT_FOUND, "organization_id: organization 'nope' not found"),
        (lambda: c._call(c.directory.DeleteProject, dir_pb.DeleteProjectRequest(id="nope")), CODE.NOT_FOUND,
         "id: project 'nope' not found"),
        (lambda: c.delete_role_binding("nope"), CODE.NOT_FOUND, "id: binding 'nope' not found"),
        (lambda: c._call(c.directory.RemoveTeamMember, dir_pb.RemoveTeamMemberRequest(
            team_id="contractors", subject="user:ada")), CODE.NOT_FOUND, "subject: user:ada is not a member"),
        (lambda: c.create_role_binding("team:nope", "project_viewer", project="prod-llms"), CODE.NOT_FOUND,
         "subject: team 'nope' not found"),
        (lambda: c.create_organization("acme"), CODE.ALREADY_EXISTS, "id: organization 'acme' already exists"),
        (lambda: c.create_role_binding("user:grace", "project_admin", project="prod-fraud-detection"),
         CODE.ALREADY_EXISTS, "role: user:grace already has 'project_admin'"),
        (lambda: c.create_role_binding("user:a", "workspace_admin", project="prod-llms"), CODE.FAILED_PRECONDITION,
         "role: 'workspace_admin' is a workspace role and cannot be bound on project 'prod-llms'"),
        (lambda: c.set_resource_membership("user:a", "stack/s", ["read"], project="prod-llms"),
         CODE.FAILED_PRECONDITION, "resource.type: 'stack' is a workspace-level type"),
        (lambda: c.set_resource_membership("user:a", "pipeline/p", ["read"], actor="user:eve",
                                           project="prod-recommendations"),
         CODE.PERMISSION_DENIED, "actor: user:eve may not share pipeline/p"),
    ]
    c.create_organization("other")
    c.create_team("outsiders", "other")
    expectations.append((lambda: c.create_role_binding("team:outsiders", "project_viewer", project="prod-llms"),
                         CODE.FAILED_PRECONDITION, "subject: team 'outsiders' belongs to organization 'other'"))
    for call, code, message in expectations:
        got, details = status(call)
        assert (got, details[: len(message)]) == (code, message), details


def test_revision_wait_times_out_with_failed_precondition(loaded):
    request = check_request("user:ada", "read", "model/m", project="prod-llms", at_least_revision=10**9)
    with pytest.raises(grpc.RpcError) as caught:
        loaded.authorization.Check(request, timeout=0.5)
    assert caught.value.code() == CODE.FAILED_PRECONDITION
    assert caught.value.details().startswith("at_least_revision: revision 1000000000 not reached")


def test_revision_wait_returns_once_a_write_lands(loaded):
    current = loaded.check("user:ada", "read", "model/m", project="prod-llms").revision
    future = loaded.authorization.Check.future(
        check_request("user:new", "read", "model/m", project="prod-llms", at_least_revision=current + 1), timeout=10)
    loaded.create_role_binding("user:new", "project_viewer", project="prod-llms")
    response = future.result()
    assert response.allowed and response.revision == current + 1


def test_writes_need_the_admin_token(sqlite_server):
    with sqlite_server.client(token=None) as anonymous, sqlite_server.client(token="wrong") as wrong:
        for client in (anonymous, wrong):
            code, details = status(client.create_organization, "o")
            assert code == CODE.UNAUTHENTICATED and "needs the admin token" in details
            code, _ = status(client._call, client.directory.ListRoleBindings, dir_pb.ListRoleBindingsRequest())
            assert code == CODE.UNAUTHENTICATED
        # Checks are open unless a check token is configured.
        assert not anonymous.check("user:a", "read", "model/m", project="p").allowed
        assert anonymous.list_roles().roles
    token_file = sqlite_server.workdir / "authz-admin.token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert f"created one in {token_file}" in sqlite_server.log()


def test_check_token_and_change_table_records_the_token_name(tmp_path):
    from authz.testing.server import Server

    (tmp_path / "check.token").write_text("check-secret\n")
    env = {"AUTHZ_ADMIN_TOKEN": "admin-secret"}
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", "--check-token-file", str(tmp_path / "check.token"),
                    env=env).start()
    try:
        with Client(server.address) as anonymous, Client(server.address, token="check-secret") as checker, \
                Client(server.address, token="admin-secret") as admin:
            code, _ = status(anonymous.check, "user:a", "read", "model/m", project="p")
            assert code == CODE.UNAUTHENTICATED
            assert not checker.check("user:a", "read", "model/m", project="p").allowed
            assert not admin.check("user:a", "read", "model/m", project="p").allowed
            code, details = status(checker.create_organization, "o")
            assert code == CODE.PERMISSION_DENIED and "needs scope 'admin'; token 'check' has scope 'check'" in details
            admin._call(admin.directory.CreateOrganization, dir_pb.CreateOrganizationRequest(id="o"))
            response = admin.authorization.Check(
                authz_pb.CheckRequest(subject="user:a", action="read", resource={"type": "x"},
                                      scope={"organization_id": "o"}),
                metadata=(("authorization", "Bearer admin-secret"),))
            assert response.revision == 1
        assert not (tmp_path / "authz-admin.token").exists()
    finally:
        server.stop()
    from authz.storage.sql import SqlStorage

    storage = SqlStorage(f"sqlite:///{tmp_path / 'a.db'}")
    (record,) = storage.read_changes(0, 10)
    storage.close()
    assert record.actor == "admin" and record.revision == 1 and len(record.request_id) == 32
