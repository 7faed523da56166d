"""Shutdown, durability and TLS of the real server process."""

from __future__ import annotations

import fcntl
import signal
import subprocess
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2

from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz.client import Client
from authz.testing.server import Server

pytestmark = pytest.mark.e2e


def test_sigterm_finishes_calls_in_flight_and_loses_nothing_acknowledged(server):
    with server.client() as client:
        futures = [
            client.directory.CreateOrganization.future(
                dir_pb.CreateOrganizationRequest(id=f"org{i}"), timeout=30, metadata=client.metadata)
            for i in range(200)
        ]
        server.process.send_signal(signal.SIGTERM)
        acknowledged, refused = [], 0
        for i, future in enumerate(futures):
            try:
                acknowledged.append((f"org{i}", future.result().revision))
            except grpc.RpcError as error:
                assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), error
                refused += 1
    assert server.stop() == 0
    assert acknowledged, "the calls in flight were not finished"
    revisions = sorted(revision for _, revision in acknowledged)
    assert revisions == list(range(1, len(revisions) + 1))  # gap-free, in commit order
    server.start()
    with server.client() as client:
        for org, _ in acknowledged:
            with pytest.raises(grpc.RpcError) as caught:
                client.create_organization(org)
            assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS, org
        assert client.check("user:a", "read", "x", organization="org0").revision >= revisions[-1]


def test_kill_after_acknowledgement_loses_nothing(server):
    with server.client() as client:
        client.create_organization("o")
        client.create_workspace("w", "o")
        binding = client.create_role_binding("user:a", "workspace_admin", workspace="w").binding
    server.stop(signal.SIGKILL)
    server.start()
    with server.client() as client:
        response = client.check("user:a", "delete", "stack/s", workspace="w", explain=True)
        assert response.allowed and response.revision == 3
        assert response.explanation.binding.id == binding.id


@pytest.fixture
def certificate(tmp_path):
    key, cert = tmp_path / "server.key", tmp_path / "server.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return key, cert


def test_tls(tmp_path, certificate):
    key, cert = certificate
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", "--tls-cert-file", str(cert),
                    "--tls-key-file", str(key)).start()
    try:
        assert "(tls)" in server.log()
        with Client(server.address, token=server.token, tls_ca_file=str(cert)) as client:
            assert client.create_organization("o").revision == 1
        with Client(server.address, token=server.token, timeout=3) as plaintext:
            with pytest.raises(grpc.RpcError) as caught:
                plaintext.create_organization("p")
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop()


def test_not_serving_until_the_index_has_loaded(tmp_path):
    database = tmp_path / "a.db"
    with open(f"{database}.migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # start-up migration waits for this lock
        server = Server(tmp_path, f"sqlite:///{database}").start(wait=False)
        try:
            deadline = time.monotonic() + 30
            while not server.address and time.monotonic() < deadline:
                time.sleep(0.02)
            with Client(server.address, timeout=5) as client:
                status = client.health.Check(health_pb2.HealthCheckRequest()).status
                assert status == health_pb2.HealthCheckResponse.NOT_SERVING
                with pytest.raises(grpc.RpcError) as caught:
                    client.check("user:a", "read", "x", organization="o")
                assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
                assert "still loading" in caught.value.details()
                fcntl.flock(lock, fcntl.LOCK_UN)
                client.wait_until_serving()
                assert not client.check("user:a", "read", "x", organization="o").allowed
        finally:
            server.stop()
