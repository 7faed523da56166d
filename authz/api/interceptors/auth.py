"""Bearer tokens and their scopes.

Every token has a name (written to the change table with each write it makes) and a scope:
- `check`: AuthorizationService and DiagnosticsService.Echo (the floor checks are measured against);
- `integration`: those, plus the DirectoryService calls a workspace server makes
  (INTEGRATION_METHODS);
- `audit`: the checks, plus ChangeService (AUDIT_PREFIXES: the change table, who wrote what);
  not the integration's writes;
- `admin`: everything, and alone ListSubjects (ADMIN_METHODS: it says who has access).
The token of AUTHZ_ADMIN_TOKEN / --admin-token-file is named `admin` with scope admin, the one
of --check-token-file `check` with scope check; a tokens file (--tokens-file) adds named tokens.
Checks are open while neither --check-token-file nor a tokens file is configured. Health,
reflection, ListRoles and GetPolicy are open. A missing or unknown token is UNAUTHENTICATED; a
known token outside its scope is PERMISSION_DENIED, naming the scope it lacks: typed errors
(domain.Unauthenticated, PermissionDenied), which the errors interceptor maps by the one table."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from authz import token_file
from authz.api import callinfo
from authz.domain.errors import PermissionDenied, Unauthenticated
from authz.token_file import ADMIN, AUDIT, CHECK, INTEGRATION, TokenFile

from .base import Behavior, StreamBehavior, UnaryInterceptor

CHECK_PREFIXES = ("/authz.v1.AuthorizationService/", "/authz.v1.DiagnosticsService/")
ADMIN_PREFIXES = ("/authz.v1.DirectoryService/", "/authz.v1.PolicyService/")
AUDIT_PREFIXES = ("/authz.v1.ChangeService/",)
INTEGRATION_METHODS = frozenset(
    f"/authz.v1.DirectoryService/{name}"
    for name in (
        "SetResourceMembership", "ListResourceShares", "CreateProject", "DeleteProject", "DeleteResources",
        "DeleteSubject",
    )
)
# AuthorizationService methods that reveal who has access: a check token is not enough.
ADMIN_METHODS = frozenset({"/authz.v1.AuthorizationService/ListSubjects"})
# PolicyService methods that only read.
OPEN_METHODS = {"/authz.v1.PolicyService/ListRoles", "/authz.v1.PolicyService/GetPolicy"}


@dataclass(frozen=True)
class Tokens:
    admin: str
    check: str | None = None
    file: TokenFile | None = None

    @property
    def checks_open(self) -> bool:
        return self.check is None and self.file is None

    def identify(self, presented: str) -> tuple[str, str] | None:
        """(name, scope) of the presented token, or None when it is unknown."""
        if not presented:
            return None
        found: tuple[str, str] | None = None
        if hmac.compare_digest(presented.encode(), self.admin.encode()):
            found = (ADMIN, ADMIN)
        if self.check and hmac.compare_digest(presented.encode(), self.check.encode()):
            found = found or (CHECK, CHECK)
        if self.file is not None:
            entry = self.file.find(token_file.digest(presented))
            if entry is not None:
                found = found or (entry.name, entry.scope)
        return found

    def name_of(self, presented: str) -> str | None:
        identified = self.identify(presented)
        return identified[0] if identified else None


def _bearer(context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


def scope_needed(method: str, checks_open: bool) -> str | None:
    """The least scope that may call `method`; None when the method is open."""
    if method in ADMIN_METHODS:
        return ADMIN
    if method in INTEGRATION_METHODS:
        return INTEGRATION
    if method in OPEN_METHODS:
        return None
    if method.startswith(ADMIN_PREFIXES):
        return ADMIN
    if method.startswith(AUDIT_PREFIXES):
        return AUDIT
    if method.startswith(CHECK_PREFIXES):
        return None if checks_open else CHECK
    return None


class AuthInterceptor(UnaryInterceptor):
    def __init__(self, tokens: Tokens) -> None:
        super().__init__()
        self.tokens = tokens

    def admission(self, method: str) -> Callable[[object], None] | None:
        """What admits a call of `method` (raising Unauthenticated or PermissionDenied, else
        naming the caller); None when the method is open."""
        needed = scope_needed(method, self.tokens.checks_open)
        if needed is None:
            return None
        tokens = self.tokens
        wanted = "the admin token" if needed == ADMIN else f"a token with scope {needed!r} (or the admin token)"

        def admit(context) -> None:
            identified = tokens.identify(_bearer(context))
            if identified is None:
                raise Unauthenticated(f"{method} needs {wanted} as 'authorization: Bearer <token>' metadata")
            name, scope = identified
            if not token_file.includes(scope, needed):
                raise PermissionDenied(f"{method} needs scope {needed!r}; token {name!r} has scope {scope!r}")
            callinfo.caller.set(name)

        return admit

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        admit = self.admission(method)
        if admit is None:
            return behavior

        async def authenticated(request, context):
            admit(context)
            return await behavior(request, context)

        return authenticated

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        admit = self.admission(method)
        if admit is None:
            return behavior

        async def authenticated(request, context):
            admit(context)
            async for response in behavior(request, context):
                yield response

        return authenticated
