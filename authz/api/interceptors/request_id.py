"""Takes the caller's `x-request-id` metadata (checked like an id) or makes one. The id goes into
the change table and into INTERNAL error messages, so a caller can find the cause in the log.

A made id is 32 hex digits: 16 drawn at random when the process starts, then a counter, so
that it is unique without drawing randomness on every call."""

from __future__ import annotations

import itertools
import os

from authz.api import callinfo
from authz.domain.validation import ID_PATTERN

from .base import Behavior, StreamBehavior, UnaryInterceptor

HEADER = "x-request-id"


class RequestIdInterceptor(UnaryInterceptor):
    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(int.from_bytes(os.urandom(4), "big"))

    def new_id(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"

    def name(self, context) -> None:
        """Set the call's request id: the caller's, when it is a valid id, else a new one."""
        given = ""
        for key, value in context.invocation_metadata() or ():
            if key == HEADER:
                given = value
                break
        callinfo.request_id.set(given if given and ID_PATTERN.fullmatch(given) else self.new_id())

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        name = self.name

        async def named(request, context):
            name(context)
            return await behavior(request, context)

        return named

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        name = self.name

        async def named(request, context):
            name(context)
            async for response in behavior(request, context):
                yield response

        return named
