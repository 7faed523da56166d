"""Counts every call by method and status code, and times unary ones (metrics.CALLS: plain
numbers bound to the method once, here, so a call pays no label lookup and no lock). A stream
(WatchChanges) is counted when it ends, with the code it ended with, and not timed: it lasts as
long as its client follows, which would say nothing about the server in a latency histogram."""

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
        calls = metrics.CALLS.method(service, name)
        observe = calls.observe
        clock = time.perf_counter

        async def measured(request, context):
            start = clock()
            try:
                response = await behavior(request, context)
            except BaseException:
                code = context.code()
                calls.failed(code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN")
                raise
            finally:
                observe(clock() - start)
            calls.ok += 1
            return response

        return measured

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        service, _, name = method.lstrip("/").rpartition("/")
        calls = metrics.CALLS.method(service, name)

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
                if code == "OK":
                    calls.ok += 1
                else:
                    calls.failed(code)

        return counted
