"""Named tokens with scopes against the real server, the `authz token` commands, and
ListResourceShares, the RPC the integration scope reads shares back with."""

from __future__ import annotations

import subprocess
import sys
import time

import grpc
import pytest

from authz import token_file
from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz._gen.authz.v1 import policy_pb2
from authz.client import Client
from authz.storage.sql import SqlStorage
from authz.testing.server import Server

pytestmark = pytest.mark.e2e
CODE = grpc.StatusCode
ADMIN = "admin-secret"


def authz(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "authz.cli", *args], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tokens")
    tokens = tmp / "tokens"
    made = {
        "zenml": token_file.append(tokens, "zenml", "integration"),
        "reader": token_file.append(tokens, "reader", "check"),
        "ops": token_file.append(tokens, "ops", "admin"),
    }
    (tmp / "check.token").write_text("legacy-check\n")
    server = Server(tmp, f"sqlite:///{tmp / 'a.db'}", "--tokens-file", str(tokens),
                    "--check-token-file", str(tmp / "check.token"), env={"AUTHZ_ADMIN_TOKEN": ADMIN}).start()
    with server.client() as admin:
        admin.create_organization("o")
        admin.create_workspace("w", "o")
        admin.create_project("p", "w")
        admin.create_team("t", "o")
    yield server, tokens, made
    server.stop()


def code_of(call, *args, **kwargs) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value.code(), caught.value.details()


def test_the_integration_scope_covers_what_a_workspace_server_needs(running):
    server, _, made = running
    with Client(server.address, token=made["zenml"]) as zenml:
        assert not zenml.check("user:u", "read", "pipeline/x", project="p").allowed
        zenml.create_project("p2", "w")
        zenml.set_resource_membership("user:u", "pipeline/x", ["read"], on_behalf_of="user:owner", project="p2")
        assert [s.subject for s in zenml.list_resource_shares(project="p2").shares] == ["user:u"]
        zenml._call(zenml.directory.DeleteResources, dir_pb.DeleteResourcesRequest())
        zenml._call(zenml.directory.DeleteSubject, dir_pb.DeleteSubjectRequest(subject="user:u"))
        zenml._call(zenml.directory.DeleteProject, dir_pb.DeleteProjectRequest(id="p2"))
        for call, args in ((zenml.create_role_binding, ("user:u", "organization_admin")),
                           (zenml.create_team, ("t2", "o")), (zenml.import_operations, ([],))):
            code, details = code_of(call, *args, organization="o") if call == zenml.create_role_binding \
                else code_of(call, *args)
            assert code == CODE.PERMISSION_DENIED
            assert details.endswith("needs scope 'admin'; token 'zenml' has scope 'integration'")
        code, _ = code_of(zenml._call, zenml.policy.Reload, policy_pb2.ReloadRequest())
        assert code == CODE.PERMISSION_DENIED
        assert zenml.list_roles().roles  # open
    records = SqlStorage(f"sqlite:///{server.workdir / 'a.db'}")
    try:
        share = next(r for r in records.read_changes(0, 1000)
                     if type(r.operations[0]).__name__ == "SetResourceMembership")
    finally:
        records.close()
    assert share.actor == "zenml" and share.operations[0].on_behalf_of == "user:owner"


def test_check_scopes_and_unknown_tokens(running):
    server, _, made = running
    for token in (made["reader"], "legacy-check", made["ops"], ADMIN):
        with Client(server.address, token=token) as client:
            assert not client.check("user:u", "read", "pipeline/x", project="p").allowed
    with Client(server.address, token=made["reader"]) as reader:
        code, details = code_of(reader.set_resource_membership, "user:u", "pipeline/x", ["read"], project="p")
        assert code == CODE.PERMISSION_DENIED
        assert details.endswith("needs scope 'integration'; token 'reader' has scope 'check'")
    with Client(server.address, token="legacy-check") as legacy:
        code, details = code_of(legacy.create_project, "p3", "w")
        assert (code, details.split("; ")[1]) == (CODE.PERMISSION_DENIED, "token 'check' has scope 'check'")
    for token in (None, "wrong", made["zenml"] + "x"):
        with Client(server.address, token=token) as stranger:
            code, details = code_of(stranger.check, "user:u", "read", "pipeline/x", project="p")
            assert code == CODE.UNAUTHENTICATED and "needs a token with scope 'check'" in details
    with Client(server.address, token=made["ops"]) as ops:
        ops.create_project("p-ops", "w")  # an admin-scope token from the file may do everything


