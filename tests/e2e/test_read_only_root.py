"""The Kubernetes manifest runs the sidecar on a read-only root filesystem with no writable
volume. That holds because with PostgreSQL and token files the server writes no file: here it
runs in a mount namespace of its own where / is read-only, serves, takes writes and a reload,
and stops cleanly."""

from __future__ import annotations

import os
import shutil
import signal

import pytest

from authz.testing import example
from authz.testing.server import Server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

# Bind / onto itself read-only, in a private mount namespace (nothing outside it changes).
READ_ONLY_ROOT = ("unshare", "--mount", "--propagation", "private", "sh", "-c",
                  'mount --bind / / && mount -o remount,bind,ro / && exec "$@"', "read-only-root")


def test_the_server_writes_nothing_with_postgres_and_token_files(tmp_path, postgres_url):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to mount / read-only in a namespace of its own")
    (tmp_path / "admin.token").write_text("admin-token\n")
    (tmp_path / "check.token").write_text("check-token\n")
    server = Server(
        tmp_path, postgres_url, "--admin-token-file", str(tmp_path / "admin.token"),
        "--check-token-file", str(tmp_path / "check.token"), "--database-probe-seconds", "0.2",
        env={"PYTHONDONTWRITEBYTECODE": "1"}, wrapper=READ_ONLY_ROOT,
    ).start()
    try:
        with server.client(token="admin-token") as client:
            client.import_operations(example.operations())
            assert client.check("user:ada", "update", "pipeline/train", project="staging-recommendations").allowed
            from authz._gen.authz.v1 import policy_pb2

            assert client._call(client.policy.Reload, policy_pb2.ReloadRequest()).message
    finally:
        code = server.stop(signal.SIGTERM)
    log = server.log()
    assert code == 0, log
    assert "Read-only file system" not in log and "Traceback" not in log, log
    assert sorted(p.name for p in tmp_path.iterdir()) == ["admin.token", "check.token"]
