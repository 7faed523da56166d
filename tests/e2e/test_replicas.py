"""Three real `authz serve` processes on one database (PostgreSQL, and one SQLite file): writes
on every replica at once, ordered by the database; the same index and the same answers
everywhere; consistency across replicas on request; a crash, a late starter, one behind the
retention window, and a database outage (a PostgreSQL of the test's own)."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import casbin
import grpc
import pytest
from grpc_health.v1 import health_pb2
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from worlds import casbin_request, parents

from authz.client import check_request
from authz.domain import operations as ops
from authz.domain.model import Node, Resource
from authz.engine.policy_files import load_policy
from authz.service.authorizer import load_index
from authz.storage.sql import SqlStorage
from authz.testing.server import PrivatePostgres, Server
from authz.testing.synthetic import World, random_world, scope_of_node

pytestmark = pytest.mark.e2e
CODE = grpc.StatusCode
TOKEN = "replica-test-admin-token"
# Answers a random write may get that are about the write itself, not about replication.
REFUSALS = {CODE.ALREADY_EXISTS, CODE.NOT_FOUND, CODE.INVALID_ARGUMENT, CODE.FAILED_PRECONDITION}
ACTIONS = ("read", "update", "delete", "create")


@pytest.fixture(params=["sqlite", "postgres"])
def shared_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return request.getfixturevalue("postgres_url")


def start(tmp_path: Path, url: str, name: str, *extra: str) -> Server:
    workdir = tmp_path / name
    workdir.mkdir(exist_ok=True)
    return Server(workdir, url, "--follow-poll-seconds", "0.05", "--database-probe-seconds", "0.5", *extra,
                  env={"AUTHZ_ADMIN_TOKEN": TOKEN}).start()


class Cluster:
    def __init__(self, tmp_path: Path, url: str, count: int, *extra: str) -> None:
        self.tmp_path, self.url, self.extra = tmp_path, url, extra
        self.servers = [start(tmp_path, url, f"r{number}", *extra) for number in range(count)]

    def add(self) -> Server:
        server = start(self.tmp_path, self.url, f"r{len(self.servers)}", *self.extra)
        self.servers.append(server)
        return server

    def stop(self) -> list[str]:
        logs = []
        for server in self.servers:
            server.stop()
            logs.append(server.log())
        return logs


@pytest.fixture
def cluster_factory(tmp_path):
    made: list[Cluster] = []

    def make(url: str, count: int = 3, *extra: str) -> Cluster:
        made.append(Cluster(tmp_path, url, count, *extra))
        return made[-1]

    yield make
    for cluster in made:
        for log in cluster.stop():
            assert "Traceback" not in log, log


def _roles():
    policy = load_policy("policies")
    roles: dict[str, list[str]] = {}
    for role in policy.roles.values():
        roles.setdefault(role.level, []).append(role.name)
    return policy, roles


def random_write(rng: random.Random, world: World, roles: dict[str, list[str]], serial: int) -> list[ops.Operation]:
    """One to three operations of every kind a replica must order: grants, shares, memberships,
    new projects, and deletes that cascade (a subject's every grant, a project's bindings and
    shares)."""
    operations: list[ops.Operation] = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        node = rng.choice(world.nodes)
        person = rng.choice(world.people)
        if kind < 0.4:
            operations.append(ops.CreateRoleBinding(person, rng.choice(roles[node.kind]), scope_of_node(node)))
        elif kind < 0.55:
            resource = Resource("model", rng.choice(world.resource_ids))
            operations.append(ops.SetResourceMembership(person, resource, scope_of_node(node),
                                                        tuple(rng.sample(ACTIONS, rng.randint(0, 2)))))
        elif kind < 0.65:
            operations.append(ops.AddTeamMember(rng.choice(world.teams), person))
        elif kind < 0.7:
            operations.append(ops.DeleteSubject(person))
        elif kind < 0.9:
            workspaces = [n for n in world.nodes if n.kind == "workspace"]
            project = f"new{serial}-{len(operations)}"
            operations.append(ops.CreateProject(project, rng.choice(workspaces).id))
            world.nodes.append(Node("project", project))
        else:
            projects = [n for n in world.nodes if n.kind == "project" and n.id.startswith("new")]
            if projects:
                operations.append(ops.DeleteProject(rng.choice(projects).id))
    return operations


def write_concurrently(servers: list[Server], world: World, roles, seed: int, per_replica: int,
                       stop: threading.Event | None = None) -> tuple[list[int], list[str]]:
    """Random writes through every replica at once (one thread each); the revisions acknowledged,
    and every answer that is not a refusal of the write itself."""
    acknowledged: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def run(number: int, server: Server) -> None:
        rng = random.Random(seed * 100 + number)
        with server.client() as client:
            for step in range(per_replica):
                if stop is not None and stop.is_set():
                    return
                with lock:  # the world's node list grows as projects are created
                    operations = random_write(rng, world, roles, seed * 10_000 + number * 1000 + step)
                if not operations:
                    continue
                try:
                    revision = client.import_operations(operations).revision
                except grpc.RpcError as error:
                    if error.code() not in REFUSALS:
                        with lock:
                            failures.append(f"replica {number}: {error.code().name} {error.details()}")
                    continue
                with lock:
                    acknowledged.append(revision)

    threads = [threading.Thread(target=run, args=(n, s)) for n, s in enumerate(servers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acknowledged, failures


def stored_digest(url: str) -> tuple[int, str]:
    storage = SqlStorage(url)
    try:
        index, revision = load_index(storage)
        return revision, index.digest()
    finally:
        storage.close()


def stored_revisions(url: str) -> list[int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(text("SELECT revision FROM changes ORDER BY revision"))]
    finally:
        engine.dispose()


def random_questions(rng: random.Random, world: World, count: int) -> list[tuple[str, str, str, str, Node]]:
    return [(rng.choice(world.people + [f"team:{t}" for t in world.teams]), rng.choice(ACTIONS),
             rng.choice(("model", "pipeline", "artifact")), rng.choice(world.resource_ids), rng.choice(world.nodes))
            for _ in range(count)]


def casbin_oracle(server: Server, tmp_path: Path) -> casbin.Enforcer:
    out = tmp_path / f"casbin-{time.monotonic_ns()}"
    subprocess.run([sys.executable, "-m", "authz.cli", "export", "--casbin", str(out), "--database-url",
                    server.database_url], check=True, capture_output=True, cwd=server.workdir)
    return casbin.Enforcer(str(out / "model.conf"), str(out / "policy.csv"))


def seeded(cluster: Cluster) -> tuple[World, dict[str, list[str]]]:
    _, roles = _roles()
    world = random_world(20261201, roles, load_policy("policies").type_levels, organizations=2, bindings=80,
                         shares=40)
    with cluster.servers[0].client() as client:
        client.import_operations(world.operations)
    return world, roles


def same_everywhere(servers: list[Server], revision: int) -> str:
    """Every replica, asked at `revision`, holds the same index: its digest."""
    digests = set()
    for server in servers:
        with server.client() as client:
            client.check("user:nobody", "read", "model/m", organization="org0", at_least_revision=revision)
            described = client.describe_replica()
        assert described.revision == revision, (server.address, described.revision, revision)
        digests.add(described.index_digest)
    assert len(digests) == 1, digests
    return digests.pop()


def test_writes_on_three_replicas_at_once_are_ordered_and_every_replica_agrees(shared_url, cluster_factory,
                                                                              tmp_path):
    cluster = cluster_factory(shared_url, 3)
    world, roles = seeded(cluster)
    for round_number in range(3):
        acknowledged, failures = write_concurrently(cluster.servers, world, roles, round_number, per_replica=25)
        assert failures == [], failures
        assert len(acknowledged) > 15
        # Every acknowledged revision is stored (a write that changed nothing answers the
        # revision it is visible at, which another write made), and the change table has no gap.
        head, digest = stored_digest(shared_url)
        stored = stored_revisions(shared_url)
        assert stored == list(range(1, head + 1))
        assert set(acknowledged) <= set(stored) and max(acknowledged) == head
        assert same_everywhere(cluster.servers, head) == digest

        # The same random questions get the same answers from every replica, and from stock
        # Casbin over the export of the database.
        rng = random.Random(round_number)
        questions = random_questions(rng, world, 300)
        answers = []
        for server in cluster.servers:
            with server.client() as client:
                batch = client.batch_check(check_request(subject, action, f"{rtype}/{rid}", at_least_revision=head,
                                                           **_scope_kwargs(node))
                                             for subject, action, rtype, rid, node in questions)
                listed = [tuple(sorted(client.list_allowed(subject, action, rtype, at_least_revision=head,
                                                           **_scope_kwargs(node)).ids))
                          for subject, action, rtype, _, node in questions[:40]]
            answers.append(([result.allowed for result in batch.results], listed))
        assert answers[0] == answers[1] == answers[2]
        oracle = casbin_oracle(cluster.servers[0], tmp_path)
        hierarchy = parents(world.operations)
        for project in world.nodes:
            if project.kind == "project" and project not in hierarchy:
                hierarchy[project] = _workspace_of(cluster.servers[0], project)
        expected = [oracle.enforce(*casbin_request(hierarchy, *q)) for q in questions]
        assert answers[0][0] == expected
        # The comparison is only worth something if both answers occur.
        assert 5 <= sum(expected) <= len(expected) - 5


def _scope_kwargs(node: Node) -> dict[str, str]:
    return {node.kind: node.id}


def _workspace_of(server: Server, project: Node) -> Node:
    """The workspace of a project the random writes created (ListRoleBindings' scope says it)."""
    engine = create_engine(server.database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT workspace_id FROM projects WHERE id = :id"),
                                       {"id": project.id}).scalar()
    finally:
        engine.dispose()
    return Node("workspace", found or "")


def test_a_write_on_one_replica_is_seen_by_another_with_its_revision_or_fully_consistent(shared_url,
                                                                                        cluster_factory):
    # A poll slower than the test: only the revision's wake, fully_consistent's read of the
    # head (or, on PostgreSQL, the NOTIFY) make a replica see another's write in time.
    cluster = cluster_factory(shared_url, 3, "--follow-poll-seconds", "60")
    first, second, third = cluster.servers
    with first.client() as writer:
        writer.create_organization("acme")
        writer.create_workspace("w", "acme")
        writer.create_project("p", "w")
    for attempt in range(10):
        subject = f"user:eve{attempt}"
        with first.client() as writer:
            revision = writer.create_role_binding(subject, "project_viewer", project="p").revision
        with second.client() as reader:
            answer = reader.check(subject, "read", "model/m", project="p", at_least_revision=revision)
            assert answer.allowed and answer.revision >= revision
        with third.client() as reader:
            answer = reader.check(subject, "read", "model/m", project="p", fully_consistent=True)
            assert answer.allowed and answer.revision >= revision
            listed = reader.list_allowed(subject, "read", "model", project="p", fully_consistent=True)
            assert listed.full_access and listed.revision >= revision
        # One item asking for it is enough for the whole batch.
        with first.client() as writer:
            revision = writer.create_role_binding(f"{subject}-batch", "project_viewer", project="p").revision
        with third.client() as reader:
            batch = reader.batch_check([
                check_request(f"{subject}-batch", "read", "model/m", project="p"),
                check_request("user:nobody", "read", "model/m", project="p", fully_consistent=True),
            ])
            assert [r.allowed for r in batch.results] == [True, False] and batch.revision >= revision


def test_a_replica_killed_in_the_middle_of_writes_loses_nothing_and_catches_up(shared_url, cluster_factory):
    cluster = cluster_factory(shared_url, 3)
    world, roles = seeded(cluster)
    victim = cluster.servers[2]
    acknowledged: list[tuple[int, str]] = []
    done = threading.Event()

    def write_to_victim() -> None:
        with victim.client() as client:
            for step in range(10_000):
                subject = f"user:crash{step}"
                try:
                    revision = client.create_role_binding(subject, "organization_viewer", organization="org0").revision
                except grpc.RpcError:
                    done.set()
                    return
                acknowledged.append((revision, subject))

    writer = threading.Thread(target=write_to_victim)
    writer.start()
    _, failures = write_concurrently(cluster.servers[:2], world, roles, 7, per_replica=10)
    time.sleep(0.2)
    victim.process.kill()  # kill -9, in the middle of its writes
    writer.join(timeout=30)
    assert done.is_set() and failures == []
    assert len(acknowledged) > 5
    victim.stop()
    victim.start()  # the same database: it loads and follows again
    head, digest = stored_digest(shared_url)
    assert same_everywhere(cluster.servers, head) == digest
    with victim.client() as client:
        for revision, subject in acknowledged:
            bindings = client.list_role_bindings(subject=subject).bindings
            assert [(b.role, b.scope.organization_id) for b in bindings] == [("organization_viewer", "org0")], \
                (revision, subject)


def test_a_late_replica_and_one_behind_the_retention_window_catch_up(shared_url, cluster_factory):
    cluster = cluster_factory(shared_url, 2, "--change-retention-count", "5")
    world, roles = seeded(cluster)
    _, failures = write_concurrently(cluster.servers, world, roles, 3, per_replica=10)
    assert failures == []
    late = cluster.add()  # started after the writes, from a snapshot
    head, digest = stored_digest(shared_url)
    assert same_everywhere(cluster.servers, head) == digest

    # One replica stops (SIGSTOP) while the others write and prune the records it would need.
    behind = cluster.servers[1]
    behind.process.send_signal(signal.SIGSTOP)
    try:
        _, failures = write_concurrently([cluster.servers[0], late], world, roles, 4, per_replica=10)
        assert failures == []
        deadline = time.monotonic() + 30
        while len(stored_revisions(shared_url)) > 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        kept = stored_revisions(shared_url)
        assert len(kept) <= 5
    finally:
        behind.process.send_signal(signal.SIGCONT)
    head, digest = stored_digest(shared_url)
    assert kept[0] > head - 5 >= 1
    assert same_everywhere(cluster.servers, head) == digest
    assert "loading a full snapshot" in behind.log()


def scrape(server: Server) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=5) as response:
        exposition = response.read().decode()
    return {sample.name: sample.value for family in text_string_to_metric_families(exposition)
            for sample in family.samples if not sample.labels}


