"""The Storage contract (authz/storage/base.py), proved against every backend.

Each test gets a fresh database from the `database_url` fixture (tests/conftest.py), once for
SQLite and once for PostgreSQL."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from authz.domain.errors import ConcurrentWrite, ConfigError, Unavailable
from authz.domain.model import (
    ORGANIZATION,
    PROJECT,
    WORKSPACE,
    BindingRow,
    Change,
    MemberRow,
    Node,
    OrganizationRow,
    ProjectRow,
    Put,
    Remove,
    Resource,
    Row,
    Scope,
    ShareRow,
    TeamRow,
    WorkspaceRow,
)
from authz.domain.operations import (
    AddTeamMember,
    CreateOrganization,
    CreateRoleBinding,
    DeleteResources,
    Operation,
    ResourceRef,
    SetResourceMembership,
    WriteRecord,
)
from authz.storage import sql
from authz.storage.base import Storage
from authz.storage.schema import metadata
from authz.storage.sql import MIGRATION_LOCK_KEY, SqlStorage, alembic_config

R = TypeVar("R")

LOAD_ORDER = (OrganizationRow, WorkspaceRow, ProjectRow, TeamRow, MemberRow, BindingRow, ShareRow)


# Helpers.


@pytest.fixture
def storage(database_url: str) -> Iterator[SqlStorage]:
    store = SqlStorage(database_url)
    store.migrate()
    yield store
    store.close()


def record(revision: int, operations: Sequence[Operation] = ()) -> WriteRecord:
    return WriteRecord(revision, tuple(operations), "user:tester", f"req-{revision}")


def commit(store: Storage, changes: Sequence[Change], operations: Sequence[Operation] = ()) -> int:
    """Commit `changes` as the next revision; return that revision."""
    revision = store.revision() + 1
    store.commit(revision, changes, record(revision, operations))
    return revision


def load(store: Storage) -> tuple[int, list[Row]]:
    """The revision and rows `load` streams, checking that tables come parents first."""
    rows: list[Row] = []
    tables: list[list[Row]] = []
    revision = store.load(lambda table: tables.append(list(table)))
    for table in tables:
        assert len({type(row) for row in table}) <= 1, "one call per table"
    rows = [row for table in tables for row in table]
    ranks = [LOAD_ORDER.index(type(row)) for row in rows]
    assert ranks == sorted(ranks), "load must stream parents before children"
    return revision, rows


def assert_stored(store: Storage, expected: Sequence[Row] | set[Row], revision: int) -> None:
    loaded_revision, rows = load(store)
    assert loaded_revision == revision
    assert store.revision() == revision
    assert Counter(rows) == Counter(expected)


def binding(id: str, subject: str, node: Node, role: str = "viewer", created: int = 1) -> BindingRow:
    return BindingRow(id, subject, role, node, created)


ORG = OrganizationRow("acme", "Acme")
WS = WorkspaceRow("ws", "acme", "Workspace")
PROJ = ProjectRow("proj", "ws", "Project")
TEAM = TeamRow("admins", "acme", "Admins")
MEMBER = MemberRow("admins", "user:alice")
BINDING = binding("b1", "team:admins", PROJ.node, role="editor")
SHARE = ShareRow(WS.node, "document", "doc-1", "user:bob", frozenset({"write", "read"}))
ALL_ROWS: list[Row] = [ORG, WS, PROJ, TEAM, MEMBER, BINDING, SHARE]


def seed(store: Storage) -> int:
    return commit(store, [Put(row) for row in ALL_ROWS], [CreateOrganization("acme", "Acme")])


def raw_engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


# Migrations.


def test_empty_database(storage: SqlStorage) -> None:
    assert storage.revision() == 0
    assert_stored(storage, [], 0)
    assert storage.read_changes(0, 100) == []
    assert storage.list_role_bindings(100, None) == []


def test_migrate_is_idempotent(database_url: str) -> None:
    first = SqlStorage(database_url)
    first.migrate()
    seed(first)
    first.migrate()
    second = SqlStorage(database_url)
    second.migrate()
    try:
        assert second.revision() == 1
        assert_stored(second, ALL_ROWS, 1)
        engine = raw_engine(database_url)
        with engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
        engine.dispose()
        assert heads == (ScriptDirectory.from_config(alembic_config()).get_current_head(),)
    finally:
        first.close()
        second.close()


def test_migrated_database_matches_schema_py(storage: SqlStorage, database_url: str) -> None:
    engine = raw_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        if connection.dialect.name == "postgresql":
            # Ids compare bytewise, as in SQLite and Python, so paging order is the same everywhere.
            collations = connection.execute(
                text(
                    "SELECT DISTINCT collation_name FROM information_schema.columns "
                    "WHERE table_name = 'role_bindings' AND column_name IN ('id', 'subject', 'node_id')"
                )
            ).scalars()
            assert set(collations) == {"C"}
    engine.dispose()


def _migrate_in_child(
    url: str, barrier: threading.Barrier, results: multiprocessing.Queue[tuple[str, object]]
) -> None:
    store = SqlStorage(url)
    try:
        barrier.wait(timeout=120)
        store.migrate()
        results.put(("ok", store.revision()))
    except BaseException as error:  # noqa: BLE001 -- reported to the parent, which fails the test
        results.put(("error", repr(error)))
    finally:
        store.close()


def test_concurrent_migrate_from_two_processes(database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    children = [
        context.Process(target=_migrate_in_child, args=(database_url, barrier, results)) for _ in range(2)
    ]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=180) for _ in children]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    assert outcomes == [("ok", 0), ("ok", 0)]
    store = SqlStorage(database_url)
    try:
        store.migrate()
        assert store.revision() == 0
        assert commit(store, [Put(ORG)]) == 1
    finally:
        store.close()


def test_migrate_waits_for_the_migration_lock(database_url: str) -> None:
    """Whoever holds the lock (here the test) keeps `migrate` waiting until it lets go."""
    store = SqlStorage(database_url)
    url = make_url(database_url)
    engine = None
    lock_fd = -1
    if url.get_backend_name() == "sqlite":
        lock_fd = os.open(f"{os.path.abspath(url.database or '')}.migrate.lock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
    else:
        engine = raw_engine(database_url)
        holder = engine.connect()
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            store.migrate()
        except BaseException as error:  # noqa: BLE001 -- checked by the test below
            errors.append(error)

    worker = threading.Thread(target=migrate)
    try:
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive(), "migrate ran although another process held the lock"
    finally:
        if engine is not None:
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            holder.close()
            engine.dispose()
        else:
            os.close(lock_fd)
        worker.join(timeout=60)
    try:
        assert not worker.is_alive() and errors == []
        assert store.revision() == 0
    finally:
        store.close()


# Commits and loads.


def test_commit_and_load_every_row_type(storage: SqlStorage) -> None:
    assert commit(storage, [Put(ORG), Put(TEAM)]) == 1
    assert commit(storage, [Put(WS), Put(PROJ), Put(MEMBER)]) == 2
    other_project = ProjectRow("proj-2", "ws")
    shares: list[Row] = [
        SHARE,
        ShareRow(PROJ.node, "document", "doc-1", "user:bob", frozenset({"read"})),
        ShareRow(ORG.node, "folder", "", "team:admins", frozenset({"read", "share", "delete"})),
    ]
    bindings: list[Row] = [
        BINDING,
        binding("b2", "user:carol", ORG.node, created=3),
        binding("b3", "user:carol", WS.node),
    ]
    assert commit(storage, [Put(other_project), *map(Put, bindings), *map(Put, shares)]) == 3
    stored: list[Row] = [ORG, TEAM, WS, PROJ, MEMBER, other_project, *bindings, *shares]
    assert_stored(storage, stored, 3)

    # Removes of every type, children before parents.
    removed = [shares[0], bindings[1], MEMBER, other_project]
    assert commit(storage, [Remove(row) for row in removed]) == 4
    remaining = [row for row in stored if row not in removed]
    assert_stored(storage, remaining, 4)
    assert (
        commit(storage, [Remove(row) for row in (BINDING, bindings[2], *shares[1:], PROJ, WS, TEAM, ORG)])
        == 5
    )
    assert_stored(storage, [], 5)


def test_rows_read_back_exactly(storage: SqlStorage) -> None:
    rows: list[Row] = [
        OrganizationRow("o.1", "Ünïcødé \u2603 'quotes' \"double\", commas"),
        OrganizationRow("O-2", ""),
        WorkspaceRow("w@1", "o.1", "x" * 500),
        TeamRow("t_1", "O-2"),
        MemberRow("t_1", "service_account:" + "s" * 128),
        BindingRow("B" * 64, "user:" + "u" * 128, "r" * 64, Node(ORGANIZATION, "o" * 128), 2**62),
        ShareRow(Node(WORKSPACE, "w@1"), "t" * 64, "i" * 128, "team:t_1", frozenset({"a"})),
        ShareRow(Node(WORKSPACE, "w@1"), "doc", "", "team:t_1", frozenset({"z", "a", "m_m"})),
    ]
    commit(storage, [Put(row) for row in rows])
    _, loaded = load(storage)
    assert Counter(loaded) == Counter(rows)
    for row in loaded:
        if isinstance(row, ShareRow):
            assert isinstance(row.actions, frozenset)
        if isinstance(row, BindingRow):
            assert isinstance(row.node, Node) and row.created_revision == 2**62


def test_changes_apply_in_order_within_one_commit(storage: SqlStorage) -> None:
    seed(storage)
    renamed = OrganizationRow("beta", "Beta v2")
    changed_share = ShareRow(
        SHARE.node, SHARE.resource_type, SHARE.resource_id, SHARE.subject, frozenset({"read"})
    )
    rebound = binding("b1", "team:admins", PROJ.node, role="owner", created=2)
    changes: list[Change] = [
        Put(OrganizationRow("beta", "Beta")),
        Remove(OrganizationRow("beta", "Beta")),
        Put(renamed),
        Remove(SHARE),
        Put(changed_share),
        Remove(BINDING),
        Put(rebound),
        Put(binding("b9", "user:z", PROJ.node)),
        Remove(binding("b9", "user:z", PROJ.node)),
    ]
    assert commit(storage, changes) == 2
    expected = [row for row in ALL_ROWS if row not in (SHARE, BINDING)] + [renamed, changed_share, rebound]
    assert_stored(storage, expected, 2)


def test_revisions_are_gap_free_with_one_change_record_each(storage: SqlStorage) -> None:
    operations: list[tuple[Operation, ...]] = [
        (CreateOrganization("acme", "Acme"),),
        (CreateRoleBinding("user:a", "viewer", Scope("acme"), "b-a"), AddTeamMember("t", "user:a")),
        (),
        (
            SetResourceMembership("user:b", Resource("doc", "1"), Scope("acme"), ("read", "write"), "user:a"),
            DeleteResources((ResourceRef(Resource("doc", "1"), Scope("acme")),)),
        ),
    ]
    changes: list[list[Change]] = [
        [Put(ORG)],
        [Put(binding("b-a", "user:a", ORG.node))],
        [],
        [Put(ShareRow(ORG.node, "doc", "1", "user:b", frozenset({"read"})))],
    ]
    before = time.time()
    for index, (ops, chs) in enumerate(zip(operations, changes, strict=True)):
        revision = index + 1
        committed_at = 1234.5 if revision == 2 else 0.0
        storage.commit(
            revision, chs, WriteRecord(revision, ops, f"actor-{revision}", f"req-{revision}", committed_at)
        )
        assert storage.revision() == revision
    after = time.time()

    records = storage.read_changes(0, 100)
    assert [r.revision for r in records] == [1, 2, 3, 4]
    assert [r.operations for r in records] == operations
    assert [(r.actor, r.request_id) for r in records] == [(f"actor-{n}", f"req-{n}") for n in (1, 2, 3, 4)]
    assert records[1].committed_at == 1234.5
    for r in (records[0], records[2], records[3]):
        assert before - 1 <= r.committed_at <= after + 1
    assert [r.revision for r in storage.read_changes(1, 2)] == [2, 3]
    assert [r.revision for r in storage.read_changes(3, 100)] == [4]
    assert storage.read_changes(4, 100) == []
    assert storage.read_changes(0, 0) == []


def test_wrong_expected_revision_is_a_concurrent_write(storage: SqlStorage) -> None:
    seed(storage)
    for stale in (1, 3, 0):
        with pytest.raises(ConcurrentWrite):
            storage.commit(
                stale, [Put(OrganizationRow("other"))], record(stale, [CreateOrganization("other")])
            )
    assert_stored(storage, ALL_ROWS, 1)
    assert [r.revision for r in storage.read_changes(0, 100)] == [1]
    assert commit(storage, [Put(OrganizationRow("other"))]) == 2


def test_record_must_match_the_revision(storage: SqlStorage) -> None:
    with pytest.raises(ValueError):
        storage.commit(1, [Put(ORG)], record(2))
    assert_stored(storage, [], 0)


@pytest.mark.parametrize(
    "missing",
    [
        OrganizationRow("ghost"),
        WorkspaceRow("ghost", "acme"),
        ProjectRow("ghost", "ws"),
        TeamRow("ghost", "acme"),
        MemberRow("admins", "user:ghost"),
        binding("ghost", "user:ghost", Node(PROJECT, "proj")),
        ShareRow(Node(WORKSPACE, "ws"), "document", "doc-1", "user:ghost", frozenset({"read"})),
    ],
    ids=lambda row: type(row).__name__,
)
def test_removing_a_missing_row_rolls_back_the_whole_commit(storage: SqlStorage, missing: Row) -> None:
    seed(storage)
    changes: list[Change] = [
        Put(OrganizationRow("new-org")),
        Remove(BINDING),
        Put(binding("b-new", "user:new", ORG.node)),
        Remove(missing),
        Remove(MEMBER),
    ]
    with pytest.raises(ConcurrentWrite):
        storage.commit(2, changes, record(2))
    assert_stored(storage, ALL_ROWS, 1)
    assert [r.revision for r in storage.read_changes(0, 100)] == [1]
    # The same removal twice in one run: the second finds nothing.
    with pytest.raises(ConcurrentWrite):
        storage.commit(2, [Remove(BINDING), Remove(BINDING)], record(2))
    assert_stored(storage, ALL_ROWS, 1)


def test_foreign_key_violations_roll_back(storage: SqlStorage) -> None:
    seed(storage)
    # The organization still has a workspace and a team: nothing may be silently cascaded.
    with pytest.raises(IntegrityError):
        storage.commit(2, [Put(OrganizationRow("new-org")), Remove(BINDING), Remove(ORG)], record(2))
    assert_stored(storage, ALL_ROWS, 1)
    # A child whose parent does not exist.
    with pytest.raises(IntegrityError):
        storage.commit(
            2, [Put(OrganizationRow("new-org")), Put(ProjectRow("p2", "no-such-workspace"))], record(2)
        )
    with pytest.raises(IntegrityError):
        storage.commit(2, [Put(MemberRow("no-such-team", "user:x"))], record(2))
    assert_stored(storage, ALL_ROWS, 1)
    assert [r.revision for r in storage.read_changes(0, 100)] == [1]
    assert commit(storage, [Put(OrganizationRow("new-org"))]) == 2


def test_duplicate_rows_are_rejected_and_roll_back(storage: SqlStorage) -> None:
    seed(storage)
    for duplicate in (
        ORG,
        BINDING,
        binding("b-other-id", BINDING.subject, BINDING.node, BINDING.role),
        SHARE,
    ):
        with pytest.raises(IntegrityError):
            storage.commit(2, [Put(OrganizationRow("new-org")), Put(duplicate)], record(2))
    assert_stored(storage, ALL_ROWS, 1)


def test_concurrent_writers_exactly_one_wins(database_url: str, storage: SqlStorage) -> None:
    seed(storage)
    others = [SqlStorage(database_url) for _ in range(4)]
    barrier = threading.Barrier(len(others))
    outcomes: list[str] = []

    def write(index: int, store: SqlStorage) -> None:
        row = OrganizationRow(f"org-{index}")
        barrier.wait(timeout=30)
        try:
            store.commit(2, [Put(row)], record(2))
            outcomes.append(f"won:{index}")
        except ConcurrentWrite:
            outcomes.append("lost")

    threads = [threading.Thread(target=write, args=(i, s)) for i, s in enumerate(others)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for other in others:
            other.close()
    assert sorted(outcomes)[:3] == ["lost"] * 3 and len(outcomes) == 4
    winner = int(sorted(outcomes)[3].split(":")[1])
    assert_stored(storage, [*ALL_ROWS, OrganizationRow(f"org-{winner}")], 2)
    assert [r.revision for r in storage.read_changes(0, 100)] == [1, 2]


def test_a_writer_blocked_too_long_gets_unavailable(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "LOCK_TIMEOUT_MS", 200)
    store = SqlStorage(database_url)
    store.migrate()
    seed(store)
    url = make_url(database_url)
    holder: sqlite3.Connection | Connection
    engine: Engine | None = None
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        engine = raw_engine(database_url)
        holder = engine.connect()
        holder.execute(text("SELECT revision FROM authz_revision WHERE id = 1 FOR UPDATE"))
    try:
        started = time.monotonic()
        with pytest.raises(Unavailable, match="write lock"):
            store.commit(2, [Put(OrganizationRow("blocked"))], record(2))
        assert time.monotonic() - started < 5
    finally:
        holder.rollback()
        holder.close()
        if engine is not None:
            engine.dispose()
    try:
        assert_stored(store, ALL_ROWS, 1)
        assert commit(store, [Put(OrganizationRow("unblocked"))]) == 2
    finally:
        store.close()


def test_load_reads_one_snapshot(database_url: str, storage: SqlStorage) -> None:
    seed(storage)
    writer = SqlStorage(database_url)
    rows: list[Row] = []

    calls: list[int] = []

    def sink(table: Iterable[Row]) -> None:
        if not calls:  # while the snapshot is open, another writer commits
            commit(writer, [Put(OrganizationRow("late")), Put(binding("b-late", "user:late", ORG.node))])
        calls.append(1)
        rows.extend(table)

    try:
        revision = storage.load(sink)
    finally:
        writer.close()
    assert revision == 1
    assert Counter(rows) == Counter(ALL_ROWS)
    assert storage.revision() == 2
    assert_stored(storage, [*ALL_ROWS, OrganizationRow("late"), binding("b-late", "user:late", ORG.node)], 2)


def test_data_survives_close_and_reopen(database_url: str) -> None:
    store = SqlStorage(database_url)
    store.migrate()
    seed(store)
    commit(store, [Remove(MEMBER)])
    store.close()
    reopened = SqlStorage(database_url)
    try:
        expected = [row for row in ALL_ROWS if row != MEMBER]
        assert_stored(reopened, expected, 2)
        reopened.migrate()
        assert_stored(reopened, expected, 2)
        assert [r.revision for r in reopened.read_changes(0, 10)] == [1, 2]
        assert reopened.read_changes(0, 10)[0].operations == (CreateOrganization("acme", "Acme"),)
    finally:
        reopened.close()


def test_ten_thousand_bindings_in_one_commit(storage: SqlStorage) -> None:
    seed(storage)
    rows = [binding(f"bulk-{i:05d}", f"user:u{i}", PROJ.node, created=2) for i in range(10_000)]
    operations = [CreateRoleBinding(r.subject, r.role, Scope(project_id="proj"), r.id) for r in rows]
    assert commit(storage, [Put(r) for r in rows], operations) == 2
    assert_stored(storage, [*ALL_ROWS, *rows], 2)
    assert storage.read_changes(1, 1)[0].operations == tuple(operations)
    assert commit(storage, [Remove(r) for r in rows]) == 3
    assert_stored(storage, ALL_ROWS, 3)


def test_bulk_inserts_reject_duplicates_and_orphans_as_single_ones_do(storage: SqlStorage) -> None:
    """Many rows of one table go in another way (COPY on PostgreSQL): the same errors, the
    same roll-back."""
    seed(storage)
    bulk = [binding(f"bulk-{i:03d}", f"user:u{i}", PROJ.node, created=2) for i in range(200)]
    for bad in (
        [*bulk, binding("bulk-000", "user:other", PROJ.node, created=2)],  # a duplicate id
        [*bulk, binding("b-x", BINDING.subject, BINDING.node, BINDING.role, created=2)],  # a duplicate binding
    ):
        with pytest.raises(IntegrityError):
            storage.commit(2, [Put(row) for row in bad], record(2))
    members = [MemberRow("no-such-team" if i == 150 else TEAM.id, f"user:m{i}") for i in range(200)]
    with pytest.raises(IntegrityError):
        storage.commit(2, [Put(row) for row in members], record(2))
    assert_stored(storage, ALL_ROWS, 1)
    assert commit(storage, [Put(row) for row in bulk]) == 2


# Listing bindings.


def test_list_role_bindings_pages_by_id_bytewise(storage: SqlStorage) -> None:
    """(Listings of one subject or node come from the index: test_listing.py.)"""
    seed(storage)
    w, p = WS.node, PROJ.node
    # Ids whose order differs between bytewise and locale-aware collations.
    rows = [
        binding("b-1", "user:a", w),
        binding("B2", "user:a", p),
        binding("b.3", "user:b", w),
        binding("b_4", "user:a", w, role="editor"),
        binding("a", "user:b", p),
        binding("b10", "user:a", p, role="editor"),
        binding("b9", "team:admins", w),
    ]
    commit(storage, [Put(r) for r in rows])
    everything = sorted([*rows, BINDING], key=lambda r: r.id)
    assert storage.list_role_bindings(100, None) == everything
    for limit in (1, 2, 3):
        pages: list[BindingRow] = []
        after: str | None = None
        while True:
            page = storage.list_role_bindings(limit, after)
            assert len(page) <= limit
            if not page:
                break
            pages.extend(page)
            after = page[-1].id
        assert pages == everything

    assert storage.list_role_bindings(2, "b.3") == [r for r in everything if r.id > "b.3"][:2]
    assert storage.list_role_bindings(100, "zzz") == []
    assert storage.list_role_bindings(0, None) == []


# Randomised: any sequence of valid commits (and rejected ones) leaves load() equal to a model.


class Model:
    """The stored rows, as a dict from primary key to row, and a generator of valid changes."""

    def __init__(self) -> None:
        self.rows: dict[tuple[object, ...], Row] = {}
        self.counter = 0

    @staticmethod
    def key(row: Row) -> tuple[object, ...]:
        if isinstance(row, MemberRow):
            return (MemberRow, row.team_id, row.subject)
        if isinstance(row, ShareRow):
            return (ShareRow, row.node, row.resource_type, row.resource_id, row.subject)
        return (type(row), row.id)

    def apply(self, changes: Sequence[Change]) -> None:
        for change in changes:
            key = self.key(change.row)
            if isinstance(change, Put):
                assert key not in self.rows
                self.rows[key] = change.row
            else:
                assert self.rows.pop(key) == change.row

    def of(self, row_type: type[R]) -> list[R]:
        return [row for row in self.rows.values() if isinstance(row, row_type)]

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def cascade(self, row: Row) -> list[Change]:
        """Remove `row` and everything under it, children first (as the engine does)."""
        changes: list[Change] = []
        if isinstance(row, OrganizationRow):
            for workspace in self.of(WorkspaceRow):
                if workspace.organization_id == row.id:
                    changes += self.cascade(workspace)
            for team in self.of(TeamRow):
                if team.organization_id == row.id:
                    changes += self.cascade(team)
        elif isinstance(row, WorkspaceRow):
            for project in self.of(ProjectRow):
                if project.workspace_id == row.id:
                    changes += self.cascade(project)
        elif isinstance(row, TeamRow):
            changes += [Remove(m) for m in self.of(MemberRow) if m.team_id == row.id]
        if isinstance(row, (OrganizationRow, WorkspaceRow, ProjectRow)):
            attached_rows: list[BindingRow | ShareRow] = [*self.of(BindingRow), *self.of(ShareRow)]
            for attached in attached_rows:
                if attached.node == row.node:
                    changes.append(Remove(attached))
        changes.append(Remove(row))
        return changes


SUBJECTS = ["user:a", "user:b", "service_account:ci", "team:t1"]
ROLES = ["viewer", "editor"]
ACTIONS = ["read", "write", "share"]
names = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=6)


def draw_step(data: st.DataObject, model: Model, pending: list[Change]) -> None:
    """Draw one valid step against `model` (already updated with `pending`) and append its changes."""
    nodes: list[OrganizationRow | WorkspaceRow | ProjectRow] = [
        *model.of(OrganizationRow),
        *model.of(WorkspaceRow),
        *model.of(ProjectRow),
    ]
    choices = ["org"]
    if model.of(OrganizationRow):
        choices += ["workspace", "team"]
    if model.of(WorkspaceRow):
        choices.append("project")
    if model.of(TeamRow):
        choices.append("member")
    if nodes:
        choices += ["binding", "binding", "share", "remove_node"]
    if model.of(BindingRow):
        choices.append("remove_binding")
    if model.of(MemberRow):
        choices.append("remove_member")
    if model.of(ShareRow):
        choices.append("change_share")
    step = data.draw(st.sampled_from(choices))
    changes: list[Change] = []
    if step == "org":
        changes = [Put(OrganizationRow(model.fresh("o"), data.draw(names)))]
    elif step == "workspace":
        org = data.draw(st.sampled_from(model.of(OrganizationRow)))
        changes = [Put(WorkspaceRow(model.fresh("w"), org.id, data.draw(names)))]
    elif step == "project":
        workspace = data.draw(st.sampled_from(model.of(WorkspaceRow)))
        changes = [Put(ProjectRow(model.fresh("p"), workspace.id, data.draw(names)))]
    elif step == "team":
        org = data.draw(st.sampled_from(model.of(OrganizationRow)))
        changes = [Put(TeamRow(model.fresh("t"), org.id))]
    elif step == "member":
        team = data.draw(st.sampled_from(model.of(TeamRow)))
        member = MemberRow(team.id, data.draw(st.sampled_from(SUBJECTS)))
        changes = [] if model.key(member) in model.rows else [Put(member)]
    elif step == "binding":
        node = data.draw(st.sampled_from(nodes)).node
        subject, role = data.draw(st.sampled_from(SUBJECTS)), data.draw(st.sampled_from(ROLES))
        taken = any((b.subject, b.role, b.node) == (subject, role, node) for b in model.of(BindingRow))
        changes = [] if taken else [Put(BindingRow(model.fresh("b"), subject, role, node, model.counter))]
    elif step == "share":
        node = data.draw(st.sampled_from(nodes)).node
        actions = frozenset(data.draw(st.lists(st.sampled_from(ACTIONS), min_size=1)))
        row = ShareRow(
            node, "doc", data.draw(st.sampled_from(["", "d1"])), data.draw(st.sampled_from(SUBJECTS)), actions
        )
        old = model.rows.get(model.key(row))
        changes = ([Remove(old)] if old is not None else []) + [Put(row)]
    elif step == "change_share":
        share = data.draw(st.sampled_from(model.of(ShareRow)))
        actions = frozenset(data.draw(st.lists(st.sampled_from(ACTIONS), min_size=1)))
        changes = [
            Remove(share),
            Put(ShareRow(share.node, share.resource_type, share.resource_id, share.subject, actions)),
        ]
    elif step == "remove_binding":
        changes = [Remove(data.draw(st.sampled_from(model.of(BindingRow))))]
    elif step == "remove_member":
        changes = [Remove(data.draw(st.sampled_from(model.of(MemberRow))))]
    elif step == "remove_node":
        target = data.draw(st.sampled_from([*nodes, *model.of(TeamRow)]))
        changes = model.cascade(target)
    model.apply(changes)
    pending.extend(changes)


def reset(url: str) -> None:
    """Empty every table and set the revision back to 0, as a freshly migrated database."""
    engine = raw_engine(url)
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
        connection.execute(metadata.tables["authz_revision"].insert(), {"id": 1, "revision": 0})
    engine.dispose()


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_commits_match_a_model(storage: SqlStorage, database_url: str, data: st.DataObject) -> None:
    reset(database_url)
    model = Model()
    revision = 0
    for _ in range(data.draw(st.integers(1, 6), label="commits")):
        saved = (dict(model.rows), model.counter)
        pending: list[Change] = []
        for _ in range(data.draw(st.integers(0, 8), label="steps")):
            draw_step(data, model, pending)
        failure = data.draw(st.sampled_from(["none", "none", "none", "missing", "stale"]), label="failure")
        if failure == "none":
            revision += 1
            storage.commit(revision, pending, record(revision, [CreateOrganization(f"op{revision}")]))
            continue
        # A rejected commit: valid changes, then one that cannot apply (or a stale revision).
        if failure == "missing":
            pending.insert(data.draw(st.integers(0, len(pending))), Remove(OrganizationRow("never-stored")))
        expected_revision = revision + 1 if failure == "missing" else revision
        with pytest.raises(ConcurrentWrite):
            storage.commit(expected_revision, pending, record(expected_revision))
        model.rows, model.counter = saved[0], saved[1]
    assert_stored(storage, list(model.rows.values()), revision)
    assert [r.revision for r in storage.read_changes(0, 1000)] == list(range(1, revision + 1))


def test_unusable_urls_are_rejected() -> None:
    for url in ("sqlite://", "sqlite:///:memory:", "mysql://localhost/authz", "not a url"):
        with pytest.raises(ConfigError):
            SqlStorage(url)


# Grants that expire (migration 0004).

EXPIRES = 1_900_000_000.123456  # to the microsecond, as the API keeps it


def test_expiring_rows_read_back_exactly(storage: SqlStorage) -> None:
    expiring: list[Row] = [
        MemberRow("admins", "user:carol", EXPIRES),
        BindingRow("b2", "user:carol", "viewer", PROJ.node, 1, EXPIRES),
        ShareRow(WS.node, "document", "doc-2", "user:carol", frozenset({"read"}), EXPIRES + 1),
    ]
    seed(storage)
    commit(storage, [Put(row) for row in expiring])
    assert_stored(storage, [*ALL_ROWS, *expiring], 2)
    commit(storage, [Remove(row) for row in expiring])  # deleted by key, whatever the expiry
    assert_stored(storage, ALL_ROWS, 3)


def test_list_role_bindings_filters_what_expires_before_a_time(storage: SqlStorage) -> None:
    seed(storage)
    rows = [BindingRow(f"e{i}", f"user:u{i}", "viewer", PROJ.node, 1, EXPIRES + i) for i in range(3)]
    commit(storage, [Put(row) for row in rows])
    assert storage.list_role_bindings(10, None, expires_before=EXPIRES + 1.5) == rows[:2]
    assert storage.list_role_bindings(10, "e0", expires_before=EXPIRES + 1.5) == rows[1:2]
    assert storage.list_role_bindings(10, None, expires_before=EXPIRES) == []
    assert len(storage.list_role_bindings(10, None)) == 4  # the seed's binding never expires


def test_migration_0004_keeps_existing_grants_without_expiry(database_url: str) -> None:
    engine = raw_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")
            connection.exec_driver_sql("INSERT INTO organizations (id, display_name) VALUES ('o', '')")
            connection.exec_driver_sql(
                "INSERT INTO role_bindings (id, subject, role, node_kind, node_id, created_revision) "
                "VALUES ('b', 'user:a', 'viewer', 'organization', 'o', 1)")
    finally:
        engine.dispose()
    storage = SqlStorage(database_url)
    try:
        storage.migrate()
        _, rows = load(storage)
        assert BindingRow("b", "user:a", "viewer", Node(ORGANIZATION, "o"), 1) in rows
        assert all(row.expires_at == 0.0 for row in rows if isinstance(row, BindingRow))
    finally:
        storage.close()


def test_retained_from_is_the_oldest_change_kept(storage: SqlStorage, database_url: str) -> None:
    assert storage.retained_from() == 1  # nothing written: everything from revision 1 on is kept
    seed(storage)
    commit(storage, [Put(OrganizationRow("o2"))], [CreateOrganization("o2")])
    commit(storage, [Put(OrganizationRow("o3"))], [CreateOrganization("o3")])
    assert storage.retained_from() == 1
    engine = raw_engine(database_url)
    try:
        with engine.begin() as connection:  # pruning, as retention will do it: the oldest first
            connection.execute(text("DELETE FROM changes WHERE revision <= 2"))
        assert storage.retained_from() == 3
        assert [r.revision for r in storage.read_changes(0, 10)] == [3]
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM changes"))
        assert storage.retained_from() == 4  # none kept: from the next revision on
    finally:
        engine.dispose()