def test_rotation_needs_no_restart(running):
    server, tokens, _ = running
    created = authz("token", "create", "rotated", "--scope", "integration", "--tokens-file", str(tokens))
    assert created.returncode == 0, created.stderr
    new = created.stdout.strip()
    assert new.startswith("authz_") and new not in tokens.read_text()
    assert "shown only this once" in created.stderr

    def accepted(token: str) -> bool:
        with Client(server.address, token=token) as client:
            try:
                client.list_resource_shares(project="p")
            except grpc.RpcError as error:
                assert error.code() == CODE.UNAUTHENTICATED
                return False
            return True

    deadline = time.monotonic() + 10
    while not accepted(new) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert accepted(new)
    revoked = authz("token", "revoke", "rotated", "--tokens-file", str(tokens))
    assert revoked.returncode == 0, revoked.stderr
    deadline = time.monotonic() + 10
    while accepted(new) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not accepted(new)


def test_token_commands_answer_one_line_and_exit_2(tmp_path):
    path = tmp_path / "tokens"
    env_run = authz("token", "create", "a", "--scope", "check", env={**_env(), "AUTHZ_TOKENS_FILE": str(path)})
    assert env_run.returncode == 0 and path.exists()
    for args, message in (
        (("create", "a", "--scope", "check", "--tokens-file", str(path)), "a token named 'a' exists already"),
        (("create", "admin", "--scope", "admin", "--tokens-file", str(path)), "the name 'admin' is reserved"),
        (("revoke", "b", "--tokens-file", str(path)), "no token named 'b'"),
        (("list", "--tokens-file", str(tmp_path / "none")), "cannot be read"),
        (("list",), "give --tokens-file or set AUTHZ_TOKENS_FILE"),
    ):
        done = authz("token", *args, env=_env())
        assert done.returncode == 2, done
        assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert authz("token", "list", "--tokens-file", str(path)).stdout == "a check\n"


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "AUTHZ_TOKENS_FILE"}


def test_a_broken_tokens_file_stops_the_server_with_one_line(tmp_path):
    (tmp_path / "tokens").write_text("zenml integration sha256:nothex\n")
    done = subprocess.run(
        [sys.executable, "-m", "authz.cli", "serve", "--database-url", f"sqlite:///{tmp_path / 'a.db'}",
         "--grpc-address", "127.0.0.1:0", "--metrics-address", "", "--tokens-file", str(tmp_path / "tokens")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"authz serve: {tmp_path / 'tokens'}:1: the hash must be")
    assert "Traceback" not in done.stderr


def test_list_resource_shares_filters_and_pages(running):
    server, _, _ = running
    with server.client() as admin:
        admin.create_project("shares", "w")
        for subject in ("user:a", "user:b", "team:t"):
            for rid in ("r1", "r2"):
                admin.set_resource_membership(subject, f"pipeline/{rid}", ["update", "read"], project="shares")
        admin.set_resource_membership("user:a", "stack/s1", ["read"], workspace="w")
        every = admin.all_resource_shares(project="shares", page_size=4)
        assert [(s.resource.id, s.subject) for s in every] == [
            ("r1", "team:t"), ("r1", "user:a"), ("r1", "user:b"), ("r2", "team:t"), ("r2", "user:a"), ("r2", "user:b"),
        ]
        assert list(every[0].actions) == ["read", "update"] and every[0].scope.workspace_id == "w"
        first = admin.list_resource_shares(project="shares", page_size=4)
        assert len(first.shares) == 4 and first.next_page_token
        assert [s.subject for s in admin.list_resource_shares(resource="pipeline/r2", project="shares").shares] == [
            "team:t", "user:a", "user:b"]
        assert [(s.resource.type, s.resource.id) for s in admin.all_resource_shares(subject="user:a")] == [
            ("pipeline", "r1"), ("pipeline", "r2"), ("stack", "s1")]
        assert [s.resource.id for s in admin.all_resource_shares(resource="stack")] == ["s1"]
        assert len(admin.all_resource_shares()) >= 7
        assert admin.list_resource_shares(project="unknown").shares == []
        for kwargs, message in (
            ({"page_token": "bm90IGpzb24="}, "page_token: is not a token this server issued"),
            ({"subject": "nobody"}, "subject: 'nobody' is not a subject"),
            ({"resource": "/r1"}, "resource.id: needs resource.type too"),
            ({"page_size": 5000}, "page_size"),
        ):
            code, details = code_of(admin.list_resource_shares, **kwargs)
            assert code == CODE.INVALID_ARGUMENT and details.startswith(message), details
