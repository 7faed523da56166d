"""A PostgreSQL outage under a running server: writes answer UNAVAILABLE saying the database
is unreachable, with no traceback anywhere; checks go on from memory; once the database is
back, writes go on. The test starts its own PostgreSQL (initdb and pg_ctl in a temporary
directory, on a free port), never the shared one, since it stops it."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import grpc
import pytest

from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz.testing.server import Server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
CODE = grpc.StatusCode


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    """A throw-away PostgreSQL cluster. As root it runs as the `postgres` user (initdb
    refuses root)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(directory, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self.prefix, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def private_postgres():
    missing = [tool for tool in ("initdb", "pg_ctl") if shutil.which(tool) is None]
    if missing or (os.geteuid() == 0 and shutil.which("runuser") is None):
        reason = f"cannot start a private PostgreSQL: {', '.join(missing) or 'runuser'} not found"
        if os.environ.get("AUTHZ_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (and AUTHZ_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(reason)
    # Not under pytest's directory: the postgres user could not reach into it.
    directory = Path(tempfile.mkdtemp(prefix="authz-outage-"))
    try:
        cluster = PrivatePostgres(directory)
        cluster.init()
        cluster.start()
        yield cluster
        with contextlib.suppress(RuntimeError):  # already stopped
            cluster.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_writes_during_an_outage_are_unavailable_and_checks_go_on(tmp_path, private_postgres):
    server = Server(tmp_path, private_postgres.url).start()
    try:
        with server.client() as client:
            client.create_organization("acme")
            client.create_workspace("w", "acme")
            client.create_project("p", "w")
            before = client.create_role_binding("user:ada", "project_viewer", project="p").revision
            private_postgres.stop()
            for attempt in range(3):
                with pytest.raises(grpc.RpcError) as caught:
                    client.create_role_binding(f"user:b{attempt}", "project_viewer", project="p")
                assert caught.value.code() == CODE.UNAVAILABLE
                assert caught.value.details().startswith("database unreachable"), caught.value.details()
            with pytest.raises(grpc.RpcError) as caught:
                client._call(client.directory.ListRoleBindings, dir_pb.ListRoleBindingsRequest())
            assert caught.value.code() == CODE.UNAVAILABLE
            answer = client.check("user:ada", "read", "model/m", project="p")
            assert answer.allowed and answer.revision == before
            private_postgres.start()
            after = client.create_role_binding("user:back", "project_viewer", project="p")
            assert after.revision == before + 1
            assert client.check("user:back", "read", "model/m", project="p").allowed
    finally:
        server.stop()
    log = server.log()
    assert "Traceback" not in log, log
    assert "database unreachable" in log
