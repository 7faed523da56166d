"""The ZenML plug-in against a real ZenML server: `zenml[server]` in its own cached virtual
environment, `uvicorn zenml.zen_server.zen_server_api:app` with the plug-in, a real
`authz serve`, and every step through ZenML's REST API as an admin, non-admin users and a
service account, checking the HTTP status and what the sidecar then holds.

Skipped with the reason when ZenML cannot be installed here; AUTHZ_REQUIRE_ZENML=1 (as
`.ci/run` sets) makes that a failure. One sidecar and one ZenML server serve the module."""

from __future__ import annotations

import os
import secrets
import time
import uuid

import grpc
import pytest

from authz import token_file
from authz.storage.sql import SqlStorage
from authz.testing.server import Server
from authz.testing.zenml import ZenMLServer, ZenMLUnavailable, ensure_venv, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.zenml, pytest.mark.timeout(900)]

ORG, WORKSPACE = "acme", "zenml-prod"
ADMIN_TOKEN = "admin-" + secrets.token_hex(8)
PASSWORD = "Pass-word-1"


def zenml_venv():
    try:
        return ensure_venv()
    except ZenMLUnavailable as error:
        if os.environ.get("AUTHZ_REQUIRE_ZENML") == "1":
            pytest.fail(f"{error} (and AUTHZ_REQUIRE_ZENML=1)", pytrace=False)
        pytest.skip(str(error))


class World:
    """The sidecar, ZenML with the plug-in, and the logged-in admin."""

    def __init__(self, tmp, venv) -> None:
        self.tmp = tmp
        self.tokens = tmp / "tokens"
        self.plugin_token = token_file.append(self.tokens, "zenml", token_file.INTEGRATION)
        self.port = free_port()
        self.database = tmp / "authz.db"
        self.sidecar = self._sidecar().start()
        with self.sidecar.client() as client:
            client.create_organization(ORG)
            client.create_workspace(WORKSPACE, ORG)
        self.zenml = ZenMLServer(venv, tmp / "zenml", {
            "AUTHZ_ZENML_ADDRESS": f"127.0.0.1:{self.port}",
            "AUTHZ_ZENML_TOKEN": self.plugin_token,
            "AUTHZ_ZENML_ORGANIZATION_ID": ORG,
            "AUTHZ_ZENML_WORKSPACE_ID": WORKSPACE,
        })
        self.zenml.start()
        admin = self.zenml.activate("admin", PASSWORD)
        self.admin_id = admin["id"]
        self.admin = self.zenml.login("admin", PASSWORD)
        # The first admin binding: ZenML's admin administers the workspace.
        self.client().create_role_binding(f"user:{self.admin_id}", "workspace_admin", workspace=WORKSPACE)
        self.project = self.create_project(f"main-{secrets.token_hex(3)}")

    def _sidecar(self) -> Server:
        return Server(self.tmp, f"sqlite:///{self.database}", "--grpc-address", f"127.0.0.1:{self.port}",
                      "--tokens-file", str(self.tokens), env={"AUTHZ_ADMIN_TOKEN": ADMIN_TOKEN})

    def client(self):
        return self.sidecar.client()

    def close(self) -> None:
        self.zenml.stop()
        self.sidecar.stop()

    # ---- ZenML, as the admin unless told

    def call(self, method, path, token=None, **kwargs):
        return self.zenml.request(method, path, token=token or self.admin, **kwargs)

    def ok(self, method, path, token=None, **kwargs):
        answer = self.call(method, path, token, **kwargs)
        assert answer.status == 200, answer
        return answer.json()

    def create_project(self, name: str) -> str:
        return self.ok("POST", "/projects", json_body={"name": name, "display_name": name})["id"]

    def create_pipeline(self, name: str, token=None, project=None):
        return self.call("POST", "/pipelines", token, json_body={"name": name, "project": project or self.project})

    def pipeline(self, name: str, token=None, project=None) -> str:
        answer = self.create_pipeline(name, token, project)
        assert answer.status == 200, answer
        return answer.json()["id"]

    def listed(self, path: str, token, **params) -> set[str]:
        answer = self.call("GET", path, token, params={"size": 1000, **params})
        assert answer.status == 200, answer
        return {item["id"] for item in answer.json()["items"]}

    def pipelines(self, token, project=None) -> set[str]:
        return self.listed("/pipelines", token, project=project or self.project)

    def user(self, name: str) -> tuple[str, str]:
        """A new non-admin user: (id, access token)."""
        created = self.ok("POST", "/users", json_body={
            "name": name, "full_name": name, "password": PASSWORD, "is_admin": False, "active": True,
        })
        return created["id"], self.zenml.login(name, PASSWORD)

    def share(self, resource_type: str, resource_id: str, actions, token=None, **who):
        return self.call("POST", "/users/resource_membership", token,
                         params={"resource_type": resource_type, "resource_id": resource_id, **who},
                         json_body=list(actions))

    # ---- what the sidecar holds

    def shares(self, **filters) -> list[tuple[str, str, str, tuple[str, ...]]]:
        with self.client() as client:
            return [(s.subject, f"{s.resource.type}/{s.resource.id}", s.scope.project_id or s.scope.workspace_id,
                     tuple(s.actions)) for s in client.all_resource_shares(**filters)]

    def changes(self) -> list:
        storage = SqlStorage(f"sqlite:///{self.database}")
        try:
            return storage.read_changes(0, 100_000)
        finally:
            storage.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    venv = zenml_venv()
    instance = World(tmp_path_factory.mktemp("zenml"), venv)
    yield instance
    instance.close()


