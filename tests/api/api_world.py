"""A small world written through Import, and helpers for calls that must fail."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from authz._gen.authz.v1 import common_pb2 as common
from authz._gen.authz.v1 import directory_pb2 as directory

POLICIES = Path(__file__).resolve().parents[2] / "policies"
ADMIN_TOKEN = "admin-token-for-tests"
CHECK_TOKEN = "check-token-for-tests"
ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
CHECKER = (("authorization", f"Bearer {CHECK_TOKEN}"),)


def scope(project: str = "", workspace: str = "", organization: str = "") -> common.Scope:
    return common.Scope(organization_id=organization, workspace_id=workspace, project_id=project)


def operation(**one) -> directory.Operation:
    return directory.Operation(**one)


WORLD = [
    operation(create_organization=directory.CreateOrganizationRequest(id="o1", display_name="One")),
    operation(create_workspace=directory.CreateWorkspaceRequest(id="w1", organization_id="o1")),
    operation(create_project=directory.CreateProjectRequest(id="p1", workspace_id="w1")),
    operation(create_project=directory.CreateProjectRequest(id="p2", workspace_id="w1")),
    operation(create_team=directory.CreateTeamRequest(id="t1", organization_id="o1")),
    operation(add_team_member=directory.AddTeamMemberRequest(team_id="t1", subject="user:tim")),
    operation(create_role_binding=directory.CreateRoleBindingRequest(subject="user:ada", role="project_viewer",
                                                                     scope=scope("p1"))),
    operation(create_role_binding=directory.CreateRoleBindingRequest(subject="team:t1", role="workspace_viewer",
                                                                     scope=scope(workspace="w1"))),
    operation(set_resource_membership=directory.SetResourceMembershipRequest(
        subject="user:bob", resource=common.Resource(type="pipeline", id="etl"), scope=scope("p2"),
        actions=["read"])),
]


def build(server) -> directory.ImportResponse:
    """The world, in one Import at revision 1."""
    return server.stub("directory").Import(directory.ImportRequest(operations=WORLD), metadata=ADMIN)


def fails(call, request, code: grpc.StatusCode, metadata=ADMIN, **options) -> str:
    """The details of the error `call(request)` answers, having checked its status code."""
    with pytest.raises(grpc.RpcError) as raised:
        call(request, metadata=metadata, **options)
    assert raised.value.code() == code, raised.value.details()
    return raised.value.details()
