"""Grants that expire, against a fake clock: a real Authorizer on a SQLite file, so that the
sweep goes through the real write path and storage."""

from __future__ import annotations

import asyncio

import pytest
from harness import bundled_policy, where

from authz.domain import errors
from authz.domain import operations as ops
from authz.domain.model import Resource
from authz.engine import casbin_export
from authz.service.authorizer import Authorizer, load_index
from authz.storage.sql import SqlStorage

T0 = 1_900_000_000.0  # "now" at the start of each test
END = T0 + 3600.0  # when the grants of the tests expire


class Clock:
    def __init__(self) -> None:
        self.now = T0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


def open_authorizer(path, clock) -> Authorizer:
    storage = SqlStorage(f"sqlite:///{path}")
    storage.migrate()
    index, revision = load_index(storage)
    return Authorizer(storage, bundled_policy(), index, revision, clock=clock)


@pytest.fixture
def world(tmp_path):
    clock = Clock()
    authorizer = open_authorizer(tmp_path / "authz.db", clock)

    async def build():
        await authorizer.write([
            ops.CreateOrganization("o1"), ops.CreateWorkspace("w1", "o1"), ops.CreateProject("p1", "w1"),
            ops.CreateTeam("t1", "o1"),
        ], "test", "r0")
        await authorizer.write([
            ops.CreateRoleBinding("user:carol", "project_viewer", where("p1"), expires_at=END),
            ops.SetResourceMembership("user:dan", Resource("pipeline", "etl"), where("p1"), ("read",),
                                      expires_at=END),
            ops.AddTeamMember("t1", "user:erin", expires_at=END),
            ops.CreateRoleBinding("team:t1", "project_viewer", where("p1")),
            ops.CreateRoleBinding("user:frank", "project_viewer", where("p1")),
        ], "test", "r1")

    asyncio.run(build())
    yield authorizer, clock, tmp_path
    authorizer.close()


ETL = Resource("pipeline", "etl")


def can_read(authorizer, subject, resource=ETL) -> bool:
    authorizer.now()
    return authorizer.check(subject, "read", resource, where("p1"))


def test_a_grant_counts_until_the_instant_before_its_expiry_and_not_at_it(world):
    authorizer, clock, _ = world
    for subject in ("user:carol", "user:dan", "user:erin", "user:frank"):
        clock.now = END - 1e-6
        assert can_read(authorizer, subject), subject
    clock.now = END
    for subject in ("user:carol", "user:dan", "user:erin"):
        assert not can_read(authorizer, subject), subject
        assert "holds nothing" in authorizer.explain(subject, "read", Resource("pipeline", "etl"), where("p1")).text
    assert can_read(authorizer, "user:frank")  # no expiry
    assert authorizer.list_allowed("user:dan", "read", "pipeline", where("p1")) == (False, [])


def test_before_the_earliest_expiry_nothing_is_consulted(world):
    authorizer, clock, _ = world
    index = authorizer.index
    assert index.expiries.next_at == END
    clock.now = END - 10
    can_read(authorizer, "user:carol")
    assert index.expiries.pending == [] and len(index.bindings) == 3


def test_explain_shows_the_expiry(world):
    authorizer, _, _ = world
    authorizer.now()
    text = authorizer.explain("user:carol", "read", Resource("pipeline", "etl"), where("p1")).text
    assert "until 2030-03-17T18:46:40Z" in text
    decision = authorizer.explain("user:erin", "read", Resource("pipeline", "etl"), where("p1"))
    assert decision.via_team == "team:t1" and decision.via_team_expires_at == END
    assert "through team:t1, until" in decision.text


def test_the_sweep_removes_expired_rows_with_a_revision_and_a_change_record_once(world):
    authorizer, clock, _path = world
    clock.now = END
    before = authorizer.revision
    removed = asyncio.run(authorizer.remove_expired())
    assert removed == 3 and authorizer.revision == before + 1
    record = authorizer.storage.read_changes(before, 10)[0]
    assert record.actor == "authz:expiry"
    assert {type(op) for op in record.operations} == {ops.DeleteRoleBinding, ops.SetResourceMembership,
                                                      ops.RemoveTeamMember}
    assert asyncio.run(authorizer.remove_expired()) == 0 and authorizer.revision == before + 1
    # What storage holds now is what the index decides from.
    reloaded, _ = load_index(authorizer.storage)
    assert sorted(reloaded.bindings) == sorted(authorizer.index.bindings)
    assert not reloaded.shares and not reloaded.members


def test_two_replicas_sweeping_one_database_remove_each_row_once(world):
    first, clock, path = world
    second = open_authorizer(path / "authz.db", clock)
    try:
        clock.now = END
        assert asyncio.run(first.remove_expired()) == 3
        revision = first.revision
        # Under the database's lock the second applies the first's removal first: nothing is
        # left for it to remove, no conflict, and both hold the same rows.
        assert asyncio.run(second.remove_expired()) == 0
        assert second.storage.revision() == revision and second.revision == revision
        assert not second.index.expiries.pending
        assert second.index.digest() == first.index.digest() == load_index(first.storage)[0].digest()
    finally:
        second.close()


