"""Counts every unary call by method and status code, and times it (metrics.CALLS: plain numbers
bound to the method once, here, so a call pays no label lookup and no lock)."""

from __future__ import annotations

import time

import grpc
import grpc.aio

from authz import metrics

from .base import Behavior, UnaryInterceptor


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