def name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def test_a_user_with_no_binding_is_refused_and_sees_empty_lists(world):
    admin_pipeline = world.pipeline(name("pl"))
    world.ok("POST", "/secrets", json_body={"name": name("s"), "private": False, "values": {"k": "v"}})
    _, bob = world.user(name("bob"))
    assert world.call("POST", "/projects", bob, json_body={"name": name("p"), "display_name": "x"}).status == 403
    assert world.create_pipeline(name("pl"), bob).status == 403
    secret = world.call("POST", "/secrets", bob, json_body={"name": name("s"), "private": False, "values": {"k": "v"}})
    assert secret.status == 403
    assert world.pipelines(bob) == set()
    assert world.listed("/secrets", bob) == set()
    assert world.call("GET", f"/pipelines/{admin_pipeline}", bob).status == 403
    assert admin_pipeline in world.pipelines(None)


def test_a_read_share_gives_exactly_that_pipeline_and_unsharing_takes_it_away(world):
    shared, other = world.pipeline(name("pl")), world.pipeline(name("pl"))
    bob_id, bob = world.user(name("bob"))
    assert world.share("pipeline", shared, ["read"], user_id=bob_id).status == 200
    assert world.shares(resource=f"pipeline/{shared}") == [(f"user:{bob_id}", f"pipeline/{shared}", world.project, ("read",))]
    record = world.changes()[-1]
    assert record.actor == "zenml"  # the plug-in's token name
    assert record.operations[0].on_behalf_of == f"user:{world.admin_id}"
    assert world.call("GET", f"/pipelines/{shared}", bob).status == 200
    assert world.call("GET", f"/pipelines/{other}", bob).status == 403
    assert world.pipelines(bob) == {shared}
    assert world.call("PUT", f"/pipelines/{shared}", bob, json_body={"description": "no"}).status == 403

    assert world.share("pipeline", shared, [], user_id=bob_id).status == 200
    assert world.shares(resource=f"pipeline/{shared}") == []
    assert world.call("GET", f"/pipelines/{shared}", bob).status == 403
    assert world.pipelines(bob) == set()


def test_a_team_share_reaches_the_teams_members(world):
    pipeline = world.pipeline(name("pl"))
    carol_id, carol = world.user(name("carol"))
    _, dave = world.user(name("dave"))
    team = name("team")
    with world.client() as client:
        client.create_team(team, ORG)
        client.add_team_member(team, f"user:{carol_id}")
    assert world.share("pipeline", pipeline, ["read"], team_id=team).status == 200
    assert world.shares(subject=f"team:{team}") == [(f"team:{team}", f"pipeline/{pipeline}", world.project, ("read",))]
    assert world.call("GET", f"/pipelines/{pipeline}", carol).status == 200
    assert world.pipelines(carol) == {pipeline}
    assert world.call("GET", f"/pipelines/{pipeline}", dave).status == 403
    # A team the sidecar does not know is ZenML's 404, not a 500.
    assert world.share("pipeline", pipeline, ["read"], team_id=name("nobody")).status == 404


def test_project_developer_creates_reads_and_updates_but_does_not_delete(world):
    bob_id, bob = world.user(name("bob"))
    admins = world.pipeline(name("pl"))
    with world.client() as client:
        client.create_role_binding(f"user:{bob_id}", "project_developer", project=world.project)
    created = world.create_pipeline(name("pl"), bob)
    assert created.status == 200
    assert world.call("GET", f"/pipelines/{admins}", bob).status == 200
    assert world.call("PUT", f"/pipelines/{admins}", bob, json_body={"description": "better"}).status == 200
    assert {admins, created.json()["id"]} <= world.pipelines(bob)
    assert world.call("DELETE", f"/pipelines/{admins}", bob).status == 403
    assert world.call("GET", f"/pipelines/{admins}").status == 200
    # Not in another project, and not the workspace's secrets.
    other_project = world.create_project(name("other"))
    assert world.create_pipeline(name("pl"), bob, other_project).status == 403
    secret = world.call("POST", "/secrets", bob, json_body={"name": name("s"), "private": False, "values": {"k": "v"}})
    assert secret.status == 403


