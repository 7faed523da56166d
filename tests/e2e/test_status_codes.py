"""The status codes a hostile or unlucky caller gets: races, OS errors, huge inputs, bytes that
are no message, and what the metrics say about it all. One server for the module."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz._gen.authz.v1 import policy_pb2 as pb
from authz.testing.server import Server

pytestmark = pytest.mark.e2e
CODE = grpc.StatusCode
POLICIES = Path(__file__).resolve().parents[2] / "policies"
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")


def scrape(server: Server) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {m.group(1): float(m.group(2)) for m in map(SAMPLE.match, text.splitlines()) if m}


def status(call, request) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    return caught.value.code(), caught.value.details()


def fails(client, method, request) -> tuple[grpc.StatusCode, str]:
    return status(lambda r: client._call(method, r), request)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("status-codes")
    policies = workdir / "policies"
    shutil.copytree(POLICIES, policies)
    instance = Server(workdir, f"sqlite:///{workdir / 'authz.db'}", "--policies", str(policies),
                      "--policy-poll-seconds", "0").start()
    with instance.client() as client:
        client.create_organization("acme")
        client.create_workspace("staging", "acme")
        for n in range(3):
            client.create_project(f"p{n}", "staging")
    yield instance
    instance.stop()


@pytest.fixture
def client(server):
    with server.client() as c:
        yield c


def call(client, method, request):
    return client._call(method, request)


def test_role_writes_racing_binding_writes_report_what_they_did(client):
    """UpdateRole counted bindings before it took the write lock: a CreateRoleBinding in between
    made `removed` negative, and the committed write answered INTERNAL."""
    permissions = [pb.Permission(resource_type="model", action="promote")]
    call(client, client.policy.CreateRole, pb.CreateRoleRequest(name="racer", level="project",
                                                                permissions=permissions))
    updates, creates = [], []

    def update(n: int) -> None:
        request = pb.UpdateRoleRequest(name="racer", level="project", permissions=permissions)
        updates.append(call(client, client.policy.UpdateRole, request))

    def create(n: int) -> None:
        creates.append(client.create_role_binding(f"user:r{n}", "racer", project="p0"))

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(update if n % 2 else create, n) for n in range(120)]
        for future in futures:
            future.result()  # raises the RpcError of any call that failed
    assert len(updates) == len(creates) == 60
    assert all(u.removed_bindings == 0 for u in updates)

    # A forced delete racing more binding writes removes exactly the bindings of its revision.
    done: list = []
    barrier = threading.Barrier(2)

    def more() -> None:
        barrier.wait()
        for n in range(60, 90):
            try:
                done.append(client.create_role_binding(f"user:r{n}", "racer", project="p1").revision)
            except grpc.RpcError as error:
                assert error.code() == CODE.INVALID_ARGUMENT  # the role is gone
                break

    thread = threading.Thread(target=more)
    thread.start()
    barrier.wait()
    deleted = call(client, client.policy.DeleteRole, pb.DeleteRoleRequest(name="racer", force=True))
    thread.join()
    before = 60 + sum(1 for revision in done if revision < deleted.revision)
    assert deleted.removed_bindings == before


def test_caller_sent_paths_never_leak_os_errors(client, tmp_path):
    (tmp_path / "model.conf").mkdir()  # a directory where a file is expected
    for path, code, start in [
        ("a" * 256, CODE.INVALID_ARGUMENT, "candidate_directory: 'aaaa"),
        ("/nonexistent/policies", CODE.NOT_FOUND, "candidate_directory: '/nonexistent/policies' is not a"),
        ("x\x00y", CODE.NOT_FOUND, "candidate_directory: 'x\\x00y' is not a directory"),
        ("/" + "b" * 1_000_000, CODE.INVALID_ARGUMENT, "candidate_directory: '/bbbb"),
        (str(tmp_path), CODE.FAILED_PRECONDITION, "candidate_directory: the candidate policy is invalid"),
    ]:
        got, details = fails(client, client.policy.DiffPolicy, pb.DiffPolicyRequest(candidate_directory=path))
        assert got == code and details.startswith(start), details
        assert len(details) < 2100


def test_messages_stay_small_whatever_the_input(client):
    code, details = fails(client, client.policy.CreateRole, pb.CreateRoleRequest(
        name="big", level="project", base_role="x" * 20_000))
    assert code == CODE.INVALID_ARGUMENT and details.startswith("base_role: 'xxxx") and len(details) < 300
    for n in range(40):
        call(client, client.policy.CreateRole, pb.CreateRoleRequest(
            name=f"custom_role_number_{n}", level="project", base_role="project_viewer"))
    code, details = fails(client, client.policy.CreateRole, pb.CreateRoleRequest(
        name="big", level="project", base_role="projct_viewer"))
    assert (code, details) == (CODE.NOT_FOUND,
                               "base_role: unknown role 'projct_viewer' (did you mean 'project_viewer'?)")
    code, details = fails(client, client.directory.CreateRoleBinding, dir_pb.CreateRoleBindingRequest(
        subject="user:a", role="project_veiwer", scope={"project_id": "p0"}))
    assert (code, details) == (CODE.INVALID_ARGUMENT,
                               "role: unknown role 'project_veiwer' (did you mean 'project_viewer'?)")
    code, details = fails(client, client.directory.CreateRoleBinding, dir_pb.CreateRoleBindingRequest(
        subject="user:a", role="zzz", scope={"project_id": "p0"}))
    assert code == CODE.INVALID_ARGUMENT and details.startswith("role: unknown role 'zzz'; ListRoles lists the")
    code, details = fails(client, client.policy.DeleteRole, pb.DeleteRoleRequest(name="custom_role_numbr_1"))
    assert code == CODE.NOT_FOUND and "did you mean 'custom_role_number_1'" in details


def test_undecodable_requests_are_invalid_argument_counted_and_never_traced(server, client):
    before = scrape(server)
    methods = ["/authz.v1.AuthorizationService/Check", "/authz.v1.DirectoryService/Import",
               "/authz.v1.PolicyService/GetPolicy", "/authz.v1.DiagnosticsService/Echo",
               "/grpc.health.v1.Health/Check"]
    for method in methods:
        raw = client.channel.unary_unary(method)  # bytes in, bytes out
        code, details = status(lambda body, raw=raw: raw(body, timeout=10, metadata=client.metadata), b"\xff\xff\xff")
        assert code == CODE.INVALID_ARGUMENT and details.startswith(f"the request is not a valid {method}"), details
    streams = [client.channel.unary_stream("/grpc.health.v1.Health/Watch"),
               client.channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")]
    for stream, body in zip(streams, [b"\xff\xff\xff", iter([b"\xff\xff\xff"])], strict=True):
        with pytest.raises(grpc.RpcError) as caught:
            list(stream(body, timeout=10))
        assert caught.value.code() == CODE.INVALID_ARGUMENT, caught.value.details()
    after = scrape(server)
    key = 'authz_grpc_requests_total{code="INVALID_ARGUMENT",method="Check",service="authz.v1.AuthorizationService"}'
    assert after[key] - before.get(key, 0) == 1
    assert "Traceback" not in server.log() and "DecodeError" not in server.log()


def test_a_page_is_as_new_as_its_rows(client):
    """An unfiltered ListRoleBindings reads the database: its revision must not be older than
    the rows it read, while writes go on."""
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            client.create_role_binding(f"user:page{n}", "project_viewer", project="p2")
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(80):
            page = call(client, client.directory.ListRoleBindings, dir_pb.ListRoleBindingsRequest(page_size=1000))
            newest = max((b.created_revision for b in page.bindings), default=0)
            assert newest <= page.revision
    finally:
        stop.set()
        writer.join()


def test_forced_reload_of_unchanged_files_changes_nothing(server, client):
    before = scrape(server)['authz_policy_reloads_total{result="unchanged"}']
    outcome = call(client, client.policy.Reload, pb.ReloadRequest(force=True))
    assert not outcome.changed and outcome.removed_bindings == 0
    assert outcome.message == "the policy files are unchanged"
    assert scrape(server)['authz_policy_reloads_total{result="unchanged"}'] == before + 1


def test_writes_are_counted_where_they_commit(server, client):
    key = 'authz_write_operations_total{operation="%s"}'
    before = scrape(server)
    call(client, client.policy.CreateRole, pb.CreateRoleRequest(name="counted", level="project",
                                                                base_role="project_viewer"))
    for n in range(3):
        client.create_role_binding(f"user:c{n}", "counted", project="p0")
    call(client, client.policy.DeleteRole, pb.DeleteRoleRequest(name="counted", force=True))
    after = scrape(server)

    def delta(operation: str) -> float:
        return after[key % operation] - before[key % operation]

    assert (delta("create_custom_role"), delta("create_role_binding"), delta("delete_custom_role"),
            delta("delete_role_binding")) == (1, 3, 1, 3)


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool not found (Debian's `prometheus` package ships it; .ci/run installs it)"
        if os.environ.get("AUTHZ_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(f"{reason} and AUTHZ_REQUIRE_PROMETHEUS=1", pytrace=False)
        pytest.skip(reason)
    return found


def test_the_exposition_passes_promtool_and_every_label_value_is_there(server, client):
    promtool = _promtool()
    client.check("user:a", "read", "model/m", project="p0")
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=10) as response:
        text = response.read().decode()
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "_created" not in text
    names = set(scrape(server))
    for result in ("accepted", "rejected", "unchanged"):
        assert f'authz_policy_reloads_total{{result="{result}"}}' in names
    for method in ("Check", "BatchCheck"):
        for decision in ("allowed", "denied"):
            assert f'authz_checks_total{{decision="{decision}",method="{method}"}}' in names
    assert 'authz_write_operations_total{operation="delete_subject"}' in names
    assert any(name.startswith("authz_policy_info{") and 'hash="' in name for name in names)
