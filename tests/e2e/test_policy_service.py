"""The policy lifecycle through the real server: reload, custom roles, diff, explain."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from worlds import load_recs

from authz._gen.authz.v1 import policy_pb2 as pb
from authz.client import check_request
from authz.testing.server import Server

pytestmark = pytest.mark.e2e
POLICIES = Path(__file__).resolve().parents[2] / "policies"
CODE = grpc.StatusCode


@pytest.fixture
def policy_dir(tmp_path) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(POLICIES, directory)
    (directory / "flip.csv").write_text("p, flipper, project, pipeline, *, read\n")
    return directory


def start(tmp_path: Path, policy_dir: Path, poll: str = "0", database_url: str | None = None) -> Server:
    url = database_url or f"sqlite:///{tmp_path / 'authz.db'}"
    return Server(tmp_path, url, "--policies", str(policy_dir), "--policy-poll-seconds", poll).start()


@pytest.fixture
def server(tmp_path, policy_dir):
    instance = start(tmp_path, policy_dir)
    with instance.client() as client:
        load_recs(client)
    yield instance
    instance.stop()


def reload(client, force: bool = False) -> pb.ReloadResponse:
    return client._call(client.policy.Reload, pb.ReloadRequest(force=force))


def rejected(client, force: bool = False) -> str:
    with pytest.raises(grpc.RpcError) as caught:
        reload(client, force)
    assert caught.value.code() == CODE.FAILED_PRECONDITION
    assert caught.value.details().startswith("policy reload rejected; the running policy stays: ")
    return caught.value.details()


def scrape(server) -> str:
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=10) as response:
        return response.read().decode()


def test_reload_rejected_for_a_syntax_error_keeps_the_running_policy(server, policy_dir):
    with server.client() as client:
        before = client._call(client.policy.GetPolicy, pb.GetPolicyRequest()).hash
        with open(policy_dir / "flip.csv", "a") as handle:
            handle.write("p, flipper, project, pipline, *, read\np, broken\n")
        details = rejected(client)
        assert "flip.csv:2: unknown resource type 'pipline' (did you mean 'pipeline'?)" in details
        assert "flip.csv:3:" in details
        assert client._call(client.policy.GetPolicy, pb.GetPolicyRequest()).hash == before
        assert client.check("user:f", "read", "pipeline/x", project="recs").allowed
    assert 'authz_policy_reloads_total{result="rejected"} 1.0' in scrape(server)
    assert "policy reload (rpc) rejected" in server.log()


def test_reload_rejected_for_a_failing_suite(server, policy_dir):
    roles = policy_dir / "roles.csv"
    roles.write_text(roles.read_text().replace("p, project_viewer, project, artifact_version, *, read\n", ""))
    with server.client() as client:
        details = rejected(client)
        assert "1 policy test assertion fails under the candidate" in details
        assert "tests/project_roles.yaml:" in details and "artifact_version/a" in details
        assert client.check("user:ada", "read", "artifact_version/a", project="recs").allowed


def test_reload_accepted_while_checks_run_and_no_check_sees_a_mixed_policy(server, policy_dir):
    pair = [check_request("user:f", "read", "pipeline/x", project="recs"),
            check_request("user:f", "read", "model/x", project="recs")]
    seen: set[tuple[bool, bool]] = set()
    failures: list[Exception] = []
    stop = threading.Event()

    def hammer() -> None:
        with server.client(token=None) as client:
            while not stop.is_set():
                try:
                    seen.add(tuple(r.allowed for r in client.batch_check(pair).results))
                except grpc.RpcError as error:  # pragma: no cover - would fail the test below
                    failures.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        (policy_dir / "flip.csv").write_text("p, flipper, project, model, *, read\n")
        with server.client() as client:
            outcome = reload(client)
        assert outcome.changed and outcome.removed_bindings == 0
        deadline = time.monotonic() + 10
        while (False, True) not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert seen == {(True, False), (False, True)}
    assert 'authz_policy_reloads_total{result="accepted"} 1.0' in scrape(server)


def test_reload_refuses_to_drop_a_role_in_use_unless_forced(server, policy_dir):
    (policy_dir / "flip.csv").unlink()
    with server.client() as client:
        details = rejected(client)
        assert "it drops role 'flipper', which 1 binding uses" in details
        assert client.check("user:f", "read", "pipeline/x", project="recs").allowed
        outcome = reload(client, force=True)
        assert outcome.removed_bindings == 1 and "removed 1 binding of" in outcome.message
        after = client.check("user:f", "read", "pipeline/x", project="recs")
        assert not after.allowed and after.revision == outcome.revision
    # The bindings a forced reload removes are counted as the writes they are.
    assert 'authz_write_operations_total{operation="delete_role_binding"} 1.0' in scrape(server)


def test_file_changes_and_sighup_reload(tmp_path, policy_dir):
    server = start(tmp_path, policy_dir, poll="0.2")
    try:
        with server.client() as client:
            first = client._call(client.policy.GetPolicy, pb.GetPolicyRequest())
            (policy_dir / "flip.csv").write_text("p, flipper, project, model, *, read\n")
            deadline = time.monotonic() + 15
            while client._call(client.policy.GetPolicy, pb.GetPolicyRequest()).hash == first.hash:
                assert time.monotonic() < deadline, server.log()
                time.sleep(0.1)
            while "policy reload (watch) accepted" not in server.log():  # the line follows the swap
                assert time.monotonic() < deadline, server.log()
                time.sleep(0.05)
            metrics = scrape(server)
            current = client._call(client.policy.GetPolicy, pb.GetPolicyRequest())
            assert f'hash="{current.hash}"' in metrics and current.loaded_at > first.loaded_at
    finally:
        server.stop()
    server = start(tmp_path, policy_dir, poll="0")
    try:
        (policy_dir / "flip.csv").write_text("p, flipper, project, pipeline, *, read\n")
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while "policy reload (signal) accepted" not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
    finally:
        server.stop()


def test_custom_roles_through_policy_service(server):
    with server.client() as client:
        create = pb.CreateRoleRequest(name="model_reviewer", level="project", base_role="project_viewer",
                                      permissions=[pb.Permission(resource_type="model", action="promote")])
        written = client._call(client.policy.CreateRole, create)
        client.create_role_binding("user:rev", "model_reviewer", project="recs")
        assert client.check("user:rev", "promote", "model/m", project="recs").allowed
        explained = client.check("user:rev", "read", "pipeline/p", project="recs", explain=True).explanation
        assert explained.inherited_from == "project_viewer" and explained.policy_line.file == "roles.csv"
        roles = {r.name: r for r in client.list_roles().roles}
        assert roles["model_reviewer"].custom and roles["model_reviewer"].binding_count == 1
        assert roles["project_viewer"].source.file == "roles.csv" and roles["project_viewer"].source.line > 0

        for call, request, code, text in [
            (client.policy.CreateRole, create, CODE.ALREADY_EXISTS, "name: role 'model_reviewer' already exists"),
            (client.policy.DeleteRole, pb.DeleteRoleRequest(name="project_viewer"), CODE.FAILED_PRECONDITION,
             "name: role 'project_viewer' is defined in roles.csv:"),
            (client.policy.DeleteRole, pb.DeleteRoleRequest(name="model_reviewer"), CODE.FAILED_PRECONDITION,
             "force: 1 binding uses role 'model_reviewer'"),
            (client.policy.CreateRole, pb.CreateRoleRequest(name="x", level="project", permissions=[
                pb.Permission(resource_type="stack", action="read")]), CODE.INVALID_ARGUMENT,
             "permissions[0]: 'stack' is a workspace-level type"),
        ]:
            with pytest.raises(grpc.RpcError) as caught:
                client._call(call, request)
            assert (caught.value.code(), caught.value.details()[: len(text)]) == (code, text)
    server.stop()
    server.start()
    with server.client() as client:
        assert client.check("user:rev", "promote", "model/m", project="recs").allowed
        deleted = client._call(client.policy.DeleteRole, pb.DeleteRoleRequest(name="model_reviewer", force=True))
        assert deleted.removed_bindings == 1 and deleted.revision == written.revision + 2
        assert not client.check("user:rev", "read", "model/m", project="recs").allowed
    with server.client(token=None) as anonymous:
        with pytest.raises(grpc.RpcError) as caught:
            anonymous._call(anonymous.policy.CreateRole, create)
        assert caught.value.code() == CODE.UNAUTHENTICATED
        assert anonymous._call(anonymous.policy.GetPolicy, pb.GetPolicyRequest()).role_count == 15


def test_diff_policy_over_the_rpc_and_the_cli_agree(server, policy_dir, tmp_path):
    candidate = tmp_path / "candidate"
    shutil.copytree(policy_dir, candidate)
    (candidate / "flip.csv").write_text("p, flipper, project, model, *, read\n")
    with server.client() as client:
        response = client._call(client.policy.DiffPolicy, pb.DiffPolicyRequest(candidate_directory=str(candidate)))
    gained = {(f.subject, f.resource_type, f.action, f.scope.project_id) for f in response.gained}
    lost = {(f.subject, f.resource_type, f.action, f.scope.project_id) for f in response.lost}
    assert gained == {("user:f", "model", "read", "recs")} and lost == {("user:f", "pipeline", "read", "recs")}
    assert response.gained[0].scope.workspace_id == "staging"
    done = subprocess.run([sys.executable, "-m", "authz.cli", "policy", "diff", str(candidate), "--database-url",
                           server.database_url, "--policies", str(policy_dir), "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    report = json.loads(done.stdout)
    assert (report["gained_count"], report["lost_count"]) == (1, 1)
    assert report["lost"][0] == {"subject": "user:f", "resource_type": "pipeline", "resource_id": "",
                                 "action": "read", "node": "project:recs"}
    with server.client() as client:
        from authz._gen.authz.v1 import directory_pb2 as dir_pb

        what_if = client._call(client.policy.DiffPolicy, pb.DiffPolicyRequest(operations=[
            dir_pb.Operation(remove_team_member=dir_pb.RemoveTeamMemberRequest(team_id="ds", subject="user:ada"))]))
        assert what_if.gained_count == 0 and what_if.lost_count == 16 + 3
        assert client.check("user:ada", "read", "model/m", project="recs").allowed  # the what-if applied nothing


def test_explain_through_a_team_and_through_inheritance(server):
    with server.client() as client:
        client.create_role_binding("user:wes", "workspace_viewer", workspace="staging")
    done = subprocess.run([sys.executable, "-m", "authz.cli", "explain", "user:ada", "read", "model/m", "--project",
                           "recs", "--grpc-address", server.address], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "subject   user:ada (through team:ds)" in done.stdout
    assert "has project_viewer on project:recs" in done.stdout
    assert "policy    roles.csv:" in done.stdout and "p, project_viewer, project, model, *, read" in done.stdout
    inherited = subprocess.run([sys.executable, "-m", "authz.cli", "explain", "user:wes", "read", "model/m",
                                "--project", "recs", "--grpc-address", server.address],
                               capture_output=True, text=True, timeout=60)
    assert "has workspace_viewer on workspace:staging" in inherited.stdout
    assert "p, workspace_viewer, workspace, *, *, read" in inherited.stdout
    denied = subprocess.run([sys.executable, "-m", "authz.cli", "explain", "user:ada", "delete", "model/m",
                             "--project", "recs", "--grpc-address", server.address],
                            capture_output=True, text=True, timeout=60)
    assert denied.returncode == 1
    assert "closest   has project_viewer on project:recs through team:ds; allows read on model" in denied.stdout


def test_the_watcher_notices_a_fixed_test_suite(tmp_path, policy_dir):
    """A candidate rejected for a failing assertion is accepted once only the test file is
    fixed: the watcher hashes everything validation reads, tests/ included."""
    server = start(tmp_path, policy_dir, poll="0.2")
    suite = policy_dir / "tests" / "project_roles.yaml"
    failing = "  - {subject: user:viewer, action: read, resource: artifact_version/a, project: recs, expect: allow}\n"
    try:
        roles = policy_dir / "roles.csv"
        roles.write_text(roles.read_text().replace("p, project_viewer, project, artifact_version, *, read\n", ""))
        deadline = time.monotonic() + 15
        while "policy reload (watch) rejected" not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        assert failing in suite.read_text()
        suite.write_text(suite.read_text().replace(failing, failing.replace("allow", "deny")))
        while "policy reload (watch) accepted" not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
    finally:
        server.stop()


def test_serve_refuses_a_policy_whose_suites_fail_as_a_reload_would(tmp_path, policy_dir):
    roles = policy_dir / "roles.csv"
    roles.write_text(roles.read_text().replace("p, project_viewer, project, artifact_version, *, read\n", ""))
    done = subprocess.run([sys.executable, "-m", "authz.cli", "serve", "--database-url",
                           f"sqlite:///{tmp_path / 'a.db'}", "--policies", str(policy_dir), "--grpc-address",
                           "127.0.0.1:0", "--metrics-address", ""], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"authz serve: the policy in {policy_dir} cannot be served: 1 policy test assertion "
                           "fails under the candidate: tests/project_roles.yaml:")
