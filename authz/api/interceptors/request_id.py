"""Takes the caller's `x-request-id` metadata (checked like an id) or makes one. The id goes into
the change table and into INTERNAL error messages, so a caller can find the cause in the log."""

from __future__ import annotations

import uuid

from authz.api import callinfo
from authz.domain.validation import ID_PATTERN

from . import Behavior, UnaryInterceptor

HEADER = "x-request-id"


class RequestIdInterceptor(UnaryInterceptor):
    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        async def named(request, context):
            given = ""
            for key, value in context.invocation_metadata() or ():
                if key == HEADER:
                    given = value
                    break
            request_id = given if given and ID_PATTERN.fullmatch(given) else uuid.uuid4().hex
            callinfo.request_id.set(request_id)
            return await behavior(request, context)

        return named
