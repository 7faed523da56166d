"""Typed errors. The API maps each class to one gRPC status code (authz/api/errors.py)."""

from __future__ import annotations


class AuthzError(Exception):
    """An error a caller can act on: `field` names the input at fault, `reason` says why."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field

    @property
    def message(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason

    def under(self, prefix: str) -> AuthzError:
        """The same error with its field placed under `prefix` (e.g. "operations[3].create_team")."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return type(self)(self.reason, field)

    def __str__(self) -> str:
        return self.message


class InvalidArgument(AuthzError):
    """Malformed input."""


class NotFound(AuthzError):
    """A node, team, binding or member that the request names does not exist."""


class AlreadyExists(AuthzError):
    """The thing to create exists already."""


class FailedPrecondition(AuthzError):
    """Well-formed, but not allowed in the current state: a level or organization mismatch."""


class PermissionDenied(AuthzError):
    """The actor named in the request may not do what it asked."""


class Unauthenticated(AuthzError):
    """Missing or wrong token."""


class RevisionNotReached(AuthzError):
    """`at_least_revision` was not reached before the deadline."""


class ConcurrentWrite(AuthzError):
    """Another process advanced the revision under us; the write was not applied."""


class PolicyError(AuthzError):
    """The policy files cannot be loaded."""


class Unavailable(AuthzError):
    """The server is starting or stopping."""


class StaleListing(AuthzError):
    """A page token from an earlier revision: the listing must start again."""


class ConfigError(AuthzError):
    """A setting, a file it names or the environment keeps a command from running. The message
    names the setting and says what to do; the command line prints it as one line, exit 2."""
