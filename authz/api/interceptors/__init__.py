"""Server interceptors, one per module; `chain()` assembles them in their one order:

1. metrics     - outermost, so that rejected calls are counted and timed too;
2. request_id  - names the call for logs and the change table;
3. errors      - domain errors (the auth interceptor's too) to status codes by the one error
                 table (authz/api/errors.py), anything else to INTERNAL;
4. auth        - bearer tokens: raises Unauthenticated or PermissionDenied;
5. undecodable - a request whose bytes do not decode is INVALID_ARGUMENT.

Each wraps unary-unary handlers (`wrap`) and the server-streaming handlers of authz's own
services (`wrap_stream`: ChangeService.WatchChanges); other streams (health's Watch,
reflection) get only the undecodable check. A request whose bytes do not decode reaches them as an
`Undecodable` (gRPC would otherwise answer UNKNOWN and log a traceback before any interceptor
saw the call); metrics count it. The pieces they share are in base.py.

The server applies them at registration (`registrar`): each method's handler is wrapped once
and gRPC calls the wrapper directly, with no interceptor of its own per call."""

from __future__ import annotations

import logging

import grpc.aio

from .auth import AuthInterceptor, Tokens
from .base import Chain, Registrar
from .errors import ErrorInterceptor, UndecodableInterceptor
from .metrics import MetricsInterceptor
from .request_id import RequestIdInterceptor


def assembled(tokens: Tokens, logger: logging.Logger) -> Chain:
    return Chain([MetricsInterceptor(), RequestIdInterceptor(), ErrorInterceptor(logger), AuthInterceptor(tokens),
                  UndecodableInterceptor()])


def chain(tokens: Tokens, logger: logging.Logger) -> list[grpc.aio.ServerInterceptor]:
    """The interceptors as gRPC server interceptors (for a server whose services register
    directly)."""
    return [assembled(tokens, logger)]


def registrar(server: grpc.aio.Server, tokens: Tokens, logger: logging.Logger) -> Registrar:
    """What services register with instead of `server`: they are wrapped as they register."""
    return Registrar(server, assembled(tokens, logger))
