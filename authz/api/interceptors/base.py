"""What the interceptors share: the wrapper type, the Undecodable stand-in, and `Chain`, which
gRPC sees as one interceptor. `Chain` builds the wrapped handler of a method once (each
interceptor's `wrap`, innermost last) and answers every later call of that method with one
dict lookup: a check pays for the wrappers, not for one interceptor round trip each."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import grpc
import grpc.aio

Behavior = Callable[[object, grpc.aio.ServicerContext], Awaitable[object]]
# A server-streaming method's handler: an async generator of its responses.
StreamBehavior = Callable[[object, grpc.aio.ServicerContext], AsyncIterator[object]]
# Server-streaming methods of these services go through every interceptor (others' streams,
# health's Watch and reflection, only through the undecodable check of `_streaming`).
OWN_SERVICES = "/authz.v1."


class Undecodable:
    """Stands for a request message that could not be parsed."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def tolerant(deserialize: Callable[[bytes], object] | None) -> Callable[[bytes], object] | None:
    """`deserialize`, answering an Undecodable instead of raising."""
    if deserialize is None:
        return None

    def decode(data: bytes) -> object:
        try:
            return deserialize(data)
        except Exception as error:  # noqa: BLE001 -- DecodeError, and whatever else parsing raises
            return Undecodable(type(error).__name__)

    return decode


def encoded_or(serialize: Callable[[object], bytes] | None) -> Callable[[object], bytes] | None:
    """`serialize`, passing a response a handler answered already encoded (bytes) as it is:
    BatchCheck writes its common response in the wire format itself (api/batch_wire.py)."""
    if serialize is None:
        return None

    def encode(response: object) -> bytes:
        return response if response.__class__ is bytes else serialize(response)

    return encode


class UnaryInterceptor:
    """Base: subclasses implement `wrap(method, behavior)` for unary methods and
    `wrap_stream(method, behavior)` for server-streaming ones, returning `behavior` itself
    when they have nothing to do for `method`."""

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        raise NotImplementedError

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
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

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        for interceptor in reversed(self.interceptors):
            behavior = interceptor.wrap_stream(method, behavior)
        return behavior

    def handler(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """`handler` of `method` wrapped (once: later calls answer the same object)."""
        cached = self._cache.get(method)
        if cached is not None:
            return cached
        if handler.unary_stream is not None and method.startswith(OWN_SERVICES):
            wrapped = grpc.unary_stream_rpc_method_handler(
                self.wrap_stream(method, handler.unary_stream),
                request_deserializer=tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        elif handler.unary_unary is None:
            wrapped = _streaming(method, handler)
        else:
            wrapped = grpc.unary_unary_rpc_method_handler(
                self.wrap(method, handler.unary_unary),
                request_deserializer=tolerant(handler.request_deserializer),
                response_serializer=encoded_or(handler.response_serializer),
            )
        self._cache[method] = wrapped
        return wrapped

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        return handler if handler is None else self.handler(handler_call_details.method, handler)


class _WrappedGeneric(grpc.GenericRpcHandler):
    def __init__(self, inner: grpc.GenericRpcHandler, chain: Chain) -> None:
        self.inner = inner
        self.chain = chain

    def service(self, handler_call_details):
        handler = self.inner.service(handler_call_details)
        return handler if handler is None else self.chain.handler(handler_call_details.method, handler)


class _Methods(grpc.GenericRpcHandler):
    """Every registered method's wrapped handler by its full name, one dict lookup per call; the
    generic handlers of services that register no methods after it."""

    def __init__(self) -> None:
        self.methods: dict[str, grpc.RpcMethodHandler] = {}
        self.generic: list[grpc.GenericRpcHandler] = []

    def service(self, handler_call_details):
        handler = self.methods.get(handler_call_details.method)
        if handler is not None:
            return handler
        for generic in self.generic:
            handler = generic.service(handler_call_details)
            if handler is not None:
                return handler
        return None


class Registrar:
    """Stands in for the grpc.aio server while services register: each method's handler is
    wrapped by `chain` once, here, and gRPC then calls the wrapper directly. The same wrappers
    as an interceptor, without gRPC's per-call interceptor round trip.

    Every method is served through one generic handler (`_Methods`), none as a method
    registered with gRPC's core: grpc.aio (1.85) waits, on every call, on one pending request
    per registered method (`asyncio.wait` over all of them, about forty here). Measured under
    callgrind: that was 270,000 of the 754,000 instructions an Echo cost the server, against
    481,000 for the bare floor (docs/performance.md)."""

    def __init__(self, server: grpc.aio.Server, chain: Chain) -> None:
        self.server = server
        self.chain = chain
        self._methods = _Methods()
        server.add_generic_rpc_handlers((self._methods,))

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._methods.generic.extend(_WrappedGeneric(handler, self.chain) for handler in handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        for name, handler in handlers.items():
            method = f"/{service}/{name}"
            self._methods.methods[method] = self.chain.handler(method, handler)

    def method_handler(self, method: str) -> grpc.RpcMethodHandler | None:
        """The wrapped handler gRPC calls for `method` (a full name), as registered."""
        return self._methods.methods.get(method)


def _streaming(method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A streaming handler (health's Watch, reflection) that answers undecodable requests
    INVALID_ARGUMENT instead of UNKNOWN with a traceback. No other interceptor applies."""
    message = f"the request is not a valid {method} message"

    async def checked(request, context) -> None:
        if type(request) is Undecodable:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{message} ({request.reason})")

    async def relay(result):
        if hasattr(result, "__aiter__"):
            async for response in result:
                yield response
        else:
            await result

    if handler.unary_stream is not None:
        behavior = handler.unary_stream

        async def unary_stream(request, context):
            await checked(request, context)
            async for response in relay(behavior(request, context)):
                yield response

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, tolerant(handler.request_deserializer), handler.response_serializer)
    streaming = handler.stream_stream or handler.stream_unary
    if streaming is None:
        return handler

    async def requests(iterator, context):
        async for request in iterator:
            await checked(request, context)
            yield request

    if handler.stream_stream is not None:
        async def stream_stream(iterator, context):
            async for response in relay(streaming(requests(iterator, context), context)):
                yield response

        return grpc.stream_stream_rpc_method_handler(
            stream_stream, tolerant(handler.request_deserializer), handler.response_serializer)

    async def stream_unary(iterator, context):
        return await streaming(requests(iterator, context), context)

    return grpc.stream_unary_rpc_method_handler(
        stream_unary, tolerant(handler.request_deserializer), handler.response_serializer)
