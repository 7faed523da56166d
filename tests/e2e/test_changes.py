"""ChangeService and `authz changes` against the real server: the stream across a restart,
retention, the listing's filters and pages, the command's output, and who may read it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request

import grpc
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from authz import token_file
from authz.client import Client
from authz.testing import example
from authz.testing.server import Server

pytestmark = pytest.mark.e2e
CODE = grpc.StatusCode
ADMIN = "admin-secret"
DEADLINE = 60.0  # how long a watcher may take to see what it waits for (a bound, never asserted)


class Watcher:
    """WatchChanges on a thread, collecting what arrives and how the stream ended."""

    def __init__(self, address: str, after: int, token: str = ADMIN) -> None:
        self.client = Client(address, token=token)
        self.call = self.client.watch_changes(after)
        self.changes: list = []
        self.error: grpc.RpcError | None = None
        self.arrived = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for change in self.call:
                with self.arrived:
                    self.changes.append(change)
                    self.arrived.notify_all()
        except grpc.RpcError as error:
            self.error = error
        with self.arrived:
            self.arrived.notify_all()

    def wait_for(self, revision: int) -> None:
        with self.arrived:
            self.arrived.wait_for(lambda: self.error is not None or (
                self.changes and self.changes[-1].revision >= revision), DEADLINE)
        assert self.changes and self.changes[-1].revision >= revision, self.error

    def ended(self) -> grpc.RpcError:
        self.thread.join(DEADLINE)
        assert self.error is not None
        self.client.close()
        return self.error

    def cancel(self) -> None:
        self.call.cancel()
        self.thread.join(DEADLINE)
        self.client.close()


def every_change(client: Client) -> list:
    found, token = [], ""
    while True:
        page = client.list_changes(page_token=token, page_size=7)
        found.extend(page.changes)
        token = page.next_page_token
        if not token:
            return found


def test_watch_delivers_every_change_once_in_order_across_a_restart(tmp_path, database_url):
    server = Server(tmp_path, database_url, env={"AUTHZ_ADMIN_TOKEN": ADMIN}).start()
    acknowledged: list[int] = []
    try:
        with server.client() as admin:
            acknowledged.append(admin.create_organization("o").revision)
        first = Watcher(server.address, 0)

        def write_until_refused() -> None:
            with server.client() as writer:
                for number in range(10_000):
                    try:
                        acknowledged.append(writer.create_workspace(f"w{number}", "o").revision)
                    except grpc.RpcError:
                        return

        writer = threading.Thread(target=write_until_refused)
        writer.start()
        first.wait_for(10)  # the stream is live while writes commit...
        assert server.stop() == 0  # ...and the server stops under both
        writer.join()
        ended = first.ended()
        last = first.changes[-1].revision
        assert ended.code() == CODE.UNAVAILABLE
        assert f"watch again with after_revision {last}" in ended.details()

        server.start()
        second = Watcher(server.address, last)
        with server.client() as admin:
            for number in range(3):
                acknowledged.append(admin.create_team(f"t{number}", "o").revision)
            second.wait_for(acknowledged[-1])
            second.cancel()
            stored = every_change(admin)
    finally:
        server.stop()
    received = first.changes + second.changes
    head = stored[-1].revision
    assert [change.revision for change in received] == list(range(1, head + 1))
    assert set(acknowledged) <= set(range(1, head + 1))
    assert [change.SerializeToString() for change in received] == [c.SerializeToString() for c in stored]
    assert received[1].operations[0].create_workspace.id == "w0"
    assert received[1].token_name == "admin" and len(received[1].request_id) == 32


def test_a_watcher_or_listing_behind_the_retention_window_is_told_the_oldest_revision_kept(tmp_path, database_url):
    server = Server(tmp_path, database_url, env={"AUTHZ_ADMIN_TOKEN": ADMIN}).start()
    try:
        with server.client() as admin:
            for number in range(5):
                admin.create_organization(f"o{number}")
            engine = create_engine(database_url, poolclass=NullPool)
            with engine.begin() as connection:  # retention, simulated: the oldest records go
                connection.execute(text("DELETE FROM changes WHERE revision <= 3"))
            for after in (0, 2):
                with pytest.raises(grpc.RpcError) as listed:
                    admin.list_changes(after_revision=after)
                assert listed.value.code() == CODE.FAILED_PRECONDITION
                assert listed.value.details().startswith(f"after_revision: changes after revision {after} are no")
                assert "the oldest revision kept is 4" in listed.value.details()
                behind = Watcher(server.address, after)
                assert behind.ended().code() == CODE.FAILED_PRECONDITION
                assert "the oldest revision kept is 4" in behind.error.details()
            assert [c.revision for c in admin.list_changes(after_revision=3).changes] == [4, 5]
            caught_up = Watcher(server.address, 3)
            caught_up.wait_for(5)
            caught_up.cancel()
            assert [c.revision for c in caught_up.changes] == [4, 5]
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM changes"))
            engine.dispose()
            with pytest.raises(grpc.RpcError) as emptied:
                admin.list_changes(after_revision=4)
            assert "the oldest revision kept is 6" in emptied.value.details()
            assert list(admin.list_changes(after_revision=5).changes) == []
    finally:
        server.stop()


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """A server with an integration token (zenml) and an audit token (auditor), and a history:
    1 the example organization; 2 zenml shares a model with eve on behalf of grace; 3 admin
    binds eve in staging; 4 a team; 5 eve joins it."""
    tmp = tmp_path_factory.mktemp("changes")
    tokens = tmp / "tokens"
    made = {name: token_file.append(tokens, name, scope) for name, scope in
            (("zenml", "integration"), ("auditor", "audit"), ("reader", "check"))}
    server = Server(tmp, f"sqlite:///{tmp / 'a.db'}", "--tokens-file", str(tokens),
                    env={"AUTHZ_ADMIN_TOKEN": ADMIN}).start()
    with server.client() as admin, Client(server.address, token=made["zenml"]) as zenml:
        admin.import_operations(example.operations())
        zenml.set_resource_membership("user:eve", "model/ranker", ["read"], on_behalf_of="user:grace",
                                      project="prod-fraud-detection")
        admin.create_role_binding("user:eve", "workspace_viewer", workspace="staging")
        admin.create_team("auditors", "acme")
        admin.add_team_member("auditors", "user:eve")
    yield server, made
    server.stop()


def revisions(response) -> list[int]:
    return [change.revision for change in response.changes]


def test_listing_filters_by_subject_node_and_token(audited):
    server, _ = audited
    with server.client() as admin:
        assert revisions(admin.list_changes()) == [1, 2, 3, 4, 5]
        assert revisions(admin.list_changes(subject="user:eve")) == [1, 2, 3, 5]
        eve_in_production = admin.list_changes(subject="user:eve", workspace="production")
        assert revisions(eve_in_production) == [1, 2]
        share = eve_in_production.changes[0]
        assert [share.operations[i].WhichOneof("operation") for i in share.matching_operations] == [
            "set_resource_membership"]
        assert len(share.operations) == len(example.operations())
        assert revisions(admin.list_changes(project="prod-fraud-detection")) == [1, 2]
        assert revisions(admin.list_changes(organization="acme")) == [1, 2, 3, 4]
        assert revisions(admin.list_changes(subject="team:auditors")) == [4, 5]
        by_zenml = admin.list_changes(token_name="zenml")
        assert revisions(by_zenml) == [2]
        assert list(by_zenml.changes[0].on_behalf_of) == ["user:grace"]
        assert revisions(admin.list_changes(token_name="zenml", subject="user:ada")) == []
        assert admin.list_changes(after_revision=2).changes[0].revision == 3
        binding = admin.list_changes(after_revision=2, page_size=1).changes[0]
        assert binding.binding_ids[0] and binding.operations[0].create_role_binding.subject == "user:eve"


def test_listing_pages_with_checked_tokens(audited):
    server, _ = audited
    with server.client() as admin:
        pages, token = [], ""
        while True:
            page = admin.list_changes(subject="user:eve", page_size=2, page_token=token)
            pages.append(revisions(page))
            token = page.next_page_token
            if not token:
                break
        assert pages == [[1, 2], [3, 5]]
        assert page.revision == 5
        first = admin.list_changes(subject="user:eve", page_size=2)
        for bad, kwargs in (("garbage", {}), (first.next_page_token, {"subject": "user:ada"}),
                            (first.next_page_token, {"subject": "user:eve", "after_revision": 4})):
            with pytest.raises(grpc.RpcError) as caught:
                admin.list_changes(page_token=bad, page_size=2, **kwargs)
            assert caught.value.code() == CODE.INVALID_ARGUMENT
            assert caught.value.details().startswith("page_token: is not a token this server issued")
        for kwargs, field in (({"page_size": 1001}, "page_size"), ({"subject": "eve"}, "subject"),
                              ({"workspace": "no space"}, "scope.workspace_id")):
            with pytest.raises(grpc.RpcError) as caught:
                admin.list_changes(**kwargs)
            assert caught.value.code() == CODE.INVALID_ARGUMENT
            assert caught.value.details().startswith(f"{field}: ")


def test_the_audit_scope_reads_changes_and_checks_but_writes_nothing(audited):
    server, made = audited
    with Client(server.address, token=made["auditor"]) as auditor:
        assert revisions(auditor.list_changes(token_name="zenml")) == [2]
        watching = Watcher(server.address, 4, token=made["auditor"])
        watching.wait_for(5)
        watching.cancel()
        assert auditor.check("user:eve", "read", "model/ranker", project="prod-fraud-detection").allowed
        with pytest.raises(grpc.RpcError) as caught:
            auditor.create_organization("nope")
        assert caught.value.code() == CODE.PERMISSION_DENIED
    for name in ("zenml", "reader"):
        scope = {"zenml": "integration", "reader": "check"}[name]
        with Client(server.address, token=made[name]) as other:
            with pytest.raises(grpc.RpcError) as caught:
                other.list_changes()
            assert caught.value.code() == CODE.PERMISSION_DENIED
            assert caught.value.details() == (f"/authz.v1.ChangeService/ListChanges needs scope 'audit'; token "
                                              f"{name!r} has scope {scope!r}")
        denied = Watcher(server.address, 0, token=made[name])
        assert denied.ended().code() == CODE.PERMISSION_DENIED
    anonymous = Watcher(server.address, 0, token="")
    assert anonymous.ended().code() == CODE.UNAUTHENTICATED
    assert "a token with scope 'audit' (or the admin token)" in anonymous.error.details()
    with server.client() as admin:
        assert revisions(admin.list_changes(after_revision=4)) == [5]
    scraped = urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=10).read().decode()
    assert ('authz_grpc_requests_total{code="PERMISSION_DENIED",method="WatchChanges",'
            'service="authz.v1.ChangeService"}') in scraped


def authz_changes(server: Server, *args: str, token: str = ADMIN) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTHZ_GRPC_ADDRESS": server.address, "AUTHZ_ADMIN_TOKEN": token}
    return subprocess.run([sys.executable, "-m", "authz.cli", "changes", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_the_changes_command_answers_who_gave_eve_access_to_production(audited):
    server, made = audited
    done = authz_changes(server, "--subject", "user:eve", "--workspace", "production", token=made["auditor"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("revision 1 by token admin at ") and " UTC (request " in lines[0]
    assert lines[1:3] == [
        "  share pipeline/churn-model-training on project:prod-recommendations with user:eve for read",
        f"  and {len(example.operations()) - 1} more operations that do not match",
    ]
    assert lines[3].startswith("revision 2 by token zenml on behalf of user:grace at ")
    assert lines[4:] == ["  share model/ranker on project:prod-fraud-detection with user:eve for read, "
                         "on behalf of user:grace", "2 changes, read through revision 5"]

    as_json = authz_changes(server, "--subject", "user:eve", "--format", "json")
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["revision"] for r in records] == [1, 2, 3, 5]
    assert records[2]["operations"][0]["create_role_binding"]["scope"] == {"workspace_id": "staging"}
    assert records[2]["binding_ids"][0] and records[2]["matching_operations"] == [0]
    assert records[1]["token_name"] == "zenml" and records[1]["on_behalf_of"] == ["user:grace"]
    assert records[1]["committed_at"].endswith("Z")

    refused = authz_changes(server, "--after-revision", "-1")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == "authz changes: --after-revision must be 0 or more (see `authz changes --help`)\n"
    denied = authz_changes(server, token=made["zenml"])
    assert denied.returncode == 2 and denied.stderr.startswith("authz changes: PERMISSION_DENIED: ")
    assert len(denied.stderr.splitlines()) == 1


def test_follow_prints_each_new_change_that_matches(tmp_path):
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", env={"AUTHZ_ADMIN_TOKEN": ADMIN}).start()
    env = {**os.environ, "AUTHZ_GRPC_ADDRESS": server.address, "AUTHZ_ADMIN_TOKEN": ADMIN}
    following = None
    try:
        with server.client() as admin:
            admin.create_organization("o")
            following = subprocess.Popen(
                [sys.executable, "-m", "authz.cli", "changes", "--follow", "--format", "json", "--subject",
                 "user:eve"], stdout=subprocess.PIPE, text=True, env=env)
            admin.create_team("t", "o")  # names no eve: not printed
            admin.add_team_member("t", "user:eve")
            assert following.stdout is not None
            printed = json.loads(following.stdout.readline())
            assert printed["revision"] == 3 and printed["operations"][0]["add_team_member"]["team_id"] == "t"
    finally:
        if following is not None:
            following.terminate()
            following.wait(DEADLINE)
            if following.stdout is not None:
                following.stdout.close()
        server.stop()
