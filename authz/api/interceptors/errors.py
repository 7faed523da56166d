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

from .base import Behavior, StreamBehavior, UnaryInterceptor, Undecodable

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
                await _refuse(method, request, context)
            return await behavior(request, context)

        return decoded

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        async def decoded(request, context):
            if type(request) is Undecodable:
                await _refuse(method, request, context)
            async for response in behavior(request, context):
                yield response

        return decoded


async def _refuse(method: str, request: Undecodable, context) -> None:
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                        f"the request is not a valid {method} message ({request.reason})")


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
            except Exception as error:  # noqa: BLE001 -- the table's code, or INTERNAL with the cause logged
                await _abort(error, method, context, log)

        return mapped

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        log = self.log

        async def mapped(request, context):
            try:
                async for response in behavior(request, context):
                    yield response
            except grpc.aio.AbortError:
                raise
            except Exception as error:  # noqa: BLE001 -- the table's code, or INTERNAL with the cause logged
                await _abort(error, method, context, log)

        return mapped


async def _abort(error: Exception, method: str, context, log: logging.Logger) -> None:
    """End the call with the status of `error`: its code by the table for a domain error, else
    INTERNAL with a generic message, the cause logged with the request id."""
    if isinstance(error, AuthzError):
        await context.abort(status_for(error), capped(error.message))
    request_id = callinfo.request_id.get()
    log.error("%s failed (request id %s)", method, request_id, exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, internal_message(request_id))
