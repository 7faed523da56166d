"""Every status code the API answers, in process, with the message a caller acts on; and what
follows a failed commit: the index stays as stored, or catches up with what landed, and then
matches storage."""

from __future__ import annotations

import re

import grpc
import pytest
from api_world import ADMIN, CHECKER, build, fails, scope

from authz._gen.authz.v1 import authorization_pb2 as authz
from authz._gen.authz.v1 import common_pb2 as common
from authz._gen.authz.v1 import directory_pb2 as directory
from authz._gen.authz.v1 import policy_pb2 as policy
from authz.domain.errors import Unavailable
from authz.domain.model import OrganizationRow, Put
from authz.domain.operations import CreateOrganization, WriteRecord
from authz.service.authorizer import load_index
from authz.testing.in_process import InProcessServer
from authz.testing.memory_storage import IntegrityViolation, MemoryStorage

Code = grpc.StatusCode


def check(subject: str = "user:ada", **fields) -> authz.CheckRequest:
    asked = {"action": "read", "resource": common.Resource(type="pipeline", id="etl"), "scope": scope("p1"), **fields}
    return authz.CheckRequest(subject=subject, **asked)


def test_invalid_argument_names_the_field(api: InProcessServer) -> None:
    build(api)
    stub = api.stub("authorization")
    assert fails(stub.Check, check("nobody"), Code.INVALID_ARGUMENT, CHECKER).startswith("subject: ")
    batch = authz.BatchCheckRequest(checks=[check(), check("user:b", action="no such action!")])
    assert fails(stub.BatchCheck, batch, Code.INVALID_ARGUMENT, CHECKER).startswith("checks[1].action: ")
    mismatch = check(scope=scope("p1", organization="o9"))
    assert fails(stub.Check, mismatch, Code.INVALID_ARGUMENT, CHECKER).startswith("scope.organization_id: ")
    listing = directory.ListRoleBindingsRequest(page_size=100_000)
    assert fails(api.stub("directory").ListRoleBindings, listing, Code.INVALID_ARGUMENT).startswith("page_size: ")
    token = directory.ListRoleBindingsRequest(page_token="not ours")
    assert fails(api.stub("directory").ListRoleBindings, token, Code.INVALID_ARGUMENT).startswith("page_token: ")
    imported = directory.ImportRequest(operations=[directory.Operation(
        create_organization=directory.CreateOrganizationRequest(id="bad id"))])
    assert fails(api.stub("directory").Import, imported, Code.INVALID_ARGUMENT).startswith(
        "operations[0].create_organization.id: ")


def test_undecodable_bytes_are_invalid_argument(api: InProcessServer) -> None:
    assert api.channel is not None
    raw = api.channel.unary_unary("/authz.v1.AuthorizationService/Check")
    with pytest.raises(grpc.RpcError) as raised:
        raw(b"\xff\xff\xff", metadata=CHECKER)
    assert raised.value.code() == Code.INVALID_ARGUMENT


def test_not_found_and_already_exists(api: InProcessServer, tmp_path) -> None:
    build(api)
    stub = api.stub("directory")
    assert "o9" in fails(stub.CreateWorkspace, directory.CreateWorkspaceRequest(id="w9", organization_id="o9"),
                         Code.NOT_FOUND)
    fails(stub.DeleteRoleBinding, directory.DeleteRoleBindingRequest(id="no-such-binding"), Code.NOT_FOUND)
    missing = policy.DiffPolicyRequest(candidate_directory=str(tmp_path / "nowhere"))
    assert fails(api.stub("policy").DiffPolicy, missing, Code.NOT_FOUND).startswith("candidate_directory: ")
    assert "o1" in fails(stub.CreateOrganization, directory.CreateOrganizationRequest(id="o1"), Code.ALREADY_EXISTS)


def test_failed_precondition(api: InProcessServer) -> None:
    build(api)
    assert fails(api.stub("policy").StopShadow, policy.StopShadowRequest(), Code.FAILED_PRECONDITION) == \
        "no shadow is running"
    stub = api.stub("directory")
    assert "organization role" in fails(stub.CreateRoleBinding, directory.CreateRoleBindingRequest(
        subject="user:x", role="organization_admin", scope=scope("p1")), Code.FAILED_PRECONDITION)
    # A revision the server will not reach before the call's deadline.
    later = fails(api.stub("authorization").Check, check(at_least_revision=1000), Code.FAILED_PRECONDITION,
                  CHECKER, timeout=1.0)
    assert later.startswith("at_least_revision: ") and "revision 1000 not reached" in later