def test_a_write_after_expiry_sees_storage_agree_with_the_index(world):
    authorizer, clock, _ = world
    clock.now = END
    assert not can_read(authorizer, "user:carol")
    # The same binding again: the expired one leaves storage first, so there is no conflict.
    asyncio.run(authorizer.write([ops.CreateRoleBinding("user:carol", "project_viewer", where("p1"))], "t", "r"))
    assert can_read(authorizer, "user:carol")


def test_a_time_in_the_past_is_invalid_naming_the_field(world):
    authorizer, _clock, _ = world
    for operation in (
        ops.CreateRoleBinding("user:gus", "project_viewer", where("p1"), expires_at=T0),
        ops.AddTeamMember("t1", "user:gus", expires_at=T0 - 1),
        ops.SetResourceMembership("user:gus", Resource("pipeline", "x"), where("p1"), ("read",), expires_at=T0),
    ):
        with pytest.raises(errors.InvalidArgument) as caught:
            asyncio.run(authorizer.write([operation], "t", "r"))
        assert caught.value.field == "expires_at" and "in the past" in caught.value.reason
    with pytest.raises(errors.InvalidArgument) as caught:
        asyncio.run(authorizer.write([ops.CreateTeam("t9", "o1"), ops.AddTeamMember("t9", "user:g", expires_at=T0)],
                                     "t", "r", field_prefix="operations"))
    assert caught.value.field == "operations[1].add_team_member.expires_at"


def test_listing_filters_what_expires_before_a_time(world):
    authorizer, clock, _ = world
    rows, _ = asyncio.run(authorizer.list_role_bindings(None, None, 10, None, expires_before=END + 1))
    assert [row.subject for row in rows] == ["user:carol"]
    rows, _ = asyncio.run(authorizer.list_role_bindings("user:carol", None, 10, None, expires_before=END))
    assert rows == []
    clock.now = END
    authorizer.now()
    rows, _ = asyncio.run(authorizer.list_role_bindings(None, None, 10, None))
    assert sorted(row.subject for row in rows) == ["team:t1", "user:frank"]


def test_resharing_with_another_expiry_replaces_it(world):
    authorizer, clock, _ = world
    later = END + 100
    asyncio.run(authorizer.write([ops.SetResourceMembership(
        "user:dan", Resource("pipeline", "etl"), where("p1"), ("read",), expires_at=later)], "t", "r"))
    clock.now = END
    assert can_read(authorizer, "user:dan")
    clock.now = later
    assert not can_read(authorizer, "user:dan")


def test_the_casbin_export_leaves_out_what_has_expired_and_says_so(world, tmp_path):
    authorizer, _clock, _ = world
    _, csv = casbin_export.export(authorizer.index, authorizer.policy, tmp_path / "early", now=END - 1)
    assert "user:carol" in csv.read_text()
    _, csv = casbin_export.export(authorizer.index, authorizer.policy, tmp_path / "late", now=END)
    text = csv.read_text()
    assert text.startswith("# authz export at 2030-03-17T18:46:40Z: grants expired by then are left out")
    assert "user:carol" not in text and "user:dan" not in text and "user:erin" not in text
    assert "user:frank" in text


def test_a_check_and_a_whole_batch_are_each_decided_at_one_instant_with_one_clock_read(world):
    from authz._gen.authz.v1 import authorization_pb2 as pb
    from authz.api.authorization import AuthorizationServicer
    from authz.api.backend import Backend
    from authz.api.limits import Limits
    from authz.client import check_request

    authorizer, _clock, _ = world
    backend = Backend(Limits())
    backend.ready(authorizer)
    servicer = AuthorizationServicer(backend)

    class Advancing(Clock):
        """Each read a second later: a decision reading it twice would straddle the expiry."""

        def __call__(self) -> float:
            self.reads += 1
            self.now += 1.0
            return self.now

    ticking = Advancing()
    ticking.now = END - 1.5  # the first read is END - 0.5, every later one at or after END
    authorizer.clock = ticking
    items = [check_request(who, "read", "pipeline/etl", project="p1", explain=bool(i % 2))
             for i, who in enumerate(["user:carol", "user:dan", "user:erin"] * 4)]
    batch = asyncio.run(servicer.BatchCheck(pb.BatchCheckRequest(checks=items), None))
    assert [result.allowed for result in batch.results] == [True] * len(items)
    assert ticking.reads == 1
    single = asyncio.run(servicer.Check(check_request("user:carol", "read", "pipeline/etl", project="p1"), None))
    assert not single.allowed and ticking.reads == 2
