"""ZenML's RBAC plug-in: a ZenML server asks the authz sidecar every question its RBAC asks.

    ZENML_SERVER_RBAC_IMPLEMENTATION_SOURCE=authz.integrations.zenml.AuthzRBAC

One ZenML server is one workspace of the hierarchy. ZenML's project-scoped resources are
checked in their project, every other type (and `project/<id>` itself) in the workspace.
Projects become nodes under the workspace the first time the plug-in sees their id.

Settings come from the environment (read once, when ZenML constructs the class):
AUTHZ_ZENML_ADDRESS, AUTHZ_ZENML_TOKEN or AUTHZ_ZENML_TOKEN_FILE (a token with the
`integration` scope), AUTHZ_ZENML_ORGANIZATION_ID, AUTHZ_ZENML_WORKSPACE_ID (all required),
AUTHZ_ZENML_TIMEOUT_SECONDS (default 2), AUTHZ_ZENML_TLS_CA_FILE, AUTHZ_ZENML_TLS_CERT_FILE and
AUTHZ_ZENML_TLS_KEY_FILE.

Fails closed: when the sidecar cannot answer, every method raises `SidecarUnavailable`, a
RuntimeError, which ZenML answers with 500; nothing is cached, so a revocation counts from the
next request. When the sidecar comes back the next request succeeds: a call that finds the
channel UNAVAILABLE builds a fresh channel and tries once more, instead of waiting out gRPC's
reconnect backoff.

Imports only the standard library, grpcio, protobuf and the generated stubs (ZenML's store is
imported lazily, inside the ZenML server, to tell users from service accounts)."""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc

from authz._gen.authz.v1 import authorization_pb2 as authz_pb
from authz._gen.authz.v1 import authorization_pb2_grpc as authz_grpc
from authz._gen.authz.v1 import common_pb2 as common_pb
from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz._gen.authz.v1 import directory_pb2_grpc as dir_grpc

ENV_PREFIX = "AUTHZ_ZENML_"
# The sidecar's documented limits: checks per BatchCheck, resources per DeleteResources.
MAX_BATCH = 1000
MAX_DELETE = 10_000
# ZenML's resource types that live in the workspace rather than in a project
# (zenml.zen_server.rbac.models.ResourceType.is_project_scoped).
WORKSPACE_TYPES = frozenset({
    "flavor", "secret", "service_connector", "stack", "stack_component", "tag", "service_account", "project",
})
# Short reconnect backoff: the channel itself comes back within a fraction of a second too.
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.enable_retries", 0),
)


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message names the variable."""


class SidecarUnavailable(RuntimeError):
    """The sidecar did not answer (or refused the plug-in's token): ZenML answers 500."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.code = code


class ShareNotFound(KeyError):
    """A share named a team (or node) the sidecar does not know: ZenML answers 404."""

    def __str__(self) -> str:  # KeyError quotes its argument
        return str(self.args[0]) if self.args else ""


class ShareRejected(ValueError):
    """The sidecar refused a share as malformed or impossible: ZenML answers 400."""


@dataclass(frozen=True)
class Settings:
    address: str
    token: str
    token_file: str
    organization_id: str
    workspace_id: str
    timeout: float = 2.0
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        def get(name: str) -> str:
            return environ.get(ENV_PREFIX + name, "").strip()

        def required(name: str) -> str:
            value = get(name)
            if not value:
                raise ConfigurationError(f"{ENV_PREFIX}{name} is not set: the authz RBAC plug-in needs it")
            return value

        address = required("ADDRESS")
        token, token_file = get("TOKEN"), get("TOKEN_FILE")
        if not token and not token_file:
            raise ConfigurationError(
                f"{ENV_PREFIX}TOKEN or {ENV_PREFIX}TOKEN_FILE is not set: the authz RBAC plug-in needs a token"
                " with the 'integration' scope"
            )
        if not token:
            token = _read_token(token_file)
        raw_timeout = get("TIMEOUT_SECONDS") or "2"
        try:
            timeout = float(raw_timeout)
        except ValueError:
            timeout = 0.0
        if not timeout > 0:
            raise ConfigurationError(f"{ENV_PREFIX}TIMEOUT_SECONDS must be a positive number, not {raw_timeout!r}")
        cert, key = get("TLS_CERT_FILE"), get("TLS_KEY_FILE")
        if bool(cert) != bool(key):
            raise ConfigurationError(f"{ENV_PREFIX}TLS_CERT_FILE and {ENV_PREFIX}TLS_KEY_FILE go together")
        return cls(address, token, token_file, required("ORGANIZATION_ID"), required("WORKSPACE_ID"), timeout,
                   get("TLS_CA_FILE"), cert, key)


def _read_token(path: str) -> str:
    try:
        token = open(path).read().strip()  # noqa: SIM115 -- read once
    except OSError as error:
        raise ConfigurationError(f"{ENV_PREFIX}TOKEN_FILE {path!r} cannot be read: {error.strerror}") from None
    if not token:
        raise ConfigurationError(f"{ENV_PREFIX}TOKEN_FILE {path!r} is empty")
    return token


def _read(path: str, variable: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ConfigurationError(f"{ENV_PREFIX}{variable} {path!r} cannot be read: {error.strerror}") from None


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str))


