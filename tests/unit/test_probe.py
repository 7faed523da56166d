"""The database probe alone, against a query that hangs and then returns (it sets this
process's gauges, read back from the registry)."""

from __future__ import annotations

import asyncio
import threading
import time

from prometheus_client import REGISTRY

from authz.service.probe import DatabaseProbe


def test_a_hanging_query_reports_the_database_down_and_is_not_queued_behind():
    """The probe alone (it sets this process's gauges): a query that does not return is the
    database down after the timeout, and later probes wait for that same query."""
    release = threading.Event()
    calls = []

    def stored_revision() -> int:
        calls.append(time.monotonic())
        release.wait(30)
        return 7

    async def scenario() -> None:
        probe = DatabaseProbe(stored_revision, lambda: 5, interval=0.05)
        probe.timeout = 0.2
        try:
            assert await probe.probe() is False
            assert REGISTRY.get_sample_value("authz_database_up") == 0
            assert await probe.probe() is False
            assert len(calls) == 1
            release.set()
            assert await probe.probe() is True
            assert REGISTRY.get_sample_value("authz_database_up") == 1
            assert REGISTRY.get_sample_value("authz_replica_lag_revisions") == 2
        finally:
            release.set()
            probe.close()

    asyncio.run(scenario())
