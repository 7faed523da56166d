"""What the rest of authz needs from a database. One contract suite
(tests/contract/storage_contract.py) proves every implementation against it: SqlStorage on
SQLite and PostgreSQL, and authz/testing/memory_storage.py."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from authz.domain.errors import ConcurrentWrite
from authz.domain.model import BindingRow, Change, Row
from authz.domain.operations import WriteRecord


class WriteSession(Protocol):
    """A write holding the database's write lock (Storage.begin_write)."""

    head: int  # the newest committed revision; the session's commit makes head + 1

    def commit(self, changes: Sequence[Change], record: WriteRecord) -> None:
        """Apply `changes`, append `record` (revision head + 1) and commit; once durable, the
        lock is released and `head` is the new revision."""

    def close(self) -> None:
        """Release the lock, rolling back what was not committed."""


class Storage(Protocol):
    def migrate(self) -> tuple[str | None, str]:
        """Bring the schema to the newest migration and return (the migration before, None for
        an empty database; the migration now). Safe to run from several processes at once: a
        lock (a PostgreSQL advisory lock; a file lock beside a SQLite file) serialises them."""

    def load(self, sink: Callable[[Iterable[Row]], None]) -> int:
        """Feed every stored row to `sink` from one consistent snapshot, one call per table
        with an iterable of its rows (all of one type), parents before children (custom
        roles, organizations, workspaces, projects, teams, members, bindings, shares), and
        return the revision of that snapshot."""

    def commit(self, revision: int, changes: Sequence[Change], record: WriteRecord) -> None:
        """In one transaction: advance the revision counter, which must move from
        `revision - 1` to `revision` (else ConcurrentWrite, and nothing is written), apply
        `changes` in order, and append `record` (with `changes` as its row changes) to the
        change table. Returns once durable."""

    def begin_write(self, timeout: float) -> WriteSession:
        """Take the database's write lock, waiting up to `timeout` seconds for another writer
        (of this process or another) to let go of it, else Unavailable. While the session is
        open no other writer commits: its `head` is the newest revision, and every change record
        up to it can be read (read_changes)."""

    def read_changes(self, after: int, limit: int) -> list[WriteRecord]:
        """Change-table records with revision > `after`, oldest first, with their row changes
        (None for records older than migration 0005). Committed records are always a gap-free
        run; records pruned away leave a gap before the oldest one kept."""

    def prune_changes(self, keep_count: int, older_than: float) -> int:
        """Delete change records beyond the newest `keep_count` (0: no limit) and those committed
        before `older_than` (unix seconds; 0: no limit); how many were deleted."""

    @property
    def notifies(self) -> bool:
        """True when listen_for_changes tells of other processes' commits; else followers poll."""

    def listen_for_changes(self, wake: Callable[[], None], stopped: threading.Event) -> None:
        """Call `wake` after other processes commit, until `stopped` is set (blocking; only
        when `notifies`)."""

    def revision(self) -> int:
        """The newest committed revision (0 for an empty database)."""

    def list_role_bindings(self, limit: int, after_id: str | None, expires_before: float = 0.0) -> list[BindingRow]:
        """Up to `limit` bindings ordered by id (bytewise), starting after `after_id`; with
        `expires_before`, only those with an expiry before it."""

    def retained_from(self) -> int:
        """The lowest revision r such that every change record with revision >= r is still
        stored: the oldest record's revision, or the newest revision + 1 when none is kept.
        (Pruning removes the oldest records; a reader after a revision below r - 1 has missed
        some.)"""

    def close(self) -> None:
        """Release connections."""


def commit_expecting(storage: Storage, revision: int, changes: Sequence[Change], record: WriteRecord,
                     timeout: float) -> None:
    """Storage.commit in terms of begin_write, for implementations: ConcurrentWrite unless the
    stored revision is `revision - 1`, else commit as the next revision."""
    session = storage.begin_write(timeout)
    try:
        if session.head != revision - 1:
            raise ConcurrentWrite(f"the stored revision is {session.head}; this write expected {revision - 1}")
        session.commit(changes, record)
    finally:
        session.close()
