"""The change feed: following the change table (WatchChanges) and paging through it with
filters (ListChanges), both read from the database through the Authorizer.

Revisions are gap-free and commit in order (one counter, advanced inside each write's
transaction), so a reader that delivers only the record right after the last one it
delivered delivers every change exactly once and in order. It waits for more on the
Authorizer's revision (which advances when this replica commits, and when it follows
another's), with a poll as the fallback; and it reads the change table, not the index, so
whichever replica committed a change, the record is the same."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from authz.domain.errors import FailedPrecondition, RevisionNotReached, Unavailable
from authz.domain.operations import WriteRecord
from authz.engine.changes import ChangeFilter

from .authorizer import Authorizer

# Records read per query while a watcher catches up or a listing scans.
READ_BATCH = 500
# How long a watcher waits on the Authorizer's revision before it reads the table anyway.
POLL_SECONDS = 1.0
# The most records one ListChanges page reads, however rarely its filters match.
SCAN_PER_PAGE = 10_000


async def check_retained(authorizer: Authorizer, after: int, field: str = "after_revision") -> None:
    """FailedPrecondition naming the oldest revision kept when changes after `after` are no
    longer all stored (the retention window has passed them)."""
    oldest = await authorizer.retained_from()
    if after + 1 < oldest:
        raise FailedPrecondition(
            f"changes after revision {after} are no longer all kept: the oldest revision kept is {oldest}; "
            f"start again from after_revision {oldest - 1}, with a full read of the state",
            field,
        )


async def _pause(authorizer: Authorizer, after: int, stopping: asyncio.Event, timeout: float) -> None:
    """Until the Authorizer passes revision `after`, `stopping` is set, or `timeout` passes."""
    advanced = asyncio.ensure_future(authorizer.wait_for(after + 1, timeout))
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait((advanced, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (advanced, stopped):
            task.cancel()
        for task in (advanced, stopped):
            with contextlib.suppress(asyncio.CancelledError, RevisionNotReached):
                await task


async def follow(authorizer: Authorizer, after: int, stopping: asyncio.Event,
                 poll_seconds: float = POLL_SECONDS) -> AsyncIterator[WriteRecord]:
    """Every change after `after`, then each new one as it commits, until `stopping` is set
    (then Unavailable, naming the revision to resume after)."""
    await check_retained(authorizer, after)
    last = after
    while not stopping.is_set():
        records = await authorizer.read_changes(last, READ_BATCH)
        if records and records[0].revision != last + 1:
            await check_retained(authorizer, last)  # pruned past us while we were away
            # Else not visible yet (it cannot be: revisions commit in order): look again later.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), poll_seconds)
            continue
        for record in records:
            if record.revision != last + 1 or stopping.is_set():
                break
            yield record
            last = record.revision
        if len(records) < READ_BATCH:
            await _pause(authorizer, last, stopping, poll_seconds)
    raise Unavailable(f"the server is stopping; watch again with after_revision {last} to go on")


@dataclass
class Page:
    """A page of ListChanges: each matching record with the positions of its matching
    operations, the revision read through, and whether more records follow."""

    found: list[tuple[WriteRecord, list[int]]] = field(default_factory=list)
    revision: int = 0
    more: bool = False


async def page(authorizer: Authorizer, after: int, wanted: ChangeFilter, limit: int, field: str,
               scan: int = SCAN_PER_PAGE) -> Page:
    """Up to `limit` matching records after `after`, reading at most `scan` records."""
    await check_retained(authorizer, after, field)
    result = Page(revision=after)
    chain = authorizer.index.chain
    scanned = 0
    while len(result.found) < limit and scanned < scan:
        records = await authorizer.read_changes(result.revision, min(READ_BATCH, scan - scanned))
        if not records:
            return result
        for record in records:
            scanned += 1
            result.revision = record.revision
            positions = wanted.matching(record, chain)
            if positions is not None:
                result.found.append((record, positions))
                if len(result.found) == limit:
                    break
    result.more = bool(await authorizer.read_changes(result.revision, 1))
    return result
