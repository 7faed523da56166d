"""Turns domain errors into their status codes (authz/api/errors.py) and anything unexpected
into INTERNAL with a generic message, logging the cause with the request id. A request whose
bytes did not decode is INVALID_ARGUMENT. No message exceeds MAX_MESSAGE_CHARS, whatever a
caller sent: a longer one would overflow gRPC's metadata limit (RESOURCE_EXHAUSTED)."""

from __future__ import annotations

import logging

import grpc.aio

from authz.api import callinfo
from authz.api.errors import internal_message, status_for
from authz.domain.errors import AuthzError

from .base import Behavior, UnaryInterceptor, Undecodable

MAX_MESSAGE_CHARS = 2000


def capped(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[:MAX_MESSAGE_CHARS]}... ({len(message) - MAX_MESSAGE_CHARS} more characters)"


class UndecodableInterceptor(UnaryInterceptor):
    """A request whose bytes did not decode is INVALID_ARGUMENT, before any handler sees it
    (and after authentication, so that an unauthenticated caller learns nothing more)."""

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        async def decoded(request, context):
            if type(request) is Undecodable:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"the request is not a valid {method} message ({request.reason})")
            return await behavior(request, context)

        return decoded


class ErrorInterceptor(UnaryInterceptor):
    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self.log = logger

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        log = self.log

        async def mapped(request, context):
            try:
                return await behavior(request, context)
            except grpc.aio.AbortError:
                raise
            except AuthzError as error:
                await context.abort(status_for(error), capped(error.message))
            except Exception:
                request_id = callinfo.request_id.get()
                log.exception("%s failed (request id %s)", method, request_id)
                await context.abort(grpc.StatusCode.INTERNAL, internal_message(request_id))

        return mapped
