"""A small synchronous Python client, used by the CLI and the tests.

    with Client("127.0.0.1:50051", token=admin_token) as client:
        client.create_organization("acme")
        client.check("user:ada", "read", "pipeline/p1", project="recommendations").allowed
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from authz._gen.authz.v1 import authorization_pb2 as authz_pb
from authz._gen.authz.v1 import authorization_pb2_grpc as authz_grpc
from authz._gen.authz.v1 import changes_pb2 as changes_pb
from authz._gen.authz.v1 import changes_pb2_grpc as changes_grpc
from authz._gen.authz.v1 import common_pb2 as common_pb
from authz._gen.authz.v1 import diagnostics_pb2 as diag_pb
from authz._gen.authz.v1 import diagnostics_pb2_grpc as diag_grpc
from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz._gen.authz.v1 import directory_pb2_grpc as dir_grpc
from authz._gen.authz.v1 import policy_pb2 as policy_pb
from authz._gen.authz.v1 import policy_pb2_grpc as policy_grpc
from authz.api.convert import operation_to_proto
from authz.domain import operations as ops
from authz.domain.model import Resource


def parse_resource(text: str) -> common_pb.Resource:
    """"type" or "type/id" (ZenML's form without the project prefix)."""
    resource = Resource.parse(text)
    return common_pb.Resource(type=resource.type, id=resource.id)


def scope(project: str = "", workspace: str = "", organization: str = "") -> common_pb.Scope:
    return common_pb.Scope(organization_id=organization, workspace_id=workspace, project_id=project)


def check_request(
    subject: str, action: str, resource: str, *, project: str = "", workspace: str = "", organization: str = "",
    explain: bool = False, at_least_revision: int = 0, fully_consistent: bool = False,
) -> authz_pb.CheckRequest:
    return authz_pb.CheckRequest(
        subject=subject, action=action, resource=parse_resource(resource),
        scope=scope(project, workspace, organization), explain=explain, at_least_revision=at_least_revision,
        fully_consistent=fully_consistent,
    )


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


class Client:
    def __init__(
        self, address: str = "127.0.0.1:50051", token: str | None = None, *, tls_ca_file: str | None = None,
        client_cert_file: str | None = None, client_key_file: str | None = None, timeout: float = 30.0,
    ) -> None:
        """TLS when `tls_ca_file` is given (the CA that signed the server's certificate); with
        `client_cert_file` and `client_key_file`, the client presents that certificate (mTLS)."""
        if tls_ca_file:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(tls_ca_file),
                private_key=_read(client_key_file) if client_key_file else None,
                certificate_chain=_read(client_cert_file) if client_cert_file else None,
            )
            self.channel = grpc.secure_channel(address, credentials)
        else:
            self.channel = grpc.insecure_channel(address)
        self.timeout = timeout
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.authorization = authz_grpc.AuthorizationServiceStub(self.channel)
        self.directory = dir_grpc.DirectoryServiceStub(self.channel)
        self.policy = policy_grpc.PolicyServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        self.diagnostics = diag_grpc.DiagnosticsServiceStub(self.channel)
        self.changes = changes_grpc.ChangeServiceStub(self.channel)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def _call(self, method, request):
        return method(request, timeout=self.timeout, metadata=self.metadata)

    def wait_until_serving(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = self.health.Check(health_pb2.HealthCheckRequest(), timeout=1.0).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not report SERVING in time")
            time.sleep(0.05)

    def describe_replica(self) -> diag_pb.DescribeReplicaResponse:
        """This replica's revision, index digest and process id."""
        return self._call(self.diagnostics.DescribeReplica, diag_pb.DescribeReplicaRequest())

    # ---- decisions

    def check(self, subject: str, action: str, resource: str, **where) -> authz_pb.CheckResponse:
        return self._call(self.authorization.Check, check_request(subject, action, resource, **where))

    def batch_check(self, checks: Iterable[authz_pb.CheckRequest]) -> authz_pb.BatchCheckResponse:
        return self._call(self.authorization.BatchCheck, authz_pb.BatchCheckRequest(checks=list(checks)))

    def list_allowed(
        self, subject: str, action: str, resource_type: str, *, project: str = "", workspace: str = "",
        organization: str = "", at_least_revision: int = 0, fully_consistent: bool = False,
    ) -> authz_pb.ListAllowedResourcesResponse:
        request = authz_pb.ListAllowedResourcesRequest(
            subject=subject, action=action, resource_type=resource_type,
            scope=scope(project, workspace, organization), at_least_revision=at_least_revision,
            fully_consistent=fully_consistent,
        )
        return self._call(self.authorization.ListAllowedResources, request)

    # ---- writes

    def create_organization(self, id: str, display_name: str = "") -> dir_pb.WriteResponse:
        return self._call(self.directory.CreateOrganization, dir_pb.CreateOrganizationRequest(
            id=id, display_name=display_name))

    def create_workspace(self, id: str, organization_id: str, display_name: str = "") -> dir_pb.WriteResponse:
        return self._call(self.directory.CreateWorkspace, dir_pb.CreateWorkspaceRequest(
            id=id, organization_id=organization_id, display_name=display_name))

    def create_project(self, id: str, workspace_id: str, display_name: str = "") -> dir_pb.WriteResponse:
        return self._call(self.directory.CreateProject, dir_pb.CreateProjectRequest(
            id=id, workspace_id=workspace_id, display_name=display_name))

    def create_team(self, id: str, organization_id: str, display_name: str = "") -> dir_pb.WriteResponse:
        return self._call(self.directory.CreateTeam, dir_pb.CreateTeamRequest(
            id=id, organization_id=organization_id, display_name=display_name))

    def add_team_member(self, team_id: str, subject: str) -> dir_pb.WriteResponse:
        return self._call(self.directory.AddTeamMember, dir_pb.AddTeamMemberRequest(team_id=team_id, subject=subject))

    def create_role_binding(self, subject: str, role: str, **where) -> dir_pb.CreateRoleBindingResponse:
        request = dir_pb.CreateRoleBindingRequest(subject=subject, role=role, scope=scope(**where))
        return self._call(self.directory.CreateRoleBinding, request)

    def delete_role_binding(self, id: str) -> dir_pb.WriteResponse:
        return self._call(self.directory.DeleteRoleBinding, dir_pb.DeleteRoleBindingRequest(id=id))

    def list_role_bindings(
        self, *, subject: str = "", page_size: int = 0, page_token: str = "", **where
    ) -> dir_pb.ListRoleBindingsResponse:
        """One page of bindings of `subject` and/or on exactly the node `where` names."""
        request = dir_pb.ListRoleBindingsRequest(subject=subject, page_size=page_size, page_token=page_token)
        if any(where.values()):
            request.scope.CopyFrom(scope(**where))
        return self._call(self.directory.ListRoleBindings, request)

    def set_resource_membership(
        self, subject: str, resource: str, actions: Sequence[str], *, actor: str = "", on_behalf_of: str = "",
        **where,
    ) -> dir_pb.WriteResponse:
        request = dir_pb.SetResourceMembershipRequest(
            subject=subject, resource=parse_resource(resource), scope=scope(**where), actions=list(actions),
            actor=actor, on_behalf_of=on_behalf_of,
        )
        return self._call(self.directory.SetResourceMembership, request)

    def list_resource_shares(
        self, *, resource: str = "", subject: str = "", page_size: int = 0, page_token: str = "", **where
    ) -> dir_pb.ListResourceSharesResponse:
        """One page of the stored shares; `where` (project=, workspace=, organization=) names a node."""
        request = dir_pb.ListResourceSharesRequest(subject=subject, page_size=page_size, page_token=page_token)
        if resource:
            request.resource.CopyFrom(parse_resource(resource))
        if any(where.values()):
            request.scope.CopyFrom(scope(**where))
        return self._call(self.directory.ListResourceShares, request)

    def all_resource_shares(self, **filters) -> list:
        """Every share matching `filters` (as list_resource_shares), following the pages."""
        shares, token = [], ""
        while True:
            page = self.list_resource_shares(page_token=token, **filters)
            shares.extend(page.shares)
            token = page.next_page_token
            if not token:
                return shares

    def import_operations(self, operations: Sequence[ops.Operation]) -> dir_pb.ImportResponse:
        request = dir_pb.ImportRequest(operations=[operation_to_proto(op) for op in operations])
        return self._call(self.directory.Import, request)

    def reload_policy(self, force: bool = False) -> policy_pb.ReloadResponse:
        """PolicyService.Reload: the server re-reads its policy directory (admin token)."""
        return self._call(self.policy.Reload, policy_pb.ReloadRequest(force=force))

    def start_shadow(self, candidate_directory: str, sample_rate: float = 1.0) -> policy_pb.StartShadowResponse:
        """PolicyService.StartShadow: decide sampled traffic under a candidate too (admin token)."""
        return self._call(self.policy.StartShadow, policy_pb.StartShadowRequest(
            candidate_directory=candidate_directory, sample_rate=sample_rate))

    def stop_shadow(self) -> policy_pb.ShadowReport:
        return self._call(self.policy.StopShadow, policy_pb.StopShadowRequest())

    def shadow_report(self, max_examples: int = 20) -> policy_pb.ShadowReport:
        return self._call(self.policy.GetShadowReport, policy_pb.GetShadowReportRequest(max_examples=max_examples))

    def list_roles(self) -> policy_pb.ListRolesResponse:
        return self._call(self.policy.ListRoles, policy_pb.ListRolesRequest())

    # ---- who has access

    def list_subjects(
        self, action: str, resource: str, *, project: str = "", workspace: str = "", organization: str = "",
        page_size: int = 0, page_token: str = "", at_least_revision: int = 0,
    ) -> authz_pb.ListSubjectsResponse:
        request = authz_pb.ListSubjectsRequest(
            action=action, resource=parse_resource(resource), scope=scope(project, workspace, organization),
            page_size=page_size, page_token=page_token, at_least_revision=at_least_revision,
        )
        return self._call(self.authorization.ListSubjects, request)

    def list_subject_access(
        self, subject: str = "", *, organization: str = "", page_size: int = 0, page_token: str = "",
        at_least_revision: int = 0,
    ) -> dir_pb.ListSubjectAccessResponse:
        request = dir_pb.ListSubjectAccessRequest(
            subject=subject, organization_id=organization, page_size=page_size, page_token=page_token,
            at_least_revision=at_least_revision,
        )
        return self._call(self.directory.ListSubjectAccess, request)

    # ---- the change table (admin token, or scope audit)

    def watch_changes(self, after_revision: int = 0, timeout: float | None = None):
        """ChangeService.WatchChanges: an iterator of every Change after `after_revision`, then
        of each new one as it commits; it ends only with an error (UNAVAILABLE when the server
        stops: call again with the last revision received) or when cancelled (`.cancel()`,
        which it has, being the gRPC call itself). No deadline unless `timeout`."""
        request = changes_pb.WatchChangesRequest(after_revision=after_revision)
        return self.changes.WatchChanges(request, timeout=timeout, metadata=self.metadata)

    def list_changes(
        self, *, after_revision: int = 0, page_size: int = 0, page_token: str = "", subject: str = "",
        token_name: str = "", **where,
    ) -> changes_pb.ListChangesResponse:
        """One page of the changes after `after_revision`: of `subject`, on or below the node
        `where` names (project=, workspace=, organization=), written by token `token_name`."""
        request = changes_pb.ListChangesRequest(after_revision=after_revision, page_size=page_size,
                                                page_token=page_token, subject=subject, token_name=token_name)
        if any(where.values()):
            request.scope.CopyFrom(scope(**where))
        return self._call(self.changes.ListChanges, request)
