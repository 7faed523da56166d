"""Counts every unary call by method and status code, and times it."""

from __future__ import annotations

import time

import grpc
import grpc.aio

from authz import metrics

from .base import Behavior, UnaryInterceptor


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
