"""MemoryStorage: the Storage Protocol (authz/storage/base.py) over dicts, with no SQL.

For tests that want a real storage without a database (the in-process API tier), and a third
backend for the storage contract suite (tests/contract/), which proves it by the same
assertions as SQLite and PostgreSQL. It keeps what the schema promises: one row per key, a
binding once per (subject, role, node), no child without its parent and no parent removed
before its children, a commit whole or not at all, a gap-free revision with one change record
each. `reopen()` gives another handle on the same data, as a second connection would."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import replace

from authz.domain.errors import ConcurrentWrite, Unavailable
from authz.domain.model import (
    BindingRow,
    Change,
    MemberRow,
    OrganizationRow,
    ProjectRow,
    Put,
    Remove,
    RoleRow,
    Row,
    ShareRow,
    TeamRow,
    WorkspaceRow,
)
from authz.domain.operations import WriteRecord
from authz.storage.base import commit_expecting

SCHEMA = "memory"  # the one "migration" a MemoryStorage has

LOAD_ORDER = (RoleRow, OrganizationRow, WorkspaceRow, ProjectRow, TeamRow, MemberRow, BindingRow, ShareRow)


def key_of(row: Row) -> Hashable:
    """The row's primary key, as its table has it."""
    if isinstance(row, MemberRow):
        return row.team_id, row.subject
    if isinstance(row, ShareRow):
        return row.node, row.resource_type, row.resource_id, row.subject
    if isinstance(row, RoleRow):
        return row.name
    return row.id


def parent_of(row: Row) -> tuple[type, str] | None:
    """The (row type, key) of the row its foreign key names, or None."""
    if isinstance(row, (WorkspaceRow, TeamRow)):
        return OrganizationRow, row.organization_id
    if isinstance(row, ProjectRow):
        return WorkspaceRow, row.workspace_id
    if isinstance(row, MemberRow):
        return TeamRow, row.team_id
    return None


class IntegrityViolation(Exception):
    """A change the schema refuses (a duplicate key, a missing parent, a parent with children):
    what SQLAlchemy's IntegrityError is to SqlStorage. Memory and storage have diverged."""


