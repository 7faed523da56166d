"""Counts every call by method and status code, and times unary ones. A stream (WatchChanges)
is counted when it ends, with the code it ended with, and not timed: it lasts as long as its
client follows, which would say nothing about the server in a latency histogram."""

from __future__ import annotations

import asyncio
import time

import grpc
import grpc.aio

from authz import metrics

from .base import Behavior, StreamBehavior, UnaryInterceptor


class MetricsInterceptor(UnaryInterceptor):
    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        service, _, name = method.lstrip("/").rpartition("/")
        observe = metrics.GRPC_DURATION.labels(service, name).observe
        ok = metrics.GRPC_REQUESTS.labels(service, name, "OK")
        requests = metrics.GRPC_REQUESTS

        async def measured(request, context):
            start = time.perf_counter()
            try:
                response = await behavior(request, context)
            except BaseException:
                code = context.code()
                requests.labels(service, name, code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN").inc()
                raise
            finally:
                observe(time.perf_counter() - start)
            ok.inc()
            return response

        return measured

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        service, _, name = method.lstrip("/").rpartition("/")
        requests = metrics.GRPC_REQUESTS

        async def counted(request, context):
            code = "OK"
            try:
                async for response in behavior(request, context):
                    yield response
            except BaseException as error:
                found = context.code()
                if isinstance(found, grpc.StatusCode):
                    code = found.name
                else:
                    code = "CANCELLED" if isinstance(error, (asyncio.CancelledError, GeneratorExit)) else "UNKNOWN"
                raise
            finally:
                requests.labels(service, name, code).inc()

        return counted
