"""The ZenML plug-in's own contract, against a real `authz serve` but without ZenML: what it
imports, its settings, and the mapping edge cases a ZenML server rarely produces on demand.
ZenML's users and resources are stood in for by plain objects with the same attributes
(`id`, `is_service_account`; `type`, `id`, `project_id`)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass

import grpc
import pytest

from authz import token_file
from authz.integrations import zenml as plugin
from authz.testing.server import Server

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    is_service_account: bool = False


@dataclass(frozen=True)
class Resource:
    type: str
    id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None


def test_importing_the_plugin_loads_no_sqlalchemy_alembic_or_casbin():
    code = ("import sys, authz.integrations.zenml; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'alembic', 'casbin', 'zenml'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("missing", "message"), [
    ("AUTHZ_ZENML_ADDRESS", "AUTHZ_ZENML_ADDRESS is not set"),
    ("AUTHZ_ZENML_TOKEN", "AUTHZ_ZENML_TOKEN or AUTHZ_ZENML_TOKEN_FILE is not set"),
    ("AUTHZ_ZENML_ORGANIZATION_ID", "AUTHZ_ZENML_ORGANIZATION_ID is not set"),
    ("AUTHZ_ZENML_WORKSPACE_ID", "AUTHZ_ZENML_WORKSPACE_ID is not set"),
])
def test_a_missing_setting_is_named(missing, message):
    env = {"AUTHZ_ZENML_ADDRESS": "127.0.0.1:1", "AUTHZ_ZENML_TOKEN": "t", "AUTHZ_ZENML_ORGANIZATION_ID": "o",
           "AUTHZ_ZENML_WORKSPACE_ID": "w"}
    del env[missing]
    with pytest.raises(plugin.ConfigurationError) as caught:
        plugin.AuthzRBAC(env)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, RuntimeError)


@pytest.mark.parametrize(("extra", "message"), [
    ({"AUTHZ_ZENML_TIMEOUT_SECONDS": "0"}, "AUTHZ_ZENML_TIMEOUT_SECONDS must be a positive number, not '0'"),
    ({"AUTHZ_ZENML_TIMEOUT_SECONDS": "soon"}, "AUTHZ_ZENML_TIMEOUT_SECONDS must be a positive number"),
    ({"AUTHZ_ZENML_TLS_CERT_FILE": "c.pem"}, "AUTHZ_ZENML_TLS_CERT_FILE and AUTHZ_ZENML_TLS_KEY_FILE go together"),
    ({"AUTHZ_ZENML_TLS_CA_FILE": "/nonexistent/ca.pem"}, "AUTHZ_ZENML_TLS_CA_FILE '/nonexistent/ca.pem' cannot be read"),
    ({"AUTHZ_ZENML_TOKEN": "", "AUTHZ_ZENML_TOKEN_FILE": "/nonexistent"}, "AUTHZ_ZENML_TOKEN_FILE '/nonexistent'"),
])
def test_a_wrong_setting_is_named(extra, message):
    env = {"AUTHZ_ZENML_ADDRESS": "127.0.0.1:1", "AUTHZ_ZENML_TOKEN": "t", "AUTHZ_ZENML_ORGANIZATION_ID": "o",
           "AUTHZ_ZENML_WORKSPACE_ID": "w", **extra}
    with pytest.raises(plugin.ConfigurationError, match=message):
        plugin.AuthzRBAC(env)


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plugin")
    token = token_file.append(tmp / "tokens", "zenml", "integration")
    (tmp / "zenml.token").write_text(token + "\n")
    server = Server(tmp, f"sqlite:///{tmp / 'a.db'}", "--tokens-file", str(tmp / "tokens"),
                    env={"AUTHZ_ADMIN_TOKEN": "admin-secret"}).start()
    with server.client() as admin:
        admin.create_organization("o")
        admin.create_workspace("w", "o")
    yield server, tmp
    server.stop()


def rbac(sidecar, **extra) -> plugin.AuthzRBAC:
    server, tmp = sidecar
    return plugin.AuthzRBAC({
        "AUTHZ_ZENML_ADDRESS": server.address, "AUTHZ_ZENML_TOKEN_FILE": str(tmp / "zenml.token"),
        "AUTHZ_ZENML_ORGANIZATION_ID": "o", "AUTHZ_ZENML_WORKSPACE_ID": "w", **extra,
    }, user_subject=lambda user_id: f"user:{user_id}")


def test_checks_answer_exactly_the_keys_asked_split_at_the_batch_limit(sidecar):
    server, _ = sidecar
    plug = rbac(sidecar)
    user, project = User(uuid.uuid4()), uuid.uuid4()
    allowed = Resource("pipeline", uuid.uuid4(), project)
    wanted = {allowed} | {Resource("pipeline", uuid.uuid4(), project) for _ in range(1500)}
    assert plug.check_permissions(user, set(), "read") == {}
    assert set(plug.check_permissions(user, wanted, "read").values()) == {False}  # project registered on sight
    with server.client() as admin:
        admin.set_resource_membership(f"user:{user.id}", f"pipeline/{allowed.id}", ["read"], project=str(project))
        assert [b for b in admin.list_role_bindings(project=str(project)).bindings] == []
    answers = plug.check_permissions(user, wanted, "read")
    assert set(answers) == wanted and [r for r, ok in answers.items() if ok] == [allowed]
    assert plug.check_permissions(User(user.id, is_service_account=True), {allowed}, "read") == {allowed: False}


def test_listing_leaves_out_ids_that_are_not_uuids(sidecar):
    server, _ = sidecar
    plug = rbac(sidecar)
    user, project = User(uuid.uuid4()), uuid.uuid4()
    resource = Resource("pipeline", None, project)
    assert plug.list_allowed_resource_ids(user, resource, "read") == (False, [])
    good = uuid.uuid4()
    with server.client() as admin:
        for rid in (str(good), "not-a-uuid"):
            admin.set_resource_membership(f"user:{user.id}", f"pipeline/{rid}", ["read"], project=str(project))
    assert plug.list_allowed_resource_ids(user, resource, "read") == (False, [str(good)])
    with server.client() as admin:
        admin.create_role_binding(f"user:{user.id}", "workspace_viewer", workspace="w")
    assert plug.list_allowed_resource_ids(user, resource, "read") == (True, [])
    assert plug.list_allowed_resource_ids(user, Resource("stack"), "read") == (True, [])


def test_sharing_takes_exactly_one_subject(sidecar):
    plug = rbac(sidecar)
    sharer, resource = User(uuid.uuid4()), Resource("stack", uuid.uuid4())
    for who in ({}, {"user_id": str(uuid.uuid4()), "team_id": "t"}):
        with pytest.raises(ValueError, match="exactly one of user_id and team_id"):
            plug.update_resource_membership(sharer, resource, ["read"], **who)
    with pytest.raises(KeyError):
        plug.update_resource_membership(sharer, resource, ["read"], team_id="no-such-team")


def test_many_threads_share_one_plugin(sidecar):
    server, _ = sidecar
    plug = rbac(sidecar)
    projects = [uuid.uuid4() for _ in range(5)]
    user = User(uuid.uuid4())
    with server.client() as admin:
        for project in projects:
            admin.create_project(str(project), "w")  # some known already: ALREADY_EXISTS is success
        admin.create_role_binding(f"user:{user.id}", "workspace_viewer", workspace="w")
    fresh = [uuid.uuid4() for _ in range(5)]
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(20):
                project = (projects + fresh)[(seed + i) % 10]
                resource = Resource("pipeline", uuid.uuid4(), project)
                assert plug.check_permissions(user, {resource}, "read") == {resource: True}
                assert plug.list_allowed_resource_ids(user, Resource("model", None, project), "read") == (True, [])
        except BaseException as error:  # noqa: BLE001 -- reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {str(p) for p in projects + fresh} <= plug._projects
    with server.client() as admin:
        for project in fresh:
            assert admin.check(f"user:{user.id}", "read", "pipeline/x", project=str(project)).allowed


def test_deleting_an_unknown_project_is_success_and_a_service_account_goes_with_its_grants(sidecar):
    server, _ = sidecar
    plug = rbac(sidecar)
    plug.delete_resources([Resource("project", uuid.uuid4())])
    account = uuid.uuid4()
    with server.client() as admin:
        admin.create_role_binding(f"service_account:{account}", "workspace_viewer", workspace="w")
    plug.delete_resources([Resource("service_account", account)])
    with server.client() as admin:
        assert not admin.list_role_bindings(subject=f"service_account:{account}").bindings


def test_an_unreachable_sidecar_raises_a_runtime_error_and_a_restart_is_seen_at_once(sidecar, tmp_path):
    server, _ = sidecar
    plug = rbac(sidecar, AUTHZ_ZENML_TIMEOUT_SECONDS="1")
    user = User(uuid.uuid4())
    assert plug.check_permissions(user, {Resource("stack", uuid.uuid4())}, "read")
    address = server.address
    server.stop()
    with pytest.raises(plugin.SidecarUnavailable) as caught:
        plug.check_permissions(user, {Resource("stack", uuid.uuid4())}, "read")
    assert isinstance(caught.value, RuntimeError) and not isinstance(caught.value, KeyError | ValueError)
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    time.sleep(1.5)  # long enough for a stock channel's reconnect backoff to grow past a second
    server.extra = (*server.extra, "--grpc-address", address)
    server.start()
    started = time.perf_counter()
    assert plug.check_permissions(user, {Resource("stack", uuid.uuid4())}, "read")
    assert time.perf_counter() - started < 1.0


def test_a_rotated_token_file_is_picked_up(sidecar):
    _, tmp = sidecar
    plug = rbac(sidecar)
    user = User(uuid.uuid4())
    plug.list_allowed_resource_ids(user, Resource("stack"), "read")
    new = token_file.append(tmp / "tokens", "zenml-next", "integration")
    (tmp / "zenml.token").write_text(new + "\n")
    token_file.remove(tmp / "tokens", "zenml")
    time.sleep(1.2)  # the server looks at its tokens file once a second
    plug.list_allowed_resource_ids(user, Resource("stack"), "read")
    assert plug._token == new
