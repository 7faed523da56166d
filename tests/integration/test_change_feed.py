"""The change feed (service/changes.py) over a real Authorizer and database, on every backend:
following wakes on the Authorizer's revision, listings read a bounded number of records per
page, and both refuse revisions the change table no longer keeps."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from authz.domain import operations as ops
from authz.domain.errors import FailedPrecondition, Unavailable
from authz.engine.changes import ChangeFilter
from authz.engine.policy_files import load_policy
from authz.service import changes
from authz.service.authorizer import Authorizer, load_index
from authz.storage.sql import SqlStorage

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def run(database_url: str, body) -> None:
    async def main() -> None:
        storage = SqlStorage(database_url)
        storage.migrate()
        index, revision = load_index(storage)
        authorizer = Authorizer(storage, load_policy(POLICIES), index, revision)
        try:
            await body(authorizer)
        finally:
            authorizer.close()

    asyncio.run(main())


async def write(authorizer: Authorizer, *operations: ops.Operation, actor: str = "admin") -> int:
    return (await authorizer.write(list(operations), actor, f"req-{authorizer.revision + 1}")).revision


def test_following_delivers_each_change_once_in_order_and_ends_when_stopping(database_url):
    async def body(authorizer: Authorizer) -> None:
        await write(authorizer, ops.CreateOrganization("o"))
        stopping = asyncio.Event()
        received: list[int] = []
        writes = []

        async def write_more() -> None:
            for number in range(5):
                await write(authorizer, ops.CreateWorkspace(f"w{number}", "o"))

        async def follow() -> None:
            # The poll is far beyond the deadline below: only the revision's advance wakes it.
            async for record in changes.follow(authorizer, 0, stopping, poll_seconds=3600):
                received.append(record.revision)
                if record.revision == 1:
                    writes.append(asyncio.get_running_loop().create_task(write_more()))
                if record.revision == 6:
                    stopping.set()

        with pytest.raises(Unavailable, match="watch again with after_revision 6"):
            await asyncio.wait_for(follow(), 60)
        await writes[0]
        assert received == [1, 2, 3, 4, 5, 6]

    run(database_url, body)


def test_a_page_reads_a_bounded_number_of_records(database_url):
    async def body(authorizer: Authorizer) -> None:
        for number in range(12):
            await write(authorizer, ops.CreateOrganization(f"o{number}"), actor="zenml" if number == 10 else "admin")
        rare = ChangeFilter(token_name="zenml")
        first = await changes.page(authorizer, 0, rare, 10, "after_revision", scan=5)
        assert (first.found, first.revision, first.more) == ([], 5, True)
        second = await changes.page(authorizer, 5, rare, 10, "page_token", scan=5)
        assert (second.found, second.revision, second.more) == ([], 10, True)
        third = await changes.page(authorizer, 10, rare, 10, "page_token", scan=5)
        assert [(record.revision, positions) for record, positions in third.found] == [(11, [0])]
        assert (third.revision, third.more) == (12, False)
        every = await changes.page(authorizer, 0, ChangeFilter(), 4, "after_revision")
        assert ([r.revision for r, _ in every.found], every.revision, every.more) == ([1, 2, 3, 4], 4, True)

    run(database_url, body)


def test_revisions_no_longer_kept_are_refused_naming_the_oldest_kept(database_url):
    async def body(authorizer: Authorizer) -> None:
        for number in range(5):
            await write(authorizer, ops.CreateOrganization(f"o{number}"))
        engine = create_engine(database_url, poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM changes WHERE revision <= 3"))
        engine.dispose()
        with pytest.raises(FailedPrecondition, match="the oldest revision kept is 4") as caught:
            await changes.page(authorizer, 2, ChangeFilter(), 10, "after_revision")
        assert caught.value.field == "after_revision"
        with pytest.raises(FailedPrecondition, match="the oldest revision kept is 4"):
            await anext(changes.follow(authorizer, 0, asyncio.Event()))
        kept = await changes.page(authorizer, 3, ChangeFilter(), 10, "after_revision")
        assert [record.revision for record, _ in kept.found] == [4, 5]

    run(database_url, body)
