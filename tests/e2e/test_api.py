"""The real `authz serve` process over gRPC, on SQLite and on PostgreSQL."""

from __future__ import annotations

import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz.client import check_request
from authz.testing import example

pytestmark = pytest.mark.e2e
AUTHZ = "authz.v1.AuthorizationService"


def scrape(server) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_writes_checks_batch_listing_and_restart(server):
    with server.client() as client:
        client.wait_until_serving()
        loaded = client.import_operations(example.operations())
        assert loaded.revision == 1
        r = client.check("user:ada", "update", "pipeline/train", project="staging-recommendations")
        assert r.allowed and r.revision == 1
        assert not client.check("user:ada", "update", "pipeline/train", project="prod-recommendations").allowed
        assert client.check("user:eve", "read", "pipeline/churn-model-training", project="prod-recommendations").allowed
        assert not client.check("user:eve", "read", "pipeline/other", project="prod-recommendations").allowed

        binding = client.create_role_binding("user:newbie", "project_viewer", project="prod-llms")
        assert binding.revision == 2 and binding.binding.id
        assert binding.binding.scope.workspace_id == "production" and binding.binding.scope.organization_id == "acme"
        assert client.check("user:newbie", "read", "model/m", project="prod-llms").allowed

        batch = client.batch_check([
            check_request("user:newbie", "read", "model/m", project="prod-llms"),
            check_request("user:newbie", "delete", "model/m", project="prod-llms"),
            check_request("user:grace", "delete", "model/m", project="prod-fraud-detection"),
            check_request("user:stranger", "read", "model/m", project="prod-llms"),
        ])
        assert [r.allowed for r in batch.results] == [True, False, True, False]
        assert {r.revision for r in batch.results} == {batch.revision} == {2}

        listed = client.list_allowed("user:eve", "read", "pipeline", project="prod-recommendations")
        assert not listed.full_access and list(listed.ids) == ["churn-model-training"]
        assert client.list_allowed("user:olivia", "read", "pipeline", project="prod-llms").full_access
        projects = client.list_allowed("user:ada", "read", "project", workspace="production")
        assert list(projects.ids) == ["prod-fraud-detection", "prod-recommendations"]

        deleted = client.delete_role_binding(binding.binding.id)
        assert deleted.revision == 3
        assert not client.check("user:newbie", "read", "model/m", project="prod-llms").allowed

    server.stop()
    server.start()
    with server.client() as client:
        again = client.check("user:ada", "update", "pipeline/train", project="staging-recommendations")
        assert again.allowed and again.revision == 3
        assert not client.check("user:newbie", "read", "model/m", project="prod-llms").allowed
        assert client.check("user:eve", "read", "pipeline/churn-model-training", project="prod-recommendations").allowed


def test_explain_names_binding_team_share_and_membership(server):
    with server.client() as client:
        client.import_operations(example.operations())
        through_team = client.check("user:ada", "update", "pipeline/p", project="staging-llms", explain=True)
        e = through_team.explanation
        assert e.rule == e.RULE_ROLE_BINDING and e.via_team == "team:data-science"
        assert e.binding.role == "workspace_developer" and e.binding.scope.workspace_id == "staging"
        assert e.binding.id and "through team:data-science" in e.text
        shared = client.check("user:eve", "read", "pipeline/churn-model-training", project="prod-recommendations",
                              explain=True).explanation
        assert shared.rule == shared.RULE_RESOURCE_SHARE and list(shared.share.actions) == ["read"]
        assert shared.share.scope.project_id == "prod-recommendations"
        member = client.check("user:eve", "read", "project/staging-llms", workspace="staging", explain=True)
        assert member.allowed and member.explanation.rule == member.explanation.RULE_MEMBERSHIP
        assert member.explanation.via_team == "team:contractors"
        denied = client.check("user:eve", "delete", "pipeline/x", project="staging-llms", explain=True)
        assert not denied.allowed and denied.explanation.rule == denied.explanation.RULE_NONE
        assert denied.explanation.text.startswith("denied")
        assert not client.check("user:ada", "read", "model/m", project="prod-llms").HasField("explanation")


def test_list_role_bindings_filters_and_pages(server):
    with server.client() as client:
        client.import_operations(example.operations())
        seen, token = [], ""
        while True:
            page = client._call(client.directory.ListRoleBindings,
                                dir_pb.ListRoleBindingsRequest(page_size=4, page_token=token))
            assert len(page.bindings) <= 4
            seen += [b.id for b in page.bindings]
            token = page.next_page_token
            if not token:
                break
        assert len(seen) == len(set(seen)) == 12 and seen == sorted(seen)
        by_subject = client._call(client.directory.ListRoleBindings,
                                  dir_pb.ListRoleBindingsRequest(subject="team:data-science"))
        assert sorted(b.role for b in by_subject.bindings) == [
            "organization_member", "project_viewer", "project_viewer", "workspace_developer"]
        on_node = client._call(client.directory.ListRoleBindings, dir_pb.ListRoleBindingsRequest(
            subject="team:data-science", scope={"project_id": "prod-recommendations"}))
        assert [(b.role, b.scope.project_id) for b in on_node.bindings] == [("project_viewer", "prod-recommendations")]


def test_health_reflection_and_metrics(server):
    with server.client() as client:
        status = client.health.Check(health_pb2.HealthCheckRequest(service="authz.v1.AuthorizationService"))
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        services = set(ProtoReflectionDescriptorDatabase(client.channel).get_services())
        assert {"authz.v1.AuthorizationService", "authz.v1.DirectoryService", "authz.v1.PolicyService",
                "grpc.health.v1.Health"} <= services
        client.import_operations(example.operations())
        client.check("user:ada", "read", "model/m", project="prod-recommendations")
        client.check("user:ada", "delete", "model/m", project="prod-recommendations")
        client.batch_check([check_request("user:ada", "read", "model/m", project="prod-recommendations")] * 3)
        with pytest.raises(grpc.RpcError):
            client.check("nobody", "read", "model/m", project="prod-recommendations")
        roles = client.list_roles().roles
        assert {r.name: r.level for r in roles}["stack_admin"] == "workspace"
    samples = scrape(server)
    assert samples['authz_checks_total{decision="allowed",method="Check"}'] == 1
    assert samples['authz_checks_total{decision="denied",method="Check"}'] == 1
    assert samples['authz_checks_total{decision="allowed",method="BatchCheck"}'] == 3
    assert samples[f'authz_grpc_requests_total{{code="OK",method="Check",service="{AUTHZ}"}}'] == 2
    assert samples[f'authz_grpc_requests_total{{code="INVALID_ARGUMENT",method="Check",service="{AUTHZ}"}}'] == 1
    assert samples['authz_grpc_request_duration_seconds_count{method="Import",service="authz.v1.DirectoryService"}'] == 1
    assert samples["authz_role_bindings"] == 12 and samples["authz_teams"] == 3
    assert samples['authz_nodes{kind="project"}'] == 6 and samples["authz_resource_shares"] == 1
    assert samples["authz_revision"] == 1 and samples["authz_team_members"] == 6
    assert samples['authz_write_operations_total{operation="create_role_binding"}'] == 12
    assert samples["process_resident_memory_bytes"] > 0
    assert not any("acme" in name or "ada" in name for name in samples)  # labels never carry ids