def subject_of(user: Any) -> str:
    """ZenML's UserResponse (a user or a service account) as a sidecar subject."""
    kind = "service_account" if getattr(user, "is_service_account", False) else "user"
    return f"{kind}:{user.id}"


def _lookup_user_subject(user_id: str) -> str:
    """`user:<id>` or `service_account:<id>` for a bare id, from ZenML's own store."""
    from zenml.zen_server.utils import zen_store  # only ever called inside the ZenML server

    return subject_of(zen_store().get_user(uuid.UUID(user_id)))


class _Connection:
    """One channel and its stubs; replaced whole when a call finds the sidecar unavailable."""

    def __init__(self, settings: Settings) -> None:
        if settings.tls_ca_file or settings.tls_cert_file:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(settings.tls_ca_file, "TLS_CA_FILE") if settings.tls_ca_file else None,
                private_key=_read(settings.tls_key_file, "TLS_KEY_FILE") if settings.tls_key_file else None,
                certificate_chain=_read(settings.tls_cert_file, "TLS_CERT_FILE") if settings.tls_cert_file else None,
            )
            self.channel = grpc.secure_channel(settings.address, credentials, options=CHANNEL_OPTIONS)
        else:
            self.channel = grpc.insecure_channel(settings.address, options=CHANNEL_OPTIONS)
        self.authorization = authz_grpc.AuthorizationServiceStub(self.channel)
        self.directory = dir_grpc.DirectoryServiceStub(self.channel)