def test_a_role_in_use_is_refused_unless_forced(api: InProcessServer) -> None:
    build(api)
    stub = api.stub("policy")
    permissions = [policy.Permission(resource_type="model", action="read")]
    stub.CreateRole(policy.CreateRoleRequest(name="auditor", level="project", permissions=permissions),
                    metadata=ADMIN)
    api.stub("directory").CreateRoleBinding(directory.CreateRoleBindingRequest(
        subject="user:al", role="auditor", scope=scope("p1")), metadata=ADMIN)
    fails(stub.DeleteRole, policy.DeleteRoleRequest(name="auditor"), Code.FAILED_PRECONDITION)
    assert stub.DeleteRole(policy.DeleteRoleRequest(name="auditor", force=True), metadata=ADMIN).removed_bindings == 1


def test_unauthenticated_and_permission_denied(api: InProcessServer) -> None:
    build(api)
    write = directory.CreateOrganizationRequest(id="o2")
    stub = api.stub("directory")
    fails(stub.CreateOrganization, write, Code.UNAUTHENTICATED, metadata=())
    fails(stub.CreateOrganization, write, Code.UNAUTHENTICATED, metadata=(("authorization", "Bearer wrong"),))
    fails(api.stub("authorization").Check, check(), Code.UNAUTHENTICATED, metadata=())
    denied = fails(stub.CreateOrganization, write, Code.PERMISSION_DENIED, metadata=CHECKER)
    assert "admin" in denied
    subjects = authz.ListSubjectsRequest(action="read", resource=common.Resource(type="pipeline"), scope=scope("p1"))
    assert "admin" in fails(api.stub("authorization").ListSubjects, subjects, Code.PERMISSION_DENIED, CHECKER)


def test_a_listing_a_write_moved_on_is_aborted(api: InProcessServer) -> None:
    build(api)
    stub = api.stub("authorization")
    request = authz.ListSubjectsRequest(action="read", resource=common.Resource(type="pipeline", id="etl"),
                                        scope=scope("p1"), page_size=1)
    api.stub("directory").CreateRoleBinding(directory.CreateRoleBindingRequest(
        subject="user:zed", role="project_viewer", scope=scope("p1")), metadata=ADMIN)
    first = stub.ListSubjects(request, metadata=ADMIN)
    assert first.next_page_token
    api.stub("directory").CreateOrganization(directory.CreateOrganizationRequest(id="o2"), metadata=ADMIN)
    request.page_token = first.next_page_token
    assert fails(stub.ListSubjects, request, Code.ABORTED).startswith("page_token: ")


def test_unavailable_while_the_index_loads(make_server) -> None:
    server: InProcessServer = make_server(ready=False)
    assert "loading" in fails(server.stub("authorization").Check, check(), Code.UNAVAILABLE, CHECKER)
    assert "loading" in fails(server.stub("directory").CreateOrganization,
                              directory.CreateOrganizationRequest(id="o1"), Code.UNAVAILABLE)
    server.make_ready()
    assert not server.stub("authorization").Check(check(), metadata=CHECKER).allowed


