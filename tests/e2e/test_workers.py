"""`authz serve --workers 2`: real processes. Both workers answer on one port, one metrics
endpoint counts for both, SIGTERM stops all, SIGHUP reaches each, a killed worker is started
again, a port another process holds is "in use" (exit 2, one line), and a write through one
worker is seen through the other with at_least_revision."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from authz._gen.authz.v1 import authorization_pb2 as authz_pb
from authz._gen.authz.v1 import authorization_pb2_grpc as authz_grpc
from authz._gen.authz.v1 import common_pb2 as common_pb
from authz._gen.authz.v1 import diagnostics_pb2 as diag_pb
from authz._gen.authz.v1 import diagnostics_pb2_grpc as diag_grpc
from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz._gen.authz.v1 import directory_pb2_grpc as dir_grpc
from authz.testing import example
from authz.testing.server import Server

pytestmark = pytest.mark.e2e

# Bounds, not timings: how many fresh connections to try before two workers must have answered
# (the kernel picks a worker per connection by a hash of its addresses), and how long to wait
# for something a worker does on its own.
CONNECTIONS = 400
PATIENCE = 60.0


def connection(address: str) -> grpc.Channel:
    """A channel with a connection of its own (gRPC shares connections between channels to
    the same target by default)."""
    return grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])


def echo_pid(channel: grpc.Channel) -> int:
    return diag_grpc.DiagnosticsServiceStub(channel).Echo(diag_pb.EchoRequest(), timeout=10).pid


def worker_channels(server: Server) -> dict[int, grpc.Channel]:
    """One open channel to each worker, by pid (the other channels opened are closed)."""
    found: dict[int, grpc.Channel] = {}
    for _ in range(CONNECTIONS):
        channel = connection(server.address)
        pid = echo_pid(channel)
        if pid in found:
            channel.close()
        else:
            found[pid] = channel
        if len(found) == 2:
            break
    return found


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    stat = handle.read()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry))
    return found


def scrape(server: Server) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def wait_until(condition, what: str):
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


TOKEN = {"AUTHZ_ADMIN_TOKEN": "workers-test"}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """A SQLite database holding the example organization, written once for the module."""
    directory = tmp_path_factory.mktemp("seeded")
    server = Server(directory, f"sqlite:///{directory / 'authz.db'}", env=TOKEN).start()
    try:
        with server.client() as client:
            client.import_operations(example.operations())
    finally:
        server.stop()
    return directory


@pytest.fixture
def workers(tmp_path, seeded):
    for path in seeded.glob("authz.db*"):
        shutil.copy(path, tmp_path / path.name)
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'authz.db'}", "--workers", "2", "--policy-poll-seconds", "0",
                    "--max-revision-wait-seconds", "3", env=TOKEN).start()
    yield server
    server.stop()


def settled(workers) -> dict:
    """A scrape once every worker has published what it counted so far (they publish their
    per-call counts every metrics.STATE_PUBLISH_SECONDS): two scrapes that far apart agree."""
    def calls(scraped: dict) -> dict:
        return {key: number for key, number in scraped.items() if key[0] == "authz_grpc_requests_total"}

    seen = scrape(workers)
    deadline = time.monotonic() + 30
    while True:
        time.sleep(1.5)
        again = scrape(workers)
        if calls(again) == calls(seen) or time.monotonic() > deadline:
            return again
        seen = again


def test_two_workers_answer_on_one_port_and_one_endpoint_counts_for_both(workers):
    assert workers.process is not None
    supervisor = workers.process.pid
    channels = worker_channels(workers)
    assert set(channels) == children(supervisor), "each worker is a child of the supervisor"
    assert len(channels) == 2, "a second worker never answered"
    for channel in channels.values():
        stub = authz_grpc.AuthorizationServiceStub(channel)
        for subject, allowed in (("user:eve", True), ("user:nobody", False)):
            request = authz_pb.CheckRequest(subject=subject, action="read",
                                            resource=common_pb.Resource(type="pipeline", id="churn-model-training"),
                                            scope=common_pb.Scope(project_id="prod-recommendations"))
            assert stub.Check(request, timeout=10).allowed is allowed
    before = settled(workers)
    echoes = value(before, "authz_grpc_requests_total", service="authz.v1.DiagnosticsService", method="Echo",
                   code="OK")
    for channel in channels.values():
        for _ in range(5):
            echo_pid(channel)
    # Workers publish their per-call counts every second (metrics.STATE_PUBLISH_SECONDS).
    deadline = time.monotonic() + 10
    while True:
        after = scrape(workers)
        seen = value(after, "authz_grpc_requests_total", service="authz.v1.DiagnosticsService", method="Echo",
                     code="OK")
        if seen == echoes + 10 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert seen == echoes + 10
    assert value(after, "authz_checks_total", method="Check", decision="allowed") == 2
    assert value(after, "authz_checks_total", method="Check", decision="denied") == 2
    assert value(after, "authz_serving") == 1
    assert value(after, "authz_database_up") == 1
    # The state gauges, set by each worker every second: the example's project count.
    wait_until(lambda: value(scrape(workers), "authz_nodes", kind="project") > 0, "the workers' state gauges")
    assert value(after, "authz_revision") >= 1
    policies = [labels for (name, labels) in after if name == "authz_policy_info"]
    assert len(policies) == 1, policies
    for channel in channels.values():
        channel.close()

    assert workers.stop(signal.SIGTERM) == 0
    for pid in channels:
        assert not os.path.exists(f"/proc/{pid}"), f"worker {pid} outlived its supervisor"


def test_sighup_reloads_the_policy_in_every_worker(workers):
    assert workers.process is not None
    before = value(scrape(workers), "authz_policy_reloads_total", result="unchanged")
    workers.process.send_signal(signal.SIGHUP)
    wait_until(lambda: value(scrape(workers), "authz_policy_reloads_total", result="unchanged") == before + 2,
               "both workers to reload")


def test_a_killed_worker_is_started_again(workers):
    assert workers.process is not None
    supervisor = workers.process.pid
    first = children(supervisor)
    assert len(first) == 2
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: "serves again" in workers.log(), "the worker to be started again")
    second = children(supervisor)
    assert len(second) == 2 and victim not in second
    assert f"(pid {victim}) was killed by SIGKILL; starting it again" in workers.log()
    assert set(worker_channels(workers)) == second
    assert value(scrape(workers), "authz_serving") == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_on(tmp_path, address: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "authz.cli", "serve", "--database-url", f"sqlite:///{tmp_path / 'other.db'}",
         "--grpc-address", address, "--metrics-address", "", *extra],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    errors = [line for line in done.stderr.splitlines() if line.startswith("authz serve:")]
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.mark.parametrize("reuseport", [False, True], ids=["plain", "so_reuseport"])
def test_a_port_another_program_listens_on_is_in_use(tmp_path, reuseport):
    """Even a listener of this user with SO_REUSEPORT, which the workers themselves use."""
    with socket.socket() as other:
        if reuseport:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        address = f"127.0.0.1:{other.getsockname()[1]}"
        line = one_error_line(serve_on(tmp_path, address, "--workers", "2"))
    assert line.startswith(f"authz serve: cannot listen for gRPC on {address}: the address is in use"), line


@pytest.mark.parametrize("workers_of_second", ["1", "2"])
def test_a_second_server_on_the_workers_port_is_refused(workers, tmp_path, workers_of_second):
    line = one_error_line(serve_on(tmp_path, workers.address, "--workers", workers_of_second))
    assert "the address is in use" in line, line
    assert set(worker_channels(workers)) == children(workers.process.pid), "the workers serve on"


def test_a_write_through_one_worker_is_seen_through_the_other_at_its_revision(workers):
    channels = worker_channels(workers)
    assert len(channels) == 2
    (writer, writer_channel), (reader, reader_channel) = channels.items()
    with workers.client() as client:
        token = client.metadata
    scope = common_pb.Scope(project_id="prod-recommendations")
    for number in range(5):
        resource = common_pb.Resource(type="pipeline", id=f"shared-{number}")
        written = dir_grpc.DirectoryServiceStub(writer_channel).SetResourceMembership(
            dir_pb.SetResourceMembershipRequest(subject="user:newcomer", resource=resource, scope=scope,
                                                actions=["read"]),
            metadata=token, timeout=10)
        assert echo_pid(writer_channel) == writer
        check = authz_pb.CheckRequest(subject="user:newcomer", action="read", resource=resource, scope=scope,
                                      at_least_revision=written.revision)
        answer = authz_grpc.AuthorizationServiceStub(reader_channel).Check(check, timeout=15)
        assert echo_pid(reader_channel) == reader
        assert answer.allowed and answer.revision >= written.revision
        writer_channel, reader_channel = reader_channel, writer_channel
        writer, reader = reader, writer
