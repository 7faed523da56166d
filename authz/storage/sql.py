"""SqlStorage: the Storage Protocol on SQLite (the embedded default) or PostgreSQL.

SqlStorage("sqlite:///var/lib/authz/authz.db")
SqlStorage("postgresql+psycopg://authz@db.internal/authz")
"""

from __future__ import annotations

import fcntl
import itertools
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, bindparam, create_engine, event, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from authz.domain.errors import ConcurrentWrite, ConfigError, FailedPrecondition, Unavailable
from authz.domain.model import BindingRow, Change, Put, Remove, Row
from authz.domain.operations import WriteRecord

from . import codec, schema
from .base import commit_expecting
from .rows import LOAD_ORDER, MAPPINGS, decode_changes, encode_changes, load_builders

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The PostgreSQL advisory-lock key that serialises `migrate` across processes (the first
# eight bytes of sha256(b"authz.storage.migrate"), as a signed 64-bit integer).
MIGRATION_LOCK_KEY = 3057599697532096151

# How long a writer waits for another writer's lock by default (a write waits as long as its
# deadline allows; see begin_write), in milliseconds.
LOCK_TIMEOUT_MS = 5000
# How long opening a PostgreSQL connection may take before the database counts as unreachable.
CONNECT_TIMEOUT_SECONDS = 5

# From this many rows of one table in one commit, PostgreSQL gets them through COPY.
COPY_FROM_ROWS = 64

# Rows fetched per round trip while `load` streams a table.
LOAD_BATCH = 5000

# SQLite's WAL pages (4 KiB each) between automatic checkpoints.
WAL_CHECKPOINT_PAGES = 20_000

# SQLite's page cache during a write transaction, and otherwise (its default), in KiB.
WRITE_CACHE_KIB = 256 * 1024
DEFAULT_CACHE_KIB = 2000

# SQLite result codes (low byte of the extended code) and PostgreSQL SQLSTATEs that mean
# "another transaction was in the way", not "this write is wrong".
_SQLITE_CONFLICTS = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_POSTGRES_CONFLICTS = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock timeout

# The SQLite BEGIN to emit, as a Connection execution option read by the "begin" hook.
_SQLITE_BEGIN = "authz_sqlite_begin"

_ADVANCE = (
    update(schema.revision_counter)
    .where(schema.revision_counter.c.id == 1)
    .values(revision=schema.revision_counter.c.revision + 1)
    .returning(schema.revision_counter.c.revision)
)
_CURRENT = select(schema.revision_counter.c.revision).where(schema.revision_counter.c.id == 1)
_LOCK = _CURRENT.with_for_update()
_SET_REVISION = (
    update(schema.revision_counter).where(schema.revision_counter.c.id == 1).values(revision=bindparam("revision"))
)

# The PostgreSQL channel a commit notifies (inside its transaction, so delivered at commit) with
# its revision; followers LISTEN on it.
NOTIFY_CHANNEL = "authz_changes"
# The delay before a follower's listener connects again after losing its connection.
LISTEN_RETRY_SECONDS = 1.0
# Change records deleted per statement when pruning (each statement is its own short write).
PRUNE_BATCH = 10_000
# One statement, so one snapshot: a write between two reads cannot make an empty table look
# pruned up to a revision it has just recorded.
_RETAINED_FROM = select(func.coalesce(
    select(func.min(schema.changes.c.revision)).scalar_subquery(), _CURRENT.scalar_subquery() + 1))


def create_storage_engine(url: str, read_only: bool = False) -> Engine:
    """An Engine configured as authz needs it: on SQLite, foreign keys on, WAL, durable
    commits, a busy timeout and real transactions (we emit BEGIN ourselves, since pysqlite's
    legacy mode would not, which leaves reads outside any snapshot). `read_only` opens a SQLite
    file without writing to it or beside it (see _connect_read_only)."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 -- SQLAlchemy raises ArgumentError and ValueError alike
        raise ConfigError(f"{url!r} is not a database URL: use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB") \
            from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def on_pg_connect(dbapi_connection: Any, _record: Any) -> None:
            # Once per connection rather than SET LOCAL in every write: one round trip less
            # on the path of each acknowledged write. (migrate waits without a limit.)
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
            dbapi_connection.commit()

        return engine
    if backend != "sqlite":
        raise ConfigError(f"unsupported database URL {parsed!r}: use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB")
    database = parsed.database or ""
    if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
        raise ConfigError("an in-memory SQLite database cannot be shared; give sqlite:///FILE")
    if read_only:
        path = os.path.abspath(database)
        if not os.path.isfile(path):
            raise ConfigError(f"there is no SQLite database at {path}; give the server's --database-url")
        engine = create_engine("sqlite://", creator=lambda: _connect_read_only(path))
    else:
        engine = create_engine(parsed)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite: no implicit BEGIN/COMMIT
        cursor = dbapi_connection.cursor()
        try:
            # The timeout first, so that switching to WAL waits out another process.
            cursor.execute(f"PRAGMA busy_timeout = {LOCK_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if read_only:
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            # Checkpoint every ~80 MB of WAL rather than 4 MB: an Import's commits rewrite many
            # of the same B-tree pages, which a checkpoint then copies once instead of after
            # every commit (a fifth less insert time, measured at 300,000 bindings).
            cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(_SQLITE_BEGIN, "BEGIN"))

    return engine


def _first_line(error: BaseException) -> str:
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:200]


@contextmanager
def _reachable(what: str) -> Iterator[None]:
    """Turns "the database cannot be reached" (no connection, one lost, the server shutting
    down) into Unavailable; other database errors pass through."""
    try:
        yield
    except DBAPIError as error:
        if _is_conflict(error):
            raise
        if error.connection_invalidated or isinstance(error, (OperationalError, InterfaceError)):
            raise Unavailable(f"database unreachable; {what} ({_first_line(error)})") from error
        raise


def _connect_read_only(path: str) -> sqlite3.Connection:
    """`path` opened read-only. A WAL database needs its -shm file, which SQLite cannot create in
    a directory this process may not write; when it is missing there no connection is open on
    the file (the last one to close removes it), so the file is read as immutable."""
    quoted = urllib.parse.quote(path)
    connection = sqlite3.connect(f"file:{quoted}?mode=ro", uri=True, check_same_thread=False)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return connection
    except sqlite3.OperationalError:
        connection.close()
    return sqlite3.connect(f"file:{quoted}?immutable=1", uri=True, check_same_thread=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


class SqlStorage:
    def __init__(self, url: str, read_only: bool = False) -> None:
        """`read_only` for commands that only read (export, policy diff): nothing is written to the
        database or beside it; call check_schema() instead of migrate()."""
        self._url = url
        self._engine = create_storage_engine(url, read_only)
        self._sqlite = self._engine.dialect.name == "sqlite"

    # Migrations.

    def migrate(self) -> tuple[str | None, str]:
        """Bring the schema to the newest migration; the migration it was at (None: no schema)
        and the one it is at now."""
        with self.reachable():
            return self._migrate()

    def check_schema(self) -> None:
        """FailedPrecondition unless the schema is at the newest migration (without changing it)."""
        with self.reachable(), self._engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        if current != head:
            found = f"is at migration {current}" if current else "has no authz schema"
            raise FailedPrecondition(f"the database {self.shown_url} {found}, not {head}; run `authz migrate` on it")

    @property
    def shown_url(self) -> str:
        """The URL without its password, for messages."""
        if self._sqlite:
            return self._sqlite_path()
        return make_url(self._url).render_as_string(hide_password=True)

    @contextmanager
    def reachable(self) -> Iterator[None]:
        """Errors opening the database as Unavailable, saying which database and why."""
        try:
            yield
        except OperationalError as error:
            detail = str(error.orig).strip().splitlines()
            reason = detail[0].strip().removeprefix("connection failed: ") if detail else type(error.orig).__name__
            if self._sqlite:
                raise Unavailable(f"cannot open the SQLite database {self.shown_url}: {reason}; check that its "
                                  "directory exists and that this user may write there") from None
            raise Unavailable(f"cannot reach the database {self.shown_url}: {reason}; check that the server is "
                              "running and the database exists") from None

    def _migrate(self) -> tuple[str | None, str]:
        if self._sqlite:
            with _file_lock(f"{self._sqlite_path()}.migrate.lock"), self._write() as connection:
                return _upgrade(connection)
        with self._engine.connect() as connection:
            connection.exec_driver_sql("SET lock_timeout = 0")  # wait for another migration
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                with connection.begin():
                    return _upgrade(connection)
            finally:
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                    connection.exec_driver_sql(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
                    connection.commit()
                except DBAPIError:
                    connection.invalidate()  # closing the session releases its locks

    def _sqlite_path(self) -> str:
        return os.path.abspath(self._engine.url.database or "")

    # Writes.

    def commit(self, revision: int, changes: Sequence[Change], record: WriteRecord) -> None:
        commit_expecting(self, revision, changes, record, LOCK_TIMEOUT_MS / 1000)

    def begin_write(self, timeout: float) -> SqlWriteSession:
        """A write transaction holding the database's write lock (the revision counter's row on
        PostgreSQL, SQLite's write lock), waiting up to `timeout` seconds for another writer to
        let go of it; Unavailable after that, or when the database cannot be reached."""
        wait_ms = max(1, int(timeout * 1000))
        connection = None
        try:
            with _reachable("the write is not acknowledged, retry"):
                connection = self._engine.connect()
                if self._sqlite:
                    sqlite = connection.connection.driver_connection
                    assert sqlite is not None
                    sqlite.execute(f"PRAGMA busy_timeout = {wait_ms}")
                    sqlite.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
                    connection.execution_options(**{_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
                    transaction = connection.begin()
                    head = connection.execute(_CURRENT).scalar_one()
                else:
                    transaction = connection.begin()
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {wait_ms}")
                    head = connection.execute(_LOCK).scalar_one()
        except DBAPIError as error:
            if connection is not None:
                self._release(connection)
            if _is_conflict(error):
                raise Unavailable(f"another writer held the database's write lock for {timeout:.1f}s; the write "
                                  "is not acknowledged, retry") from error
            raise
        except BaseException:
            if connection is not None:
                self._release(connection)
            raise
        return SqlWriteSession(self, connection, transaction, head)

    def _release(self, connection: Connection) -> None:
        """Give a write connection back: rolled back, with SQLite's usual cache and busy timeout."""
        try:
            if connection.in_transaction():
                connection.rollback()
            if self._sqlite and not connection.invalidated:
                sqlite = connection.connection.driver_connection
                assert sqlite is not None
                sqlite.execute(f"PRAGMA cache_size = -{DEFAULT_CACHE_KIB}")
                sqlite.execute(f"PRAGMA busy_timeout = {LOCK_TIMEOUT_MS}")
        except DBAPIError:
            connection.invalidate()
        finally:
            connection.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it takes the write lock at BEGIN, so that two
        writers queue up front instead of failing on lock upgrade halfway through. SQLite gets
        a page cache of WRITE_CACHE_KIB for the transaction (an Import of 10,000 rows touches
        thousands of index pages, which the default 2 MiB cache would read again and again),
        given back when it ends so that it does not stay in the server's memory."""
        with self._engine.connect() as connection:
            if not self._sqlite:
                with connection.begin():
                    yield connection
                return
            connection.execution_options(**{_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
            sqlite = connection.connection.driver_connection  # outside SQLAlchemy's transaction
            assert sqlite is not None
            sqlite.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
            try:
                with connection.begin():
                    yield connection
            finally:
                sqlite.execute(f"PRAGMA cache_size = -{DEFAULT_CACHE_KIB}")

    # Reads.

    def load(self, sink: Callable[[Iterable[Row]], None]) -> int:
        with _reachable("cannot load the stored state"), self._engine.connect() as connection:
            if not self._sqlite:
                connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with connection.begin():
                revision = connection.execute(_CURRENT).scalar_one()
                # The driver's own cursor, inside the same transaction: plain tuples, streamed
                # (a server-side cursor on PostgreSQL), without a Row object per row.
                driver = connection.connection.driver_connection
                assert driver is not None
                builders = load_builders()
                for number, row_type in enumerate(LOAD_ORDER):
                    mapping = MAPPINGS[row_type]
                    build = builders[row_type]
                    query = str(mapping.select.compile(dialect=self._engine.dialect))
                    if self._sqlite:
                        cursor = driver.execute(query)
                    else:
                        cursor = driver.cursor(name=f"authz_load_{number}")
                        cursor.itersize = LOAD_BATCH
                        cursor.execute(query)
                    try:
                        sink(map(build, cursor))
                    finally:
                        cursor.close()
        return revision

    def revision(self) -> int:
        with _reachable("cannot read the revision"), self._engine.connect() as connection:
            return connection.execute(_CURRENT).scalar_one()

    def list_role_bindings(self, limit: int, after_id: str | None, expires_before: float = 0.0) -> list[BindingRow]:
        if limit <= 0:
            return []
        mapping = MAPPINGS[BindingRow]
        table = schema.role_bindings
        query = mapping.select.order_by(table.c.id).limit(limit)
        if after_id:
            query = query.where(table.c.id > after_id)
        if expires_before:
            query = query.where(table.c.expires_at.is_not(None), table.c.expires_at < expires_before)
        with _reachable("cannot list bindings"), self._engine.connect() as connection:
            return [cast(BindingRow, mapping.build(values)) for values in connection.execute(query)]

    def read_changes(self, after: int, limit: int) -> list[WriteRecord]:
        if limit <= 0:
            return []
        table = schema.changes
        query = (
            select(
                table.c.revision, table.c.operations, table.c.actor, table.c.request_id, table.c.committed_at,
                table.c.row_changes,
            )
            .where(table.c.revision > after)
            .order_by(table.c.revision)
            .limit(limit)
        )
        with _reachable("cannot read the change table"), self._engine.connect() as connection:
            rows = connection.execute(query).all()
        builders = load_builders()
        return [
            WriteRecord(revision, codec.decode(operations), actor, request_id, committed_at,
                        None if row_changes is None else decode_changes(row_changes, builders))
            for revision, operations, actor, request_id, committed_at, row_changes in rows
        ]

    def prune_changes(self, keep_count: int, older_than: float) -> int:
        """Delete change records beyond the newest `keep_count` (0: no limit by count) and those
        committed before `older_than` (unix seconds; 0: no limit by age); how many. In batches of
        PRUNE_BATCH, each a short transaction, so that writers wait for none for long."""
        table = schema.changes
        with _reachable("cannot prune the change table"), self._engine.connect() as connection:
            head = connection.execute(_CURRENT).scalar_one()
            cutoff = 0  # records with revision <= cutoff go
            if keep_count:
                cutoff = max(cutoff, head - keep_count)
            if older_than:
                newest_old = connection.execute(
                    select(func.max(table.c.revision)).where(table.c.committed_at < older_than)
                ).scalar_one()
                cutoff = max(cutoff, newest_old or 0)
            oldest = connection.execute(select(func.min(table.c.revision))).scalar_one()
            connection.rollback()
        if oldest is None or cutoff < oldest:
            return 0
        deleted = 0
        for start in range(oldest, cutoff + 1, PRUNE_BATCH):
            end = min(cutoff, start + PRUNE_BATCH - 1)
            with _reachable("cannot prune the change table"), self._write() as connection:
                result = connection.execute(table.delete().where(table.c.revision <= end))
                deleted += result.rowcount
        return deleted

    @property
    def notifies(self) -> bool:
        """Does a commit notify followers (listen_for_changes), or must they poll?"""
        return not self._sqlite

    def listen_for_changes(self, wake: Callable[[], None], stopped: threading.Event) -> None:
        """Call `wake` whenever another process commits, until `stopped` is set; blocks (run it on
        a thread of its own). PostgreSQL only: a connection of its own LISTENs on NOTIFY_CHANNEL,
        and connects again after LISTEN_RETRY_SECONDS when lost, waking once it has (a commit
        may have gone unnoticed meanwhile)."""
        import psycopg  # only PostgreSQL gets here

        dsn = self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not stopped.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS) as connection:
                    connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    wake()
                    while not stopped.is_set():
                        for _ in connection.notifies(timeout=LISTEN_RETRY_SECONDS, stop_after=1):
                            wake()
            except psycopg.Error:
                stopped.wait(LISTEN_RETRY_SECONDS)
    def retained_from(self) -> int:
        with _reachable("cannot read the change table"), self._engine.connect() as connection:
            return connection.execute(_RETAINED_FROM).scalar_one()

    def close(self) -> None:
        self._engine.dispose()


class SqlWriteSession:
    """One write transaction holding the database's write lock (SqlStorage.begin_write). `head`
    is the stored revision under the lock: no other writer can move it until `close`. Call it
    from one thread at a time; `close` always (it rolls back what `commit` did not end)."""

    def __init__(self, storage: SqlStorage, connection: Connection, transaction: Any, head: int) -> None:
        self._storage = storage
        self._connection = connection
        self._transaction = transaction
        self.head = head

    def commit(self, changes: Sequence[Change], record: WriteRecord) -> None:
        """Apply `changes`, append `record` (whose revision must be head + 1) and commit. Returns
        once durable; the write lock is released."""
        revision = self.head + 1
        if record.revision != revision:
            raise ValueError(f"record is for revision {record.revision}, not {revision}")
        # Encoded before anything is written, so that an unencodable record writes nothing.
        operations = codec.encode(record.operations)
        row_changes = encode_changes(changes)
        connection = self._connection
        with _reachable("the write is not acknowledged, retry"):
            _apply(connection, changes)
            connection.execute(
                schema.changes.insert(),
                {
                    "revision": revision,
                    "committed_at": record.committed_at or time.time(),
                    "actor": record.actor,
                    "request_id": record.request_id,
                    "operations": operations,
                    "row_changes": row_changes,
                },
            )
            connection.execute(_SET_REVISION, {"revision": revision})
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_notify(:channel, :revision)"),
                                   {"channel": NOTIFY_CHANNEL, "revision": str(revision)})
            self._transaction.commit()
        self.head = revision

    def close(self) -> None:
        self._storage._release(self._connection)


def _apply(connection: Connection, changes: Sequence[Change]) -> None:
    """Apply `changes` in order, each run of same-kind changes to the same table as one
    executemany."""
    for (kind, row_type), run in itertools.groupby(changes, lambda c: (type(c), type(c.row))):
        mapping = MAPPINGS.get(row_type)
        if mapping is None:
            raise TypeError(f"not a stored row: {row_type.__name__}")
        rows = [change.row for change in run]
        if kind is Put:
            _insert(connection, mapping.table.name, [mapping.values(row) for row in rows])
        elif kind is Remove:
            result = connection.execute(mapping.delete, [mapping.key_values(row) for row in rows])
            # Each statement deletes at most one row (by primary key), so a shortfall in the
            # total means some row to remove was not there.
            if result.rowcount != len(rows):
                missing = len(rows) - result.rowcount
                raise ConcurrentWrite(
                    f"{missing} of {len(rows)} {mapping.table.name} rows to remove are not stored; "
                    "memory and database have diverged"
                )
        else:
            raise TypeError(f"not a change: {kind.__name__}")


def _insert(connection: Connection, table: str, values: list[dict[str, Any]]) -> None:
    """Insert rows given as column -> value dicts (all with the same columns, in the same
    order). Through the driver with plain tuples: SQLAlchemy's per-row parameter processing
    costs more than SQLite's insert itself at 10,000 rows per Import. On PostgreSQL, many
    rows go through COPY, which streams them in one statement (psycopg encodes them in C)."""
    tuples = [tuple(each.values()) for each in values]
    if connection.dialect.name != "postgresql" or len(tuples) < COPY_FROM_ROWS:
        connection.exec_driver_sql(_insert_sql(connection, table, values[0]), tuples)
        return
    statement = f"COPY {table} ({', '.join(values[0])}) FROM STDIN"
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            write_row = copy.write_row
            for each in tuples:
                write_row(each)
    except connection.dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy would have raised it (IntegrityError, OperationalError...), so that
        # callers see one kind of error whichever way the rows went in.
        raise DBAPIError.instance(statement, None, error, connection.dialect.loaded_dbapi.Error) from error


def _insert_sql(connection: Connection, table: str, values: dict[str, Any]) -> str:
    """INSERT INTO table (columns of `values`, in order) VALUES (the driver's placeholders)."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(values)
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join([marker] * len(values))})"


def _upgrade(connection: Connection) -> tuple[str | None, str]:
    before = MigrationContext.configure(connection).get_current_revision()
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    after = MigrationContext.configure(connection).get_current_revision()
    assert after is not None
    return before, after


def _is_conflict(error: DBAPIError) -> bool:
    code = getattr(error.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _SQLITE_CONFLICTS
    return getattr(error.orig, "sqlstate", None) in _POSTGRES_CONFLICTS


@contextmanager
def _file_lock(path: str) -> Iterator[None]:
    """An exclusive flock on `path` (created if missing, never removed: removing it would let
    a third process lock a new file while a second still holds the old one)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise ConfigError(f"cannot create the migration lock {path}: {error.strerror}; the directory of the "
                          "SQLite database must exist and be writable") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
