"""The floor under every figure of bench.py: a bare grpc.aio server that answers each unary call
with an empty message. One generic handler, no interceptors, no servicer, no decoding: what gRPC
in Python costs for one call, measured with the same client and channel settings as the real
server's calls (bench.py runs it beside `authz serve` and alternates the two).

    .venv/bin/python benchmarks/bare_server.py      # prints "bare listening on 127.0.0.1:PORT"
"""

from __future__ import annotations

import asyncio

import grpc
import grpc.aio


async def _empty(request: bytes, context) -> bytes:
    return b""


class _AnyMethod(grpc.GenericRpcHandler):
    def __init__(self) -> None:
        self.handler = grpc.unary_unary_rpc_method_handler(_empty)

    def service(self, handler_call_details):
        return self.handler


async def serve() -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_AnyMethod(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"bare listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve())
