"""The database probe: every `database_probe_seconds`, one cheap query (the revision counter)
on a thread of its own, off the event loop. It sets authz_database_up, when the database last
answered, and how many revisions the index is behind the database (authz_replica_lag_revisions).

Checks never wait for it: they are answered from the index whether the database answers or
not. A query that hangs is not queued behind: later probes wait for the same one and report
the database down until it returns."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from authz import metrics

log = logging.getLogger(__name__)

# The shortest time a probe waits for its query before it calls the database down.
MIN_TIMEOUT_SECONDS = 2.0


class DatabaseProbe:
    def __init__(
        self, stored_revision: Callable[[], int], index_revision: Callable[[], int], interval: float
    ) -> None:
        self.stored_revision = stored_revision
        self.index_revision = index_revision
        self.interval = interval
        self.timeout = max(interval, MIN_TIMEOUT_SECONDS)
        self.up: bool | None = None
        self.last_contact = time.monotonic()  # when the database last answered
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="authz-probe")
        self._pending: asyncio.Future[int] | None = None

    def reached(self, stored: int) -> None:
        """Record that the database answered with revision `stored` (also used at start-up,
        which has just read the whole database)."""
        metrics.DATABASE_UP.set(1)
        metrics.DATABASE_LAST_CONTACT.set(time.time())
        self.last_contact = time.monotonic()
        metrics.REPLICA_LAG.set(max(0, stored - self.index_revision()))
        if self.up is False:
            log.info("the database answers again")
        self.up = True

    async def probe(self) -> bool:
        """Query the database once; True when it answered in time."""
        if self._pending is None or self._pending.done():
            if self._pending is not None and not self._pending.cancelled():
                self._pending.exception()  # retrieved: a timed-out query that failed later
            self._pending = asyncio.get_running_loop().run_in_executor(self._executor, self.stored_revision)
        try:
            stored = await asyncio.wait_for(asyncio.shield(self._pending), self.timeout)
        except Exception as error:  # noqa: BLE001 -- whatever the cause, the database did not answer
            metrics.DATABASE_UP.set(0)
            if self.up is not False:
                reason = str(error).strip().splitlines()
                log.warning("the database does not answer: %s", reason[0] if reason else type(error).__name__)
            self.up = False
            return False
        self.reached(stored)
        return True

    def silent_for(self) -> float:
        """Seconds since the database last answered."""
        return time.monotonic() - self.last_contact

    async def run(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self.interval)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