def test_an_owner_shares_what_it_created(world):
    bob_id, bob = world.user(name("bob"))
    carol_id, carol = world.user(name("carol"))
    with world.client() as client:
        client.create_role_binding(f"user:{bob_id}", "project_contributor", project=world.project)
    own = world.pipeline(name("pl"), bob)  # project_contributor may create, and holds no `share`
    assert world.call("GET", f"/pipelines/{own}", carol).status == 403
    assert world.share("pipeline", own, ["read", "update"], bob, user_id=carol_id).status == 200
    assert world.shares(resource=f"pipeline/{own}") == [
        (f"user:{carol_id}", f"pipeline/{own}", world.project, ("read", "update"))
    ]
    assert world.changes()[-1].operations[0].on_behalf_of == f"user:{bob_id}"
    assert world.call("GET", f"/pipelines/{own}", carol).status == 200
    # Sharing what it neither owns nor may share is ZenML's own 403; the sidecar is not asked.
    admins = world.pipeline(name("pl"))
    assert world.share("pipeline", admins, ["read"], bob, user_id=carol_id).status == 403
    assert world.shares(resource=f"pipeline/{admins}") == []


def test_a_service_account_gets_access_once_bound_and_loses_it_when_revoked(world):
    pipeline = world.pipeline(name("pl"))
    account = world.ok("POST", "/service_accounts", json_body={"name": name("ci"), "active": True})
    key = world.ok("POST", f"/service_accounts/{account['id']}/api_keys", json_body={"name": "key"})
    token = world.zenml.login_api_key(key["body"]["key"])
    assert world.call("GET", f"/pipelines/{pipeline}", token).status == 403
    assert world.pipelines(token) == set()
    with world.client() as client:
        binding = client.create_role_binding(f"service_account:{account['id']}", "project_viewer",
                                             project=world.project).binding
    assert world.call("GET", f"/pipelines/{pipeline}", token).status == 200
    assert pipeline in world.pipelines(token)
    assert world.create_pipeline(name("pl"), token).status == 403
    with world.client() as client:
        client.delete_role_binding(binding.id)
    # Revoked: the very next request is refused (the plug-in caches no decision).
    assert world.call("GET", f"/pipelines/{pipeline}", token).status == 403
    assert world.pipelines(token) == set()


def test_a_share_to_a_service_account_names_it_as_one(world):
    pipeline = world.pipeline(name("pl"))
    account = world.ok("POST", "/service_accounts", json_body={"name": name("bot"), "active": True})
    assert world.share("pipeline", pipeline, ["read"], user_id=account["id"]).status == 200
    assert world.shares(resource=f"pipeline/{pipeline}") == [
        (f"service_account:{account['id']}", f"pipeline/{pipeline}", world.project, ("read",))
    ]
    # Deleting the service account removes its shares and bindings in the sidecar.
    with world.client() as client:
        client.create_role_binding(f"service_account:{account['id']}", "project_viewer", project=world.project)
    assert world.call("DELETE", f"/service_accounts/{account['id']}").status == 200
    assert world.shares(subject=f"service_account:{account['id']}") == []
    with world.client() as client:
        assert not client.list_role_bindings(subject=f"service_account:{account['id']}").bindings


def test_a_revoked_binding_takes_effect_on_the_next_request(world):
    bob_id, bob = world.user(name("bob"))
    pipeline = world.pipeline(name("pl"))
    with world.client() as client:
        binding = client.create_role_binding(f"user:{bob_id}", "workspace_viewer", workspace=WORKSPACE).binding
    assert world.call("GET", f"/pipelines/{pipeline}", bob).status == 200
    with world.client() as client:
        client.delete_role_binding(binding.id)
    assert world.call("GET", f"/pipelines/{pipeline}", bob).status == 403