class FlakyStorage(MemoryStorage):
    """A MemoryStorage whose next commits fail as planned: ("before", error) fails and writes
    nothing, ("after", error) writes and then fails (a connection lost before the answer)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[tuple[str, BaseException]] = []

    def _write(self, revision, changes, record) -> None:
        if not self.failures:
            return super()._write(revision, changes, record)
        when, error = self.failures.pop(0)
        if when == "after":
            super()._write(revision, changes, record)
        raise error


def assert_index_matches_storage(server: InProcessServer) -> None:
    def compare() -> None:
        authorizer = server.authorizer
        assert authorizer is not None
        stored, revision = load_index(server.storage)
        assert authorizer.revision == revision == server.storage.revision()
        index = authorizer.index
        assert (index.nodes, index.teams, index.members, index.bindings, index.shares, index.custom_roles) == (
            stored.nodes, stored.teams, stored.members, stored.bindings, stored.shares, stored.custom_roles)

    server.run(compare)


GRANT = directory.CreateRoleBindingRequest(subject="user:eve", role="project_viewer", scope=scope("p1"))
LOST = "database unreachable; the write is not acknowledged, retry"


def test_a_commit_that_fails_before_it_lands_leaves_the_index_as_stored(make_server) -> None:
    storage = FlakyStorage()
    server: InProcessServer = make_server(storage)
    build(server)
    storage.failures.append(("before", Unavailable(LOST)))
    assert "retry" in fails(server.stub("directory").CreateRoleBinding, GRANT, Code.UNAVAILABLE)
    assert_index_matches_storage(server)
    assert not server.stub("authorization").Check(check("user:eve"), metadata=CHECKER).allowed
    assert server.stub("directory").CreateRoleBinding(GRANT, metadata=ADMIN).revision == 2


def test_a_commit_that_lands_and_then_fails_is_caught_up_from_the_change_records(make_server) -> None:
    storage = FlakyStorage()
    server: InProcessServer = make_server(storage)
    build(server)
    storage.failures.append(("after", Unavailable(LOST)))
    fails(server.stub("directory").CreateRoleBinding, GRANT, Code.UNAVAILABLE)
    # The index stays as it was, until it catches up (the next write, a follower's round).
    assert server.stub("authorization").Check(check("user:eve"), metadata=CHECKER).revision == 1
    assert server.call(server.authorizer.catch_up()) == 2  # type: ignore[union-attr]
    assert_index_matches_storage(server)
    answer = server.stub("authorization").Check(check("user:eve"), metadata=CHECKER)
    assert answer.allowed and answer.revision == 2  # it landed: the index caught up has it
    # Written again, it already exists: the write planned after catching up says so.
    assert "already has" in fails(server.stub("directory").CreateRoleBinding, GRANT, Code.ALREADY_EXISTS)


def test_another_writers_commit_is_caught_up_before_the_next_write(make_server) -> None:
    server: InProcessServer = make_server()
    build(server)
    assert isinstance(server.storage, MemoryStorage)
    behind = server.storage.reopen()  # another replica on the same database
    behind.commit(2, [Put(OrganizationRow("o7"))], WriteRecord(2, (CreateOrganization("o7"),), "other", "r"))
    assert server.stub("directory").CreateOrganization(directory.CreateOrganizationRequest(id="o8"),
                                                       metadata=ADMIN).revision == 3
    assert_index_matches_storage(server)
    assert "o7" in fails(server.stub("directory").CreateOrganization, directory.CreateOrganizationRequest(id="o7"),
                         Code.ALREADY_EXISTS)


def test_a_writer_that_holds_the_lock_too_long_makes_writes_unavailable(make_server) -> None:
    server: InProcessServer = make_server(write_timeout=0.2)
    build(server)
    assert isinstance(server.storage, MemoryStorage)
    session = server.storage.reopen().begin_write(1.0)  # another replica, in the middle of a write
    try:
        details = fails(server.stub("directory").CreateOrganization, directory.CreateOrganizationRequest(id="o2"),
                        Code.UNAVAILABLE)
    finally:
        session.close()
    assert "write lock" in details
    assert_index_matches_storage(server)


def test_an_unexpected_error_is_internal_with_a_generic_message(make_server) -> None:
    storage = FlakyStorage()
    server: InProcessServer = make_server(storage)
    build(server)
    storage.failures.append(("before", IntegrityViolation("a secret detail of the database")))
    details = fails(server.stub("directory").CreateOrganization, directory.CreateOrganizationRequest(id="o2"),
                    Code.INTERNAL)
    assert re.fullmatch(r"internal error \(request id \S+\); the server log has the cause", details)
    assert_index_matches_storage(server)


def test_a_write_waits_for_another_writer_no_longer_than_its_deadline(make_server) -> None:
    server: InProcessServer = make_server(write_timeout=60.0)
    build(server)
    assert isinstance(server.storage, MemoryStorage)
    session = server.storage.reopen().begin_write(1.0)  # another replica, in the middle of a write
    try:
        # Without the deadline it would wait a minute; the call's deadline bounds it, and the
        # answer says why rather than a bare DEADLINE_EXCEEDED.
        details = fails(server.stub("directory").CreateOrganization, directory.CreateOrganizationRequest(id="o2"),
                        Code.UNAVAILABLE, timeout=2.0)
    finally:
        session.close()
    assert "write lock" in details
    assert server.stub("directory").CreateOrganization(directory.CreateOrganizationRequest(id="o2"),
                                                       metadata=ADMIN, timeout=10).revision == 2
