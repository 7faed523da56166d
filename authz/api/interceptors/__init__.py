"""Server interceptors, one per module; `chain()` assembles them in their one order:

1. metrics    - outermost, so that rejected calls are counted and timed too;
2. request_id - names the call for logs and the change table;
3. auth       - bearer tokens;
4. errors     - domain errors to status codes, anything else to INTERNAL.

Each wraps unary-unary handlers only, and builds its wrapper once per method."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
import grpc.aio

Behavior = Callable[[object, grpc.aio.ServicerContext], Awaitable[object]]


class UnaryInterceptor(grpc.aio.ServerInterceptor):
    """Base: subclasses implement `wrap(method, behavior)`."""

    def __init__(self) -> None:
        self._cache: dict[str, grpc.RpcMethodHandler] = {}

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        raise NotImplementedError

    async def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        cached = self._cache.get(method)
        if cached is not None:
            return cached
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        wrapped = grpc.unary_unary_rpc_method_handler(
            self.wrap(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._cache[method] = wrapped
        return wrapped


def chain(tokens, logger) -> list[grpc.aio.ServerInterceptor]:
    from .auth import AuthInterceptor
    from .errors import ErrorInterceptor
    from .metrics import MetricsInterceptor
    from .request_id import RequestIdInterceptor

    return [MetricsInterceptor(), RequestIdInterceptor(), AuthInterceptor(tokens), ErrorInterceptor(logger)]