@pytest.mark.postgres
def test_on_postgresql_notify_wakes_a_follower_that_would_poll_only_every_minute(postgres_url, tmp_path):
    first = start(tmp_path, postgres_url, "writer")
    second = Server(tmp_path / "writer", postgres_url, "--follow-poll-seconds", "60",
                    env={"AUTHZ_ADMIN_TOKEN": TOKEN}).start()
    try:
        with first.client() as writer, second.client() as reader:
            for number in range(3):
                revision = writer.create_organization(f"org{number}").revision
                deadline = time.monotonic() + 10
                # No at_least_revision (which would wake it): only the NOTIFY does.
                while reader.describe_replica().revision < revision:
                    assert time.monotonic() < deadline, second.log()
                    time.sleep(0.02)
            assert scrape(second)["authz_changes_applied_total"] == 3
    finally:
        second.stop()
        first.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.postgres
def test_a_database_outage_under_two_replicas_checks_go_on_and_everything_recovers(tmp_path, cluster_factory):
    database = PrivatePostgres(_free_port()).init().start()
    try:
        cluster = cluster_factory(database.url, 2, "--max-staleness-seconds", "2")
        first, second = cluster.servers
        with first.client() as client:
            client.create_organization("acme")
            client.create_workspace("w", "acme")
            client.create_project("p", "w")
            before = client.create_role_binding("user:ada", "project_viewer", project="p").revision
        with second.client() as client:
            assert client.check("user:ada", "read", "model/m", project="p", at_least_revision=before).allowed
        database.stop()
        outage_ends = time.monotonic() + 10
        checks = writes = 0
        with first.client(timeout=5) as one, second.client(timeout=5) as other:
            while time.monotonic() < outage_ends:
                for client in (one, other):
                    assert client.check("user:ada", "read", "model/m", project="p").allowed
                    checks += 1
                with pytest.raises(grpc.RpcError) as caught:
                    one.create_role_binding(f"user:w{writes}", "project_viewer", project="p")
                assert caught.value.code() == CODE.UNAVAILABLE, caught.value.details()
                with pytest.raises(grpc.RpcError) as caught:
                    other.check("user:ada", "read", "model/m", project="p", fully_consistent=True)
                assert caught.value.code() == CODE.UNAVAILABLE, caught.value.details()
                writes += 1
                time.sleep(0.2)
            # Past --max-staleness-seconds without the database, health moves traffic away;
            # checks are still answered by whoever asks.
            for client, server in ((one, first), (other, second)):
                status = client.health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
                assert status == health_pb2.HealthCheckResponse.NOT_SERVING
                seen = scrape(server)
                assert seen["authz_serving"] == 0 and seen["authz_database_up"] == 0, seen
                assert seen["authz_follow_errors_total"] > 0, seen
        assert checks > 20 and writes > 5
        database.start()
        # No restart of either sidecar: writes go on, on both, and each sees the other's.
        deadline = time.monotonic() + 30
        while True:
            try:
                with second.client() as client:
                    after = client.create_role_binding("user:back", "project_viewer", project="p").revision
                break
            except grpc.RpcError as error:
                assert error.code() == CODE.UNAVAILABLE and time.monotonic() < deadline
                time.sleep(0.5)
        assert after == before + 1
        with first.client() as client:
            assert client.check("user:back", "read", "model/m", project="p", at_least_revision=after).allowed
            again = client.create_role_binding("user:again", "project_viewer", project="p").revision
        with second.client() as client:
            assert client.check("user:again", "read", "model/m", project="p", at_least_revision=again).allowed
        for server in cluster.servers:
            with server.client() as client:
                client.wait_until_serving(timeout=10)
            seen = scrape(server)
            assert seen["authz_serving"] == 1 and seen["authz_database_up"] == 1, seen
        logs = cluster.stop()
        cluster.servers = []
        for log in logs:
            assert "Traceback" not in log, log
        assert any("cannot follow the change table" in log for log in logs)
    finally:
        database.remove()