def test_deleting_a_pipeline_or_a_secret_removes_its_shares(world):
    bob_id, bob = world.user(name("bob"))
    pipeline = world.pipeline(name("pl"))
    secret = world.ok("POST", "/secrets", json_body={"name": name("s"), "private": False, "values": {"k": "v"}})["id"]
    assert world.share("pipeline", pipeline, ["read"], user_id=bob_id).status == 200
    assert world.share("secret", secret, ["read"], user_id=bob_id).status == 200
    assert world.call("GET", f"/secrets/{secret}", bob).status == 200
    assert world.listed("/secrets", bob) == {secret}
    assert len(world.shares(subject=f"user:{bob_id}")) == 2
    assert world.shares(resource=f"secret/{secret}") == [(f"user:{bob_id}", f"secret/{secret}", WORKSPACE, ("read",))]
    assert world.call("DELETE", f"/pipelines/{pipeline}").status == 200
    assert world.call("DELETE", f"/secrets/{secret}").status == 200
    assert world.shares(subject=f"user:{bob_id}") == []


def test_deleting_a_project_removes_every_binding_and_share_under_it(world):
    bob_id, bob = world.user(name("bob"))
    carol_id, _ = world.user(name("carol"))
    project = world.create_project(name("doomed"))
    pipeline = world.pipeline(name("pl"), project=project)
    assert world.share("pipeline", pipeline, ["read"], user_id=carol_id).status == 200
    with world.client() as client:
        client.create_role_binding(f"user:{bob_id}", "project_developer", project=project)
        assert len(client.list_role_bindings(project=project).bindings) == 1
    assert world.shares(project=project) == [(f"user:{carol_id}", f"pipeline/{pipeline}", project, ("read",))]
    assert world.call("GET", f"/pipelines/{pipeline}", bob).status == 200

    assert world.call("DELETE", f"/projects/{project}").status == 200
    assert world.shares(subject=f"user:{carol_id}") == []
    with world.client() as client:
        assert not client.list_role_bindings(subject=f"user:{bob_id}").bindings
        assert not client.check(f"user:{bob_id}", "read", f"pipeline/{pipeline}", project=project).allowed
    # The node is gone, not only what was on it.
    assert any(type(op).__name__ == "DeleteProject" and op.id == project
               for record in world.changes() for op in record.operations)


def test_with_the_sidecar_stopped_zenml_answers_5xx_and_the_first_request_after_a_restart_succeeds(world):
    pipeline = world.pipeline(name("pl"))
    bob_id, bob = world.user(name("bob"))
    with world.client() as client:
        client.create_role_binding(f"user:{bob_id}", "workspace_viewer", workspace=WORKSPACE)
    assert world.call("GET", f"/pipelines/{pipeline}", bob).status == 200
    world.sidecar.stop()
    try:
        # Reads and lists fail closed: ZenML's 500, never a 200 or a 403/404 that would mislead.
        for token in (bob, None):
            listing = world.call("GET", "/pipelines", token, params={"project": world.project})
            assert listing.status == 500, listing
            assert b"RuntimeError" in listing.body and b"authz sidecar" in listing.body
        single = world.call("GET", f"/pipelines/{pipeline}", bob)  # the admin owns it: ZenML asks nothing
        assert single.status == 500, single
    finally:
        world.sidecar = world._sidecar().start()
    started = time.perf_counter()
    single = world.call("GET", f"/pipelines/{pipeline}", bob)
    elapsed = time.perf_counter() - started
    assert single.status == 200, single
    assert pipeline in world.pipelines(bob)
    print(f"first read after the sidecar restarted: {elapsed * 1000:.0f} ms")


def test_what_the_open_source_server_does_not_ask_rbac_about(world):
    """The README's list: if a ZenML upgrade starts asking, these fail and the README changes."""
    _, bob = world.user(name("bob"))
    carol_id, _ = world.user(name("carol"))
    # User management: a user with no binding at all creates a user.
    created = world.call("POST", "/users", bob, json_body={
        "name": name("made-by-bob"), "full_name": "x", "password": PASSWORD, "is_admin": False, "active": True})
    assert created.status == 200, created
    # Projects cannot be shared through the membership endpoint.
    assert world.share("project", world.project, ["read"], user_id=carol_id).status == 404
    assert world.shares(subject=f"user:{carol_id}") == []


def test_the_plugin_names_a_missing_setting_at_zenml_start(world, tmp_path):
    broken = ZenMLServer(world.zenml.venv, tmp_path / "zenml", {"AUTHZ_ZENML_ADDRESS": "127.0.0.1:1"})
    with pytest.raises(ZenMLUnavailable) as caught:
        broken.start(timeout=120)
    assert "AUTHZ_ZENML_TOKEN or AUTHZ_ZENML_TOKEN_FILE is not set" in str(caught.value)


def test_the_plugin_token_may_not_bind_roles(world):
    with world.sidecar.client(token=world.plugin_token) as plugin, pytest.raises(grpc.RpcError) as caught:
        plugin.create_role_binding(f"user:{uuid.uuid4()}", "organization_admin", organization=ORG)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "needs scope 'admin'; token 'zenml' has scope 'integration'" in caught.value.details()
