"""The in-process API tier: a real grpc.aio server in the test process (authz/testing/in_process.py),
registered as `authz serve` registers, over the in-memory storage. Tests need nothing outside
the process: no server to start, no database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_world import ADMIN_TOKEN, CHECK_TOKEN, POLICIES

from authz.api.interceptors.auth import Tokens
from authz.testing.in_process import InProcessServer


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """A copy of the bundled policies, which a test may change (a reload reads it)."""
    directory = tmp_path / "policies"
    shutil.copytree(POLICIES, directory)
    return directory


@pytest.fixture
def make_server(policies: Path) -> Iterator:
    """Start servers as a test needs them (`make_server(storage=..., ready=False)`); all are stopped after it."""
    started: list[InProcessServer] = []

    def make(storage=None, ready: bool = True, **options) -> InProcessServer:
        server = InProcessServer(policies, storage, Tokens(admin=ADMIN_TOKEN, check=CHECK_TOKEN), **options)
        started.append(server)
        return server.start(ready)

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def api(make_server) -> InProcessServer:
    server: InProcessServer = make_server()
    return server
