"""Two Authorizers on one SQLite file, as two replicas: each follows the other's commits from the
change table, including custom roles and cascades; records without row changes (older than
migration 0005) and a gap left by pruning make a follower load a snapshot instead."""

from __future__ import annotations

import asyncio
import logging

import pytest
from harness import bundled_policy, where
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from authz.domain import operations as ops
from authz.domain.model import Resource
from authz.service.authorizer import Authorizer, load_index
from authz.storage.sql import SqlStorage


def open_replica(url: str) -> Authorizer:
    storage = SqlStorage(url)
    storage.migrate()
    index, revision = load_index(storage)
    return Authorizer(storage, bundled_policy(), index, revision)


@pytest.fixture
def replicas(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = open_replica(url), open_replica(url)
    yield first, second, url
    first.close()
    second.close()


WORLD = [
    ops.CreateOrganization("o"), ops.CreateWorkspace("w", "o"), ops.CreateProject("p", "w"),
    ops.CreateTeam("t", "o"), ops.AddTeamMember("t", "user:ada"),
    ops.CreateCustomRole("reviewer", "project", permissions=(ops.PermissionSpec("model", "read"),)),
]
GRANTS = [
    ops.CreateRoleBinding("team:t", "reviewer", where("p")),
    ops.SetResourceMembership("user:bob", Resource("model", "m1"), where("p"), ("read",)),
]


def can_read(authorizer: Authorizer, subject: str) -> bool:
    return authorizer.view().check(subject, "read", Resource("model", "m1"), where("p"))


def test_each_follows_the_other_with_custom_roles_and_cascades(replicas):
    first, second, _ = replicas

    async def run():
        await first.write(WORLD, "t", "r1")
        await first.write(GRANTS, "t", "r1b")
        assert await second.catch_up() == first.revision
        assert can_read(second, "user:ada") and can_read(second, "user:bob")
        assert "reviewer" in second.policy.roles
        # A write on the second first applies what it lacks, then commits after it.
        written = await second.write([ops.DeleteSubject("user:bob")], "t", "r2")
        assert written.revision == first.revision + 1
        await first.catch_up()
        assert not can_read(first, "user:bob")
        await first.write([ops.DeleteProject("p")], "t", "r3")  # cascades: binding and share go
        await second.catch_up()

    asyncio.run(run())
    assert first.revision == second.revision
    assert first.index.digest() == second.index.digest() == load_index(first.storage)[0].digest()
    assert not second.index.bindings


def test_records_without_row_changes_load_a_snapshot(replicas, caplog):
    first, second, url = replicas
    engine = create_engine(url, poolclass=NullPool)

    async def run():
        await first.write(WORLD, "t", "r1")
        await first.write(GRANTS, "t", "r1b")
        with engine.begin() as connection:  # as migration 0005 leaves older records
            connection.execute(text("UPDATE changes SET row_changes = NULL"))
        with caplog.at_level(logging.WARNING):
            await second.catch_up()

    asyncio.run(run())
    engine.dispose()
    assert "predates row changes (migration 0005): loading a full snapshot" in caplog.text
    assert second.revision == first.revision and second.index.digest() == first.index.digest()


def test_a_follower_behind_the_records_kept_loads_a_snapshot(replicas, caplog):
    first, second, _ = replicas

    async def run():
        for number in range(6):
            await first.write([ops.CreateOrganization(f"o{number}")], "t", f"r{number}")
        assert first.storage.prune_changes(2, 0.0) == 4
        with caplog.at_level(logging.WARNING):
            await second.catch_up()

    asyncio.run(run())
    assert "are gone (the oldest kept is 5): loading a full snapshot" in caplog.text
    assert second.revision == first.revision == 6
    assert second.index.digest() == first.index.digest()
