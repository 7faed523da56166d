"""The storage contract (storage_contract.py) on every backend: the in-memory storage,
SQLite and PostgreSQL. Each test gets a fresh database; `make_storage` opens a handle on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from contract.storage_contract import MakeStorage, StorageContract

from authz.storage.base import Storage
from authz.storage.sql import SqlStorage
from authz.testing.memory_storage import MemoryStorage


def _handles(open_one) -> Iterator[MakeStorage]:
    """A `make_storage` whose handles are all closed after the test."""
    opened: list[Storage] = []

    def make() -> Storage:
        opened.append(open_one())
        return opened[-1]

    yield make
    for store in opened:
        store.close()


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def make_storage(self) -> Iterator[MakeStorage]:
        database = MemoryStorage()
        yield from _handles(database.reopen)


class TestSqliteStorage(StorageContract):
    @pytest.fixture
    def make_storage(self, sqlite_url: str) -> Iterator[MakeStorage]:
        yield from _handles(lambda: SqlStorage(sqlite_url))


@pytest.mark.postgres
class TestPostgresStorage(StorageContract):
    @pytest.fixture
    def make_storage(self, postgres_url: str) -> Iterator[MakeStorage]:
        yield from _handles(lambda: SqlStorage(postgres_url))
