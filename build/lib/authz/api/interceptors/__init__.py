"""Server interceptors, one per module; `chain()` assembles them in their one order:

1. metrics    - outermost, so that rejected calls are counted and timed too;
2. request_id - names the call for logs and the change table;
3. auth       - bearer tokens;
4. errors     - domain errors to status codes, anything else to INTERNAL.

Each wraps unary-unary handlers only. gRPC sees them as one interceptor, `Chain`, which builds
the wrapped handler of a method once (each interceptor's `wrap`, innermost last) and answers
every later call of that method with one dict lookup: a check pays for the wrappers, not for
four interceptor round trips."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import grpc
import grpc.aio

Behavior = Callable[[object, grpc.aio.ServicerContext], Awaitable[object]]


class UnaryInterceptor:
    """Base: subclasses implement `wrap(method, behavior)`, returning `behavior` itself when
    they have nothing to do for `method`."""

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        raise NotImplementedError


class Chain(grpc.aio.ServerInterceptor):
    """The interceptors, outermost first, as one gRPC interceptor."""

    def __init__(self, interceptors: Sequence[UnaryInterceptor]) -> None:
        self.interceptors = tuple(interceptors)
        self._cache: dict[str, grpc.RpcMethodHandler] = {}

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        for interceptor in reversed(self.interceptors):
            behavior = interceptor.wrap(method, behavior)
        return behavior

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

    return [Chain([MetricsInterceptor(), RequestIdInterceptor(), AuthInterceptor(tokens), ErrorInterceptor(logger)])]
