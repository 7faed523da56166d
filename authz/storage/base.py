"""What the rest of authz needs from a database. One contract suite
(tests/integration/test_storage_contract.py) proves every implementation against it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from authz.domain.model import BindingRow, Change, Row
from authz.domain.operations import WriteRecord


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
        `changes` in order, and append `record` to the change table. Returns once durable."""

    def revision(self) -> int:
        """The newest committed revision (0 for an empty database)."""

    def list_role_bindings(self, limit: int, after_id: str | None, expires_before: float = 0.0) -> list[BindingRow]:
        """Up to `limit` bindings ordered by id (bytewise), starting after `after_id`; with
        `expires_before`, only those with an expiry before it."""

    def read_changes(self, after: int, limit: int) -> list[WriteRecord]:
        """Change-table records with revision > `after`, oldest first."""

    def close(self) -> None:
        """Release connections."""
