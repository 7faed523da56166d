"""The error table: each domain error class maps to one gRPC status code. Anything else is
INTERNAL with a generic message; the cause goes to the log, never to the caller."""

from __future__ import annotations

import grpc

from authz.domain import errors

STATUS_OF: dict[type[errors.AuthzError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.RevisionNotReached: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.ConcurrentWrite: grpc.StatusCode.ABORTED,
    errors.PolicyError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def status_for(error: errors.AuthzError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return grpc.StatusCode.INTERNAL


def internal_message(request_id: str) -> str:
    return f"internal error (request id {request_id}); the server log has the cause"
