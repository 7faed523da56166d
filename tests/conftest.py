"""Fixtures shared by every test layer: database URLs for SQLite and PostgreSQL.

PostgreSQL tests use the server at AUTHZ_TEST_POSTGRES_URL (default: the local `test`
database) and get a fresh database each. When the server is unreachable they are skipped,
or fail when AUTHZ_REQUIRE_POSTGRES=1 (as in CI, where a silent skip would hide a gap).
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    """A URL of a database on the test server from which databases can be created."""
    url = make_url(os.environ.get("AUTHZ_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@functools.cache
def postgres_unreachable(url: str) -> str | None:
    """Why the PostgreSQL server at `url` cannot be used, or None when it can (probed once)."""
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 -- any failure to connect means "unreachable", with its reason
        shown = make_url(url).render_as_string(hide_password=True)
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()
        return f"PostgreSQL at {shown} is unreachable: {detail[0] if detail else type(error).__name__}"
    finally:
        engine.dispose()
    return None


def require_postgres() -> str:
    """The admin URL of a reachable server; otherwise skip the calling test, or fail it when
    AUTHZ_REQUIRE_POSTGRES=1."""
    url = postgres_admin_url()
    reason = postgres_unreachable(url)
    if reason is not None:
        if os.environ.get("AUTHZ_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (and AUTHZ_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(reason)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'authz.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the test server, dropped after the test."""
    admin_url = require_postgres()
    name = f"authz_test_{secrets.token_hex(8)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: the URL of a fresh, empty (unmigrated) database."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture(scope="session")
def prometheus_tools() -> dict[str, str]:
    """Paths of Debian's `prometheus` and `promtool`. Missing, the calling test is skipped with
    the reason, or fails when AUTHZ_REQUIRE_PROMETHEUS=1 (as .ci/run sets, having installed them)."""
    found = {name: shutil.which(name) for name in ("prometheus", "promtool")}
    missing = sorted(name for name, path in found.items() if path is None)
    if missing:
        reason = f"{' and '.join(missing)} not installed (apt-get install prometheus)"
        if os.environ.get("AUTHZ_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(f"{reason} (and AUTHZ_REQUIRE_PROMETHEUS=1)", pytrace=False)
        pytest.skip(reason)
    return {name: path for name, path in found.items() if path is not None}
