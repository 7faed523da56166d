"""The `authz` command line against a real server."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def authz(server, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "authz.cli", *args, "--grpc-address", server.address,
               "--database-url", server.database_url]
    return subprocess.run(command, cwd=server.workdir, capture_output=True, text=True, timeout=60)


def test_load_example_and_check_exit_codes(sqlite_server):
    loaded = authz(sqlite_server, "load-example")
    assert loaded.returncode == 0 and "revision 1" in loaded.stdout, loaded.stderr
    allowed = authz(sqlite_server, "check", "user:ada", "update", "pipeline/train", "--project",
                    "staging-recommendations")
    assert allowed.returncode == 0
    assert allowed.stdout.splitlines()[0] == "allowed"
    assert "workspace_developer bound on workspace:staging through team:data-science" in allowed.stdout
    denied = authz(sqlite_server, "check", "user:ada", "update", "pipeline/train", "--project", "prod-recommendations")
    assert denied.returncode == 1 and denied.stdout.startswith("denied")
    bad = authz(sqlite_server, "check", "ada", "read", "pipeline", "--project", "prod-recommendations")
    assert bad.returncode == 2 and "INVALID_ARGUMENT: subject:" in bad.stderr
    healthy = authz(sqlite_server, "health")
    assert healthy.returncode == 0 and healthy.stdout.strip() == "SERVING"


def test_migrate_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "authz.cli", "migrate", "--database-url", url],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "revision 0" in done.stdout, done.stderr
