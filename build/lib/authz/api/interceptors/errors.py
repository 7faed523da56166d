"""Turns domain errors into their status codes (authz/api/errors.py) and anything unexpected
into INTERNAL with a generic message, logging the cause with the request id."""

from __future__ import annotations

import logging

import grpc.aio

from authz.api import callinfo
from authz.api.errors import internal_message, status_for
from authz.domain.errors import AuthzError

from . import Behavior, UnaryInterceptor


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
                await context.abort(status_for(error), error.message)
            except Exception:
                request_id = callinfo.request_id.get()
                log.exception("%s failed (request id %s)", method, request_id)
                await context.abort(grpc.StatusCode.INTERNAL, internal_message(request_id))

        return mapped