class _Data:
    """The stored state that handles of one MemoryStorage share."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # held for a moment: a read, or applying one commit
        self.write_lock = threading.Lock()  # the database's write lock, held by a write session
        self.migrated = False
        self.revision = 0
        self.tables: dict[type, dict[Hashable, Row]] = {row_type: {} for row_type in LOAD_ORDER}
        self.children: Counter[tuple[type, Hashable]] = Counter()  # (parent type, key) -> children
        self.binding_keys: set[tuple] = set()  # (subject, role, node) of every binding
        self.records: list[WriteRecord] = []

    def apply(self, change: Change) -> Change:
        """Apply one change, checking the constraints; the change that undoes it."""
        row = change.row
        row_type = type(row)
        table = self.tables.get(row_type)
        if table is None:
            raise TypeError(f"not a stored row: {row_type.__name__}")
        key = key_of(row)
        parent = parent_of(row)
        if type(change) is Put:
            if key in table:
                raise IntegrityViolation(f"a {row_type.__name__} with key {key!r} is stored already")
            if parent is not None and parent[1] not in self.tables[parent[0]]:
                raise IntegrityViolation(f"{row_type.__name__} {key!r}: its {parent[0].__name__} is not stored")
            if isinstance(row, BindingRow):
                unique = (row.subject, row.role, row.node)
                if unique in self.binding_keys:
                    raise IntegrityViolation(f"a binding of {row.subject} to {row.role} on {row.node} is stored")
                self.binding_keys.add(unique)
            table[key] = row
            if parent is not None:
                self.children[parent] += 1
            return Remove(row)
        stored = table.get(key)
        if stored is None:
            raise ConcurrentWrite(f"a {row_type.__name__} to remove ({key!r}) is not stored; memory and storage "
                                  "have diverged")
        if self.children[(row_type, key)]:
            raise IntegrityViolation(f"{row_type.__name__} {key!r} still has children")
        del table[key]
        if isinstance(stored, BindingRow):
            self.binding_keys.discard((stored.subject, stored.role, stored.node))
        if parent is not None:
            self.children[parent] -= 1
        return Put(stored)  # the row as it was stored (a remove goes by key, whatever the rest)


class MemoryStorage:
    def __init__(self, data: _Data | None = None) -> None:
        self._data = data or _Data()

    def reopen(self) -> MemoryStorage:
        """Another handle on the same stored state (a second process on the same database)."""
        return MemoryStorage(self._data)

    def migrate(self) -> tuple[str | None, str]:
        with self._data.lock:
            before = SCHEMA if self._data.migrated else None
            self._data.migrated = True
        return before, SCHEMA

    def load(self, sink: Callable[[Iterable[Row]], None]) -> int:
        data = self._data
        with data.lock:  # the snapshot: a copy of each table, taken at one revision
            revision = data.revision
            tables = [list(data.tables[row_type].values()) for row_type in LOAD_ORDER]
        for rows in tables:
            sink(rows)
        return revision

    def commit(self, revision: int, changes: Sequence[Change], record: WriteRecord) -> None:
        commit_expecting(self, revision, changes, record, 5.0)

    def begin_write(self, timeout: float) -> MemoryWriteSession:
        if not self._data.write_lock.acquire(timeout=max(timeout, 0.001)):
            raise Unavailable(f"another writer held the database's write lock for {timeout:.1f}s; the write is "
                              "not acknowledged, retry")
        return MemoryWriteSession(self, self._data.revision)

    def _write(self, revision: int, changes: Sequence[Change], record: WriteRecord) -> None:
        """The one write, with the write lock held (a session's): the changes apply in order,
        all or none; the revision moves to `revision`; the record, with the changes as its row
        changes, joins the change records."""
        data = self._data
        with data.lock:
            undo: list[Change] = []
            try:
                for change in changes:
                    undo.append(data.apply(change))
            except BaseException:
                for change in reversed(undo):
                    data.apply(change)
                raise
            data.revision = revision
            data.records.append(replace(record, committed_at=record.committed_at or time.time(),
                                        changes=tuple(changes)))

    def revision(self) -> int:
        return self._data.revision

    def list_role_bindings(self, limit: int, after_id: str | None, expires_before: float = 0.0) -> list[BindingRow]:
        if limit <= 0:
            return []
        with self._data.lock:
            rows = [row for row in self._data.tables[BindingRow].values() if isinstance(row, BindingRow)
                    and (not after_id or row.id > after_id)
                    and (not expires_before or 0 < row.expires_at < expires_before)]
        rows.sort(key=lambda row: row.id.encode())  # bytewise, as the tables compare ids
        return rows[:limit]

    def read_changes(self, after: int, limit: int) -> list[WriteRecord]:
        if limit <= 0:
            return []
        with self._data.lock:
            return [record for record in self._data.records if record.revision > after][:limit]

    def prune_changes(self, keep_count: int, older_than: float) -> int:
        data = self._data
        with data.lock:
            cutoff = max(data.revision - keep_count, 0) if keep_count else 0
            if older_than:
                cutoff = max([cutoff, *(r.revision for r in data.records if r.committed_at < older_than)])
            kept = [record for record in data.records if record.revision > cutoff]
            deleted = len(data.records) - len(kept)
            data.records = kept
        return deleted

    def retained_from(self) -> int:
        data = self._data
        with data.lock:
            return data.records[0].revision if data.records else data.revision + 1

    @property
    def notifies(self) -> bool:
        """No notifications: followers poll."""
        return False

    def listen_for_changes(self, wake: Callable[[], None], stopped: threading.Event) -> None:
        stopped.wait()  # never called while `notifies` is False; waits as the Protocol says

    def close(self) -> None:
        """Nothing to release: the data stays for other handles (and for `reopen`)."""


class MemoryWriteSession:
    """A write holding the MemoryStorage's write lock (MemoryStorage.begin_write)."""

    def __init__(self, storage: MemoryStorage, head: int) -> None:
        self._storage = storage
        self.head = head
        self._held = True

    def commit(self, changes: Sequence[Change], record: WriteRecord) -> None:
        revision = self.head + 1
        if record.revision != revision:
            raise ValueError(f"record is for revision {record.revision}, not {revision}")
        self._storage._write(revision, changes, record)
        self.head = revision
        self.close()  # committed: the lock is released, as SqlWriteSession's commit does

    def close(self) -> None:
        if self._held:
            self._held = False
            self._storage._data.write_lock.release()
