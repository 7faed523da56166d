"""SqlStorage's own tests, beyond the Storage contract (tests/contract/): the migrations and
the schema they make, the migration lock, lock timeouts, the COPY path, SQLite's pragmas and the
URLs it refuses. Each test gets a fresh database from the `database_url` fixture
(tests/conftest.py), once for SQLite and once for PostgreSQL."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from contract.storage_contract import (
    ALL_ROWS,
    BINDING,
    ORG,
    PROJ,
    TEAM,
    assert_stored,
    binding,
    commit,
    load,
    record,
    seed,
)
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from authz.domain.errors import ConfigError, Unavailable
from authz.domain.model import (
    ORGANIZATION,
    BindingRow,
    MemberRow,
    Node,
    OrganizationRow,
    ProjectRow,
    Put,
    Remove,
)
from authz.storage import sql
from authz.storage.schema import metadata
from authz.storage.sql import MIGRATION_LOCK_KEY, SqlStorage, alembic_config, create_storage_engine


@pytest.fixture
def storage(database_url: str) -> Iterator[SqlStorage]:
    store = SqlStorage(database_url)
    store.migrate()
    yield store
    store.close()


def raw_engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


# Migrations.


def test_migrate_records_the_newest_migration(database_url: str) -> None:
    store = SqlStorage(database_url)
    try:
        _, head = store.migrate()
        seed(store)
        store.migrate()
        engine = raw_engine(database_url)
        with engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
        engine.dispose()
        newest = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert heads == (newest,) and head == newest
        assert_stored(store, ALL_ROWS, 1)
    finally:
        store.close()


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


# The errors of a constraint (the contract says only: an error, and nothing written).


def test_constraint_violations_are_integrity_errors(storage: SqlStorage) -> None:
    seed(storage)
    for changes in ([Remove(BINDING), Remove(ORG)], [Put(ProjectRow("p2", "no-such-workspace"))],
                    [Put(MemberRow("no-such-team", "user:x"))], [Put(ORG)],
                    [Put(binding("b-other-id", BINDING.subject, BINDING.node, BINDING.role))]):
        with pytest.raises(IntegrityError):
            storage.commit(2, [Put(OrganizationRow("new-org")), *changes], record(2))
    assert_stored(storage, ALL_ROWS, 1)


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


# Locks.


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


# SQLite's settings and the URLs refused.


def test_sqlite_connections_enforce_keys_and_write_durably(sqlite_url: str) -> None:
    engine = create_storage_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                       for name in ("foreign_keys", "journal_mode", "synchronous", "busy_timeout")}
    finally:
        engine.dispose()
    assert pragmas == {"foreign_keys": 1, "journal_mode": "wal", "synchronous": 2, "busy_timeout": sql.LOCK_TIMEOUT_MS}


def test_unusable_urls_are_rejected() -> None:
    for url in ("sqlite://", "sqlite:///:memory:", "mysql://localhost/authz", "not a url"):
        with pytest.raises(ConfigError):
            SqlStorage(url)
