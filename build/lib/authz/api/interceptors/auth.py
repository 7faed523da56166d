"""Bearer tokens. DirectoryService and the state-changing PolicyService methods need the admin
token; AuthorizationService and DiagnosticsService (its Echo is the floor checks are measured
against) need the check token when one is configured (the admin token also passes). Health and
reflection are open."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import grpc

from authz.api import callinfo

from . import Behavior, UnaryInterceptor

ADMIN = "admin"
CHECK = "check"
ADMIN_PREFIXES = ("/authz.v1.DirectoryService/",)
CHECK_PREFIXES = ("/authz.v1.AuthorizationService/", "/authz.v1.DiagnosticsService/")
# PolicyService methods that only read.
OPEN_METHODS = {"/authz.v1.PolicyService/ListRoles", "/authz.v1.PolicyService/GetPolicy"}


@dataclass(frozen=True)
class Tokens:
    admin: str
    check: str | None = None

    def name_of(self, presented: str) -> str | None:
        if presented and hmac.compare_digest(presented.encode(), self.admin.encode()):
            return ADMIN
        if self.check and presented and hmac.compare_digest(presented.encode(), self.check.encode()):
            return CHECK
        return None


def _bearer(context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


class AuthInterceptor(UnaryInterceptor):
    def __init__(self, tokens: Tokens) -> None:
        super().__init__()
        self.tokens = tokens

    def required(self, method: str) -> tuple[str, ...]:
        """Token names accepted for `method`; empty when the method is open."""
        if method.startswith(ADMIN_PREFIXES):
            return (ADMIN,)
        if method.startswith("/authz.v1.PolicyService/") and method not in OPEN_METHODS:
            return (ADMIN,)
        if method.startswith(CHECK_PREFIXES) and self.tokens.check:
            return (ADMIN, CHECK)
        return ()

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        accepted = self.required(method)
        if not accepted:
            return behavior
        tokens = self.tokens
        need = "the admin token" if accepted == (ADMIN,) else "the check or admin token"

        async def authenticated(request, context):
            name = tokens.name_of(_bearer(context))
            if name not in accepted:
                await context.abort(
                    grpc.StatusCode.UNAUTHENTICATED,
                    f"{method} needs {need} as 'authorization: Bearer <token>' metadata",
                )
            callinfo.caller.set(name)
            return await behavior(request, context)

        return authenticated
