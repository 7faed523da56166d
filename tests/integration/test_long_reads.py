"""A long read of the whole index (DiffPolicy of a candidate directory) runs on a worker
thread: checks go on answering on the event loop, and writes wait until it is done, so that
nothing changes the index under it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from authz.domain import operations as ops
from authz.domain.model import Resource, Scope
from authz.engine.policy_files import load_policy
from authz.service.authorizer import Authorizer, load_index
from authz.storage.sql import SqlStorage
from authz.testing import example

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def test_checks_go_on_and_writes_wait_during_a_long_read(sqlite_url: str) -> None:
    storage = SqlStorage(sqlite_url)
    storage.migrate()
    index, revision = load_index(storage)
    authorizer = Authorizer(storage, load_policy(POLICIES), index, revision)

    async def scenario() -> None:
        await authorizer.write(example.operations(), "test", "setup")
        started, release = threading.Event(), threading.Event()
        seen_by_read: list[int] = []

        def long_read() -> int:
            started.set()
            assert release.wait(10), "the test never released the read"
            seen_by_read.append(authorizer.revision)
            return len(authorizer.index.bindings)

        reading = asyncio.create_task(authorizer.read_off_loop(long_read))
        assert await asyncio.to_thread(started.wait, 10)
        # The read is running: the loop still answers checks.
        where = Scope(project_id="prod-recommendations")
        assert authorizer.view().check("user:ada", "read", Resource("model", "m"), where)
        assert not authorizer.view().check("user:nobody", "read", Resource("model", "m"), where)
        # A write waits for the read to end.
        writing = asyncio.create_task(authorizer.write([ops.CreateOrganization("later")], "test", "late"))
        await asyncio.sleep(0.1)
        assert not writing.done()
        before = authorizer.revision
        release.set()
        bindings = await reading
        late_revision = (await writing).revision
        assert seen_by_read == [before] and late_revision == before + 1
        assert bindings == len(authorizer.index.bindings)

    try:
        asyncio.run(scenario())
    finally:
        authorizer.close()