class AuthzRBAC:
    """The plug-in. ZenML constructs it once, with no arguments, and calls it from many threads."""

    def __init__(self, environ: Mapping[str, str] | None = None,
                 user_subject: Callable[[str], str] = _lookup_user_subject) -> None:
        self.settings = Settings.from_env(os.environ if environ is None else environ)
        self._user_subject = user_subject
        self._lock = threading.Lock()
        self._token = self.settings.token
        self._connection = _Connection(self.settings)
        self._projects: set[str] = set()  # project ids the sidecar is known to hold
        self.workspace_scope = common_pb.Scope(
            organization_id=self.settings.organization_id, workspace_id=self.settings.workspace_id
        )

    # ---- ZenML's RBACInterface

    def check_permissions(self, user: Any, resources: Iterable[Any], action: Any) -> dict[Any, bool]:
        wanted = list(resources)
        if not wanted:
            return {}  # ZenML asks this very often while building responses
        self._register_projects(wanted)
        subject, verb = subject_of(user), _value(action)
        answers: dict[Any, bool] = {}
        for start in range(0, len(wanted), MAX_BATCH):
            chunk = wanted[start:start + MAX_BATCH]
            request = authz_pb.BatchCheckRequest(checks=[
                authz_pb.CheckRequest(subject=subject, action=verb, resource=self._resource(r), scope=self._scope(r))
                for r in chunk
            ])
            response = self._call("BatchCheck", request)
            if len(response.results) != len(chunk):
                raise SidecarUnavailable(f"the authz sidecar answered {len(response.results)} checks for {len(chunk)}")
            answers.update((r, result.allowed) for r, result in zip(chunk, response.results, strict=True))
        return answers

    def list_allowed_resource_ids(self, user: Any, resource: Any, action: Any) -> tuple[bool, list[str]]:
        self._register_projects([resource])
        request = authz_pb.ListAllowedResourcesRequest(
            subject=subject_of(user), action=_value(action), resource_type=_value(resource.type),
            scope=self._scope(resource),
        )
        response = self._call("ListAllowedResources", request)
        if response.full_access:
            return True, []
        return False, [str(parsed) for parsed in map(_uuid_or_none, response.ids) if parsed is not None]

    def update_resource_membership(
        self, sharing_user: Any, resource: Any, actions: Iterable[Any],
        user_id: str | None = None, team_id: str | None = None,
    ) -> None:
        if bool(user_id) == bool(team_id):
            raise ValueError("give exactly one of user_id and team_id")
        if resource.id is None:
            raise ValueError(f"only one resource can be shared, not every {_value(resource.type)}")
        subject = f"team:{team_id}" if team_id else self._user_subject(str(user_id))
        self._register_projects([resource])
        request = dir_pb.SetResourceMembershipRequest(
            subject=subject, resource=self._resource(resource), scope=self._scope(resource),
            actions=sorted({_value(a) for a in actions}), on_behalf_of=subject_of(sharing_user),
        )
        try:
            self._call("SetResourceMembership", request)
        except SidecarUnavailable as error:
            if error.code == grpc.StatusCode.NOT_FOUND:
                raise ShareNotFound(str(error)) from error
            if error.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
                raise ShareRejected(str(error)) from error
            raise

    def delete_resources(self, resources: Iterable[Any]) -> None:
        refs, projects, service_accounts = [], [], []
        for resource in resources:
            if resource.id is None:
                continue
            kind = _value(resource.type)
            if kind == "project":
                projects.append(str(resource.id))
            elif kind == "service_account":
                service_accounts.append(str(resource.id))
            refs.append(dir_pb.ResourceRef(resource=self._resource(resource), scope=self._scope(resource)))
        for start in range(0, len(refs), MAX_DELETE):
            self._call("DeleteResources", dir_pb.DeleteResourcesRequest(resources=refs[start:start + MAX_DELETE]))
        for project_id in projects:
            self._call("DeleteProject", dir_pb.DeleteProjectRequest(id=project_id), ok=(grpc.StatusCode.NOT_FOUND,))
            with self._lock:
                self._projects.discard(project_id)
        for account_id in service_accounts:
            self._call("DeleteSubject", dir_pb.DeleteSubjectRequest(subject=f"service_account:{account_id}"))

    # ---- mapping

    def _resource(self, resource: Any) -> common_pb.Resource:
        return common_pb.Resource(type=_value(resource.type), id=str(resource.id) if resource.id else "")

    def _scope(self, resource: Any) -> common_pb.Scope:
        if _value(resource.type) in WORKSPACE_TYPES or not resource.project_id:
            return self.workspace_scope
        return common_pb.Scope(workspace_id=self.settings.workspace_id, project_id=str(resource.project_id))

    def _register_projects(self, resources: Iterable[Any]) -> None:
        """Create the project node of every project id not registered yet (ALREADY_EXISTS is
        success: another ZenML process, or an earlier run, registered it)."""
        seen = set()
        for resource in resources:
            if resource.project_id and _value(resource.type) not in WORKSPACE_TYPES:
                seen.add(str(resource.project_id))
            elif _value(resource.type) == "project" and resource.id:
                seen.add(str(resource.id))
        with self._lock:
            new = seen - self._projects
        for project_id in sorted(new):
            request = dir_pb.CreateProjectRequest(id=project_id, workspace_id=self.settings.workspace_id)
            self._call("CreateProject", request, ok=(grpc.StatusCode.ALREADY_EXISTS,))
            with self._lock:
                self._projects.add(project_id)

    # ---- calls

    def _call(self, method: str, request: Any, ok: tuple[grpc.StatusCode, ...] = ()) -> Any:
        """One RPC. UNAVAILABLE once rebuilds the channel and tries again; UNAUTHENTICATED once
        re-reads a token file (the token may have been rotated). Codes in `ok` answer None."""
        retried_channel = retried_token = False
        while True:
            connection, token = self._connection, self._token
            service = connection.authorization if method in _AUTHORIZATION else connection.directory
            try:
                return getattr(service, method)(
                    request, timeout=self.settings.timeout, metadata=(("authorization", f"Bearer {token}"),)
                )
            except grpc.RpcError as error:
                code = error.code()
                if code in ok:
                    return None
                if code == grpc.StatusCode.UNAVAILABLE and not retried_channel:
                    retried_channel = True
                    self._reconnect(connection)
                    continue
                if code == grpc.StatusCode.UNAUTHENTICATED and not retried_token and self._reread_token(token):
                    retried_token = True
                    continue
                raise SidecarUnavailable(
                    f"the authz sidecar at {self.settings.address} could not answer {method}: "
                    f"{code.name}: {error.details()}", code,
                ) from error

    def _reconnect(self, failed: _Connection) -> None:
        with self._lock:
            if self._connection is failed:  # another thread may have rebuilt it already
                self._connection = _Connection(self.settings)
        # The old channel is left to the garbage collector: closing it would cancel calls other
        # threads still have in flight on it.

    def _reread_token(self, used: str) -> bool:
        if not self.settings.token_file:
            return False
        try:
            token = _read_token(self.settings.token_file)
        except ConfigurationError:
            return False
        with self._lock:
            if token == used:
                return False
            self._token = token
        return True


_AUTHORIZATION = frozenset({"Check", "BatchCheck", "ListAllowedResources"})


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _register_with_zenml() -> None:
    """ZenML accepts the class only as a subclass of its RBACInterface. Declaring it one would
    import ZenML (and SQLAlchemy with it) wherever this module is imported, so the class is
    registered as a virtual subclass instead, when ZenML is already loaded (as inside the
    ZenML server, which imports the interface before it loads the plug-in)."""
    if "zenml" not in sys.modules:
        return
    from zenml.zen_server.rbac.rbac_interface import RBACInterface

    RBACInterface.register(AuthzRBAC)


_register_with_zenml()
