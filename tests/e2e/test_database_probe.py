"""The database probe against a PostgreSQL of the test's own, which it stops and starts again:
authz_database_up goes to 0 and back to 1, the last contact stands still while the database is
away, and checks are answered throughout."""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from authz.testing import example
from authz.testing.server import PrivatePostgres, Server

PROBE_SECONDS = "0.2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(server: Server) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {sample.name: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if not sample.labels}


def wait_for(server: Server, name: str, value: float, timeout: float = 20.0) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        seen = scrape(server)
        if seen.get(name) == value:
            return seen
        assert time.monotonic() < deadline, f"{name} is {seen.get(name)}, not {value}\n{server.log()}"
        time.sleep(0.1)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    try:
        database = PrivatePostgres(free_port())
    except FileNotFoundError as error:
        if os.environ.get("AUTHZ_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{error} (and AUTHZ_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(str(error))
    try:
        yield database.init().start()
    finally:
        database.remove()


@pytest.mark.postgres
@pytest.mark.e2e
def test_the_probe_follows_the_database_down_and_back(tmp_path, private_postgres):
    server = Server(tmp_path, private_postgres.url, "--database-probe-seconds", PROBE_SECONDS).start()
    try:
        with server.client() as client:
            client.import_operations(example.operations())
            question = ("user:ada", "update", "pipeline/train")
            assert client.check(*question, project="staging-recommendations").allowed
            before = wait_for(server, "authz_database_up", 1)
            assert before["authz_replica_lag_revisions"] == 0

            private_postgres.stop()
            down = wait_for(server, "authz_database_up", 0)
            assert client.check(*question, project="staging-recommendations").allowed
            time.sleep(4 * float(PROBE_SECONDS))
            still_down = wait_for(server, "authz_database_up", 0)
            assert still_down["authz_database_last_contact_timestamp_seconds"] == \
                down["authz_database_last_contact_timestamp_seconds"]
            assert "the database does not answer" in server.log()

            private_postgres.start()
            back = wait_for(server, "authz_database_up", 1)
            assert back["authz_database_last_contact_timestamp_seconds"] > \
                down["authz_database_last_contact_timestamp_seconds"]
            assert "the database answers again" in server.log()
            assert client.check(*question, project="staging-recommendations").allowed
            revision = client.create_role_binding("user:new", "project_viewer", project="prod-llms").revision
            assert revision == back["authz_revision"] + 1
            assert wait_for(server, "authz_revision", revision)["authz_replica_lag_revisions"] == 0
    finally:
        server.stop()
