from __future__ import annotations

import pytest

from authz.testing.server import Server


@pytest.fixture
def server(tmp_path, database_url):
    """A running `authz serve` on SQLite and on PostgreSQL (the `database_url` parameter)."""
    instance = Server(tmp_path, database_url).start()
    yield instance
    instance.stop()


@pytest.fixture
def sqlite_server(tmp_path):
    instance = Server(tmp_path, f"sqlite:///{tmp_path / 'authz.db'}").start()
    yield instance
    instance.stop()
