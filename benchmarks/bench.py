"""The authz benchmark: one command, one table, the same figures as JSON.

    .venv/bin/python benchmarks/bench.py --size large --runs 3 --json results/large.json
    .venv/bin/python benchmarks/bench.py --quick --json results/quick.json     # under a minute (CI)

For each size asked (`quick` 2,000 bindings, `small` 10,000, `medium` 100,000, `large`
1,000,000 over 10,000 projects, 20,000 teams, 200,000 users and 100,000 shares), each database
(`sqlite`, a file in a temporary directory, and `postgres`, a database `authz_bench_<size>_<pid>`
created on the server of AUTHZ_TEST_POSTGRES_URL and dropped afterwards) and each run, it:

- generates the seeded synthetic world (authz/testing/synthetic.py) and loads it into a real
  `authz serve` process through the public Import API, 10,000 operations per call (timed);
- restarts the server and times the cold start to SERVING; reads its resident memory;
- measures the bare floor (benchmarks/bare_server.py: grpc.aio with one generic handler that
  answers every call with an empty message, no interceptors, in its own process) with the same
  client, Check messages and metadata, interleaved call by call with the calls below;
- measures against that server, on one channel, with the check token (the server has
  --check-token-file, so authentication is on the path, as are metrics and request ids): the
  echo floor (DiagnosticsService.Echo, a no-op through the same interceptors) and Check
  latency with a realistic mix (about 60 % allowed, grants through teams, inheritance and
  shares, 10 % unknown subjects), the three interleaved in a new random order for each
  request; BatchCheck decisions/s for batches shaped like the first client's calls (100
  checks, one subject, one project, mixed types, ids and actions) and for fully mixed batches,
  each interleaved with Echo carrying the same batch; ListAllowedResources for a subject
  with 10,000 shared ids; and a write acknowledged and visible to the next check;
- loads the same database into this process and times the engine alone on the same mix.

Once per invocation it also builds the `small` world in process (quick mode: the quick world)
and asks the same kind of checks of the engine and of stock pycasbin over the exported policy:
their latency ratio, and the number of disagreements (which must be zero).

Figures are medians over runs (each run's figures are in the JSON too). Nothing here asserts
a speed: tests/e2e/test_benchmark_smoke.py only runs --quick and checks that every figure is
there. `--plot FILE.png` draws Check p50/p99 against the number of bindings of the sizes run
(needs `pip install -e '.[bench]'`)."""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from authz._gen.authz.v1 import authorization_pb2 as authz_pb  # noqa: E402
from authz._gen.authz.v1 import authorization_pb2_grpc as authz_grpc  # noqa: E402
from authz._gen.authz.v1 import common_pb2 as common_pb  # noqa: E402
from authz._gen.authz.v1 import diagnostics_pb2 as diag_pb  # noqa: E402
from authz._gen.authz.v1 import diagnostics_pb2_grpc as diag_grpc  # noqa: E402
from authz._gen.authz.v1 import directory_pb2 as dir_pb  # noqa: E402
from authz._gen.authz.v1 import directory_pb2_grpc as dir_grpc  # noqa: E402
from authz._gen.authz.v1 import policy_pb2 as policy_pb  # noqa: E402
from authz._gen.authz.v1 import policy_pb2_grpc as policy_grpc  # noqa: E402
from authz.api.convert import operation_to_proto  # noqa: E402
from authz.domain.model import PROJECT, Node  # noqa: E402
from authz.engine import casbin_export, decide  # noqa: E402
from authz.engine.policy import Policy  # noqa: E402
from authz.engine.policy_files import load_policy  # noqa: E402
from authz.service.authorizer import load_index  # noqa: E402
from authz.storage.sql import SqlStorage  # noqa: E402
from authz.testing.server import Server, resident_bytes  # noqa: E402
from authz.testing.synthetic import ACTIONS, ScaledWorld  # noqa: E402

SIZES = {"quick": 2_000, "small": 10_000, "medium": 100_000, "large": 1_000_000}
DATABASES = ("sqlite", "postgres")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TOKEN = "bench"
# Checks and Echo carry this token (the server has --check-token-file): authentication is on
# their path, as in production. The bare server gets the same metadata and ignores it.
CHECK_TOKEN = "bench-check"
CHECKER = (("authorization", f"Bearer {CHECK_TOKEN}"),)
CHUNK = 10_000
BATCH = 100
CHECK_ACTIONS = ACTIONS[:4]
# DiffPolicy is timed up to this many bindings (it evaluates every binding's point twice).
DIFF_UP_TO = 100_000
# The candidate policy of the DiffPolicy figure: the bundled one plus this file.
DIFF_CANDIDATE_FILE = ("bench-added.csv", "p, project_viewer, project, model, *, promote\n")


class Plan:
    """How many samples of each kind; --quick takes fewer."""

    def __init__(self, quick: bool) -> None:
        self.checks = 1_500 if quick else 20_000
        self.batches = 40 if quick else 600
        self.lists = 10 if quick else 60
        self.writes = 40 if quick else 300
        self.engine = 5_000 if quick else 100_000
        self.casbin = 300 if quick else 2_000
        self.rounds = 5  # Check with and without a shadow alternate in this many blocks


# Every figure of one (size, database, run), with its unit and, where the issue sets one, its target.
FIGURES: dict[str, tuple[str, str]] = {
    "import_seconds": ("import through Import (10,000 per call)", "≤ 60 s at large"),
    "cold_start_seconds": ("cold start to SERVING", "≤ 15 s at large"),
    "rss_mib": ("server resident memory after load, MiB", "≤ 1536 MiB"),
    "bare_p50_us": ("bare grpc.aio no-op server (floor) p50, µs", ""),
    "echo_p50_us": ("Echo (floor) p50, µs", ""),
    "echo_p99_us": ("Echo (floor) p99, µs", ""),
    "check_p50_us": ("Check p50, µs", "≤ 1.15 × Echo p50"),
    "check_p99_us": ("Check p99, µs", "≤ 2000 µs"),
    "check_p999_us": ("Check p99.9, µs", ""),
    "check_p50_over_echo": ("Check p50 / Echo p50", "≤ 1.15"),
    "check_p50_over_bare": ("Check p50 / bare server p50", "≤ 1.10"),
    "echo_p50_over_bare": ("Echo p50 / bare server p50", ""),
    "check_p50_no_shadow_us": ("Check p50 without a shadow (alternating with the next), µs", ""),
    "check_p50_shadow_us": ("Check p50 while shadowing a candidate at sample rate 1.0, µs", ""),
    "shadow_check_p50_over_no_shadow": ("Check p50 shadowed / not shadowed", "≤ 1.10"),
    "shadow_dropped_fraction": ("shadow samples dropped (queue full) / sampled", ""),
    "check_allowed_fraction": ("Check mix: allowed", "about 0.6"),
    "batch_client_per_s": ("BatchCheck, client-shaped, decisions/s", "≥ 100,000"),
    "echo_batch_client_per_s": ("Echo, same batches, items/s", ""),
    "batch_client_over_echo": ("BatchCheck / Echo, client-shaped", "≥ 0.7"),
    "batch_mixed_per_s": ("BatchCheck, fully mixed, decisions/s", "≥ 100,000"),
    "echo_batch_mixed_per_s": ("Echo, same batches, items/s", ""),
    "batch_mixed_over_echo": ("BatchCheck / Echo, fully mixed", "≥ 0.7"),
    "list_allowed_p50_ms": ("ListAllowedResources, 10,000 ids, p50, ms", "≤ 20 ms"),
    "list_allowed_p99_ms": ("ListAllowedResources p99, ms", ""),
    "write_ack_p50_ms": ("write acknowledged, p50, ms", ""),
    "write_visible_p50_ms": ("write acknowledged and seen by the next Check, p50, ms", "≤ 5 ms"),
    "write_visible_p99_ms": ("write acknowledged and seen by the next Check, p99, ms", ""),
    "policy_diff_s": (f"DiffPolicy, one permission added (to {DIFF_UP_TO:,} bindings), s", ""),
    "engine_p50_us": ("engine in process p50, µs", "≤ 5 µs"),
    "engine_p99_us": ("engine in process p99, µs", "≤ 50 µs"),
    "engine_over_small": ("engine p50 / engine p50 at small", "≤ 1.3"),
}
# Figures of the in-process comparison with stock pycasbin, once per invocation.
COMPARISON: dict[str, tuple[str, str]] = {
    "bindings": ("bindings of the compared world", ""),
    "engine_p50_us": ("engine p50, µs", ""),
    "casbin_p50_us": ("stock pycasbin enforce p50, µs", ""),
    "casbin_over_engine": ("pycasbin / engine, p50", ""),
    "checks": ("checks compared", ""),
    "disagreements": ("disagreements with pycasbin", "0"),
}


# ---- the world and the questions


def roles_by_level(policy: Policy) -> dict[str, list[str]]:
    roles: dict[str, list[str]] = {}
    for role in sorted(policy.roles.values(), key=lambda r: r.name):
        roles.setdefault(role.level, []).append(role.name)
    return roles


def make_world(policy: Policy, bindings: int, seed: int) -> ScaledWorld:
    list_shares = 1_000 if bindings < SIZES["small"] else 10_000
    return ScaledWorld.of_size(seed, bindings, roles_by_level(policy), policy.type_levels, list_shares)


Question = tuple[str, str, str, str, str]  # subject, action, resource type, resource id, project id


class Mixer:
    """Checks with a realistic mix: about 60 % allowed, grants through teams, inheritance from
    workspaces and organizations and shares, 10 % unknown subjects."""

    GRANTED = 0.48  # share of binding-based questions asked about a permission the role has

    def __init__(self, world: ScaledWorld, policy: Policy, seed: int) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self.types = [t for t, level in policy.type_levels.items() if level == PROJECT]
        self.granted = {
            role: [(t, a) for t in self.types for a in CHECK_ACTIONS if policy.allows(role, t, a)]
            for role in policy.roles
        }

    def _anything(self, subject: str, project: str) -> Question:
        rng = self.rng
        return (subject, rng.choice(CHECK_ACTIONS), rng.choice(self.types),
                f"r{rng.randrange(self.world.shares)}", project)

    def known_subject_and_project(self) -> tuple[str, str, str]:
        """(subject, project, role) from a random binding, through its team and below its node."""
        rng, world = self.rng, self.world
        subject, role, level, ident = world.binding_list[rng.randrange(len(world.binding_list))]
        if subject.startswith("team:"):
            subject = rng.choice(world.team_members[subject[5:]])
        projects = world.projects_under(level, ident)
        return subject, world.project(projects[rng.randrange(len(projects))]), role

    def question(self) -> Question:
        rng, world = self.rng, self.world
        roll = rng.random()
        if roll < 0.10:
            return self._anything(f"user:unknown{rng.randrange(10**9)}", world.project(rng.randrange(world.projects)))
        if roll < 0.18:
            subject, rtype, rid, project, actions = world.share_list[rng.randrange(world.shares)]
            return subject, rng.choice(actions), rtype, rid, project
        subject, project, role = self.known_subject_and_project()
        granted = self.granted.get(role)
        if granted and rng.random() < self.GRANTED:
            rtype, action = rng.choice(granted)
            return subject, action, rtype, f"r{rng.randrange(world.shares)}", project
        # Anything, in any project of the subject's organization.
        o = world.organization_of_project(int(project[1:]))
        projects = world.projects_under("organization", f"o{o}")
        return self._anything(subject, world.project(projects[rng.randrange(len(projects))]))

    def questions(self, count: int) -> list[Question]:
        return [self.question() for _ in range(count)]

    def client_batch(self) -> list[Question]:
        """Shaped like the first client's calls: one subject, one project, mixed types, ids, actions."""
        subject, project, _ = self.known_subject_and_project()
        return [self._anything(subject, project) for _ in range(BATCH)]


def check_message(question: Question) -> authz_pb.CheckRequest:
    subject, action, rtype, rid, project = question
    return authz_pb.CheckRequest(subject=subject, action=action, resource=common_pb.Resource(type=rtype, id=rid),
                                 scope=common_pb.Scope(project_id=project))


# ---- measuring


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latencies(call, requests) -> list[float]:
    samples = []
    clock = time.perf_counter
    for request in requests:
        start = clock()
        call(request)
        samples.append(clock() - start)
    return samples


def interleaved(runs, seed: int = 1) -> list[list[float]]:
    """Per-call samples of each (call, requests), all the same length, taking the i-th request
    of every run in turn, in a new random order for each i. Alternating in blocks is biased:
    whatever follows a switch of server or method pays for it, and during this work a Check
    answering a constant response at once measured 1.08 x the bare floor that way, 1.00 x
    interleaved (docs/performance.md)."""
    samples: list[list[float]] = [[] for _ in runs]
    order = list(range(len(runs)))
    rng = random.Random(seed)
    clock = time.perf_counter
    for i in range(len(runs[0][1])):
        rng.shuffle(order)
        for k in order:
            call, requests = runs[k]
            request = requests[i]
            start = clock()
            call(request)
            samples[k].append(clock() - start)
    return samples


class Checker:
    """The AuthorizationService stub's calls with the check token."""

    def __init__(self, stub: authz_grpc.AuthorizationServiceStub) -> None:
        self.Check = functools.partial(stub.Check, metadata=CHECKER)
        self.BatchCheck = functools.partial(stub.BatchCheck, metadata=CHECKER)
        self.ListAllowedResources = functools.partial(stub.ListAllowedResources, metadata=CHECKER)


class BareServer:
    """benchmarks/bare_server.py in a process of its own, as `authz serve` runs in one."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "bare_server.py")],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("bare listening on "):
            self.stop()
            raise RuntimeError(f"the bare server did not start: {line!r}")
        self.address = line.split()[-1]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def postgres_admin_url() -> str:
    return os.environ.get("AUTHZ_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def postgres_database(name: str, create: bool) -> str:
    """Create (or drop) the database `name` on the PostgreSQL server; its URL."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if create:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return make_url(postgres_admin_url()).set(database=name).render_as_string(hide_password=False)


def postgres_reachable() -> str | None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(postgres_admin_url(), poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 -- any failure means "not reachable", with its reason
        return str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    finally:
        engine.dispose()
    return None


class Prepared:
    """What one size needs, built once and reused by every database and run."""

    def __init__(self, policy: Policy, size: str, seed: int, plan: Plan) -> None:
        self.size = size
        self.bindings = SIZES[size]
        self.world = make_world(policy, self.bindings, seed)
        self.imports = [dir_pb.ImportRequest(operations=[operation_to_proto(op) for op in chunk])
                        for chunk in self.world.chunks(CHUNK)]
        self.operations = sum(len(request.operations) for request in self.imports)
        mixer = Mixer(self.world, policy, seed + 1)
        self.questions = mixer.questions(plan.checks)
        self.checks = [check_message(q) for q in self.questions]
        self.echoes = [diag_pb.EchoRequest(checks=[check]) for check in self.checks]
        self.engine_questions = mixer.questions(plan.engine)
        client = [[check_message(q) for q in mixer.client_batch()] for _ in range(plan.batches)]
        mixed = [[check_message(q) for q in mixer.questions(BATCH)] for _ in range(plan.batches)]
        self.batches = {
            "client": ([authz_pb.BatchCheckRequest(checks=b) for b in client],
                       [diag_pb.EchoRequest(checks=b) for b in client]),
            "mixed": ([authz_pb.BatchCheckRequest(checks=b) for b in mixed],
                      [diag_pb.EchoRequest(checks=b) for b in mixed]),
        }


def measure_server(server: Server, prepared: Prepared, plan: Plan, figures: dict) -> None:
    channel = grpc.insecure_channel(server.address)
    try:
        stub = authz_grpc.AuthorizationServiceStub(channel)
        authz = Checker(stub)
        echo = functools.partial(diag_grpc.DiagnosticsServiceStub(channel).Echo, metadata=CHECKER)
        directory = dir_grpc.DirectoryServiceStub(channel)
        admin = (("authorization", f"Bearer {TOKEN}"),)
        warm = min(500, len(prepared.checks))
        bare_server = BareServer()
        bare_channel = grpc.insecure_channel(bare_server.address)
        try:
            # The same stub, messages and metadata as Check, on a channel to the bare server.
            bare = functools.partial(authz_grpc.AuthorizationServiceStub(bare_channel).Check, metadata=CHECKER)
            latencies(bare, prepared.checks[:warm])
            latencies(authz.Check, prepared.checks[:warm])
            latencies(echo, prepared.echoes[:warm])
            bare_s, echo_s, check_s = interleaved([(bare, prepared.checks), (echo, prepared.echoes),
                                                   (authz.Check, prepared.checks)])
        finally:
            bare_channel.close()
            bare_server.stop()
        bare_s.sort()
        echo_s.sort()
        check_s.sort()
        figures["bare_p50_us"] = percentile(bare_s, 0.5) * 1e6
        figures["echo_p50_us"] = percentile(echo_s, 0.5) * 1e6
        figures["echo_p99_us"] = percentile(echo_s, 0.99) * 1e6
        figures["check_p50_us"] = percentile(check_s, 0.5) * 1e6
        figures["check_p99_us"] = percentile(check_s, 0.99) * 1e6
        figures["check_p999_us"] = percentile(check_s, 0.999) * 1e6
        figures["check_p50_over_echo"] = figures["check_p50_us"] / figures["echo_p50_us"]
        figures["check_p50_over_bare"] = figures["check_p50_us"] / figures["bare_p50_us"]
        figures["echo_p50_over_bare"] = figures["echo_p50_us"] / figures["bare_p50_us"]
        answers = [authz.Check(m).allowed for m in prepared.checks[:2000]]
        figures["check_allowed_fraction"] = sum(answers) / len(answers)
        measure_shadow(policy_grpc.PolicyServiceStub(channel), authz, prepared, plan, figures, admin)

        for shape, (batches, echoes) in prepared.batches.items():
            latencies(authz.BatchCheck, batches[:10])
            latencies(echo, echoes[:10])
            echo_t, batch_t = interleaved([(echo, echoes), (authz.BatchCheck, batches)])
            figures[f"batch_{shape}_per_s"] = BATCH * len(batch_t) / sum(batch_t)
            figures[f"echo_batch_{shape}_per_s"] = BATCH * len(echo_t) / sum(echo_t)
            figures[f"batch_{shape}_over_echo"] = figures[f"batch_{shape}_per_s"] / figures[f"echo_batch_{shape}_per_s"]

        lister = authz_pb.ListAllowedResourcesRequest(
            subject=ScaledWorld.LISTER, action="read", resource_type=ScaledWorld.LISTED_TYPE,
            scope=common_pb.Scope(project_id=prepared.world.project(0)))
        listed = authz.ListAllowedResources(lister)
        assert not listed.full_access and len(listed.ids) == prepared.world.list_shares, len(listed.ids)
        list_s = sorted(latencies(authz.ListAllowedResources, [lister] * plan.lists))
        figures["list_allowed_p50_ms"] = percentile(list_s, 0.5) * 1e3
        figures["list_allowed_p99_ms"] = percentile(list_s, 0.99) * 1e3

        ack: list[float] = []
        visible: list[float] = []
        project = common_pb.Scope(project_id=prepared.world.project(1))
        clock = time.perf_counter
        for i in range(plan.writes):
            write = dir_pb.SetResourceMembershipRequest(
                subject="user:writer", resource=common_pb.Resource(type="pipeline", id=f"w{i}"),
                scope=project, actions=["read"])
            check = authz_pb.CheckRequest(subject="user:writer", action="read",
                                          resource=common_pb.Resource(type="pipeline", id=f"w{i}"), scope=project)
            start = clock()
            directory.SetResourceMembership(write, metadata=admin)
            acknowledged = clock()
            seen = authz.Check(check).allowed
            done = clock()
            assert seen, "a write acknowledged was not visible to the next check"
            ack.append(acknowledged - start)
            visible.append(done - start)
        ack.sort()
        visible.sort()
        figures["write_ack_p50_ms"] = percentile(ack, 0.5) * 1e3
        figures["write_visible_p50_ms"] = percentile(visible, 0.5) * 1e3
        figures["write_visible_p99_ms"] = percentile(visible, 0.99) * 1e3

        if prepared.bindings <= DIFF_UP_TO:
            with tempfile.TemporaryDirectory(prefix="authz-bench-policy-") as directory:
                candidate = Path(directory) / "policies"
                shutil.copytree(ROOT / "policies", candidate)
                name, text = DIFF_CANDIDATE_FILE
                (candidate / name).write_text(text)
                request = policy_pb.DiffPolicyRequest(candidate_directory=str(candidate))
                start = clock()
                diff = policy_grpc.PolicyServiceStub(channel).DiffPolicy(request, metadata=admin, timeout=600)
                figures["policy_diff_s"] = clock() - start
                assert diff.gained_count > 0, "the candidate must change decisions"
    finally:
        channel.close()


def measure_shadow(policy_service, authz, prepared: Prepared, plan: Plan, figures: dict, admin) -> None:
    """Check p50 with a shadow of a candidate at sample rate 1.0 against none, in alternating
    blocks of the same run (the shadow is started and stopped between blocks). The candidate is
    a copy of the bundled policy: every check is decided a second time, which is the cost."""
    with tempfile.TemporaryDirectory(prefix="authz-bench-shadow-") as directory:
        candidate = Path(directory) / "policies"
        shutil.copytree(ROOT / "policies", candidate)
        start = policy_pb.StartShadowRequest(candidate_directory=str(candidate), sample_rate=1.0)
        plain: list[float] = []
        shadowed: list[float] = []
        sampled = dropped = 0
        checks = prepared.checks
        rounds = plan.rounds
        for r in range(rounds):
            block = checks[r * len(checks) // rounds:(r + 1) * len(checks) // rounds]
            plain += latencies(authz.Check, block)
            policy_service.StartShadow(start, metadata=admin, timeout=60)
            shadowed += latencies(authz.Check, block)
            report = policy_service.StopShadow(policy_pb.StopShadowRequest(), metadata=admin, timeout=60)
            sampled += report.sampled
            dropped += report.dropped
        plain.sort()
        shadowed.sort()
        figures["check_p50_no_shadow_us"] = percentile(plain, 0.5) * 1e6
        figures["check_p50_shadow_us"] = percentile(shadowed, 0.5) * 1e6
        figures["shadow_check_p50_over_no_shadow"] = figures["check_p50_shadow_us"] / figures["check_p50_no_shadow_us"]
        figures["shadow_dropped_fraction"] = dropped / sampled if sampled else 0.0


def engine_latencies(index, policy: Policy, questions: list[Question]) -> list[float]:
    check = decide.check
    clock = time.perf_counter
    nodes = {q[4]: Node(PROJECT, q[4]) for q in questions}
    samples = []
    for subject, action, rtype, rid, project in questions:
        node = nodes[project]
        start = clock()
        check(index, policy, subject, action, rtype, rid, node)
        samples.append(clock() - start)
    return samples


def measure_engine(url: str, policy: Policy, prepared: Prepared, figures: dict) -> None:
    storage = SqlStorage(url)
    try:
        index, _ = load_index(storage)
    finally:
        storage.close()
    gc.collect()
    gc.freeze()
    try:
        engine_latencies(index, policy, prepared.engine_questions[:2000])
        samples = sorted(engine_latencies(index, policy, prepared.engine_questions))
    finally:
        gc.unfreeze()
    figures["engine_p50_us"] = percentile(samples, 0.5) * 1e6
    figures["engine_p99_us"] = percentile(samples, 0.99) * 1e6
    del index


def one_run(policy: Policy, prepared: Prepared, database: str, plan: Plan, with_engine: bool) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="authz-bench-"))
    pg_name = f"authz_bench_{prepared.size}_{os.getpid()}"  # two runs at once do not collide
    url = f"sqlite:///{workdir / 'authz.db'}" if database == "sqlite" else postgres_database(pg_name, True)
    token_file = workdir / "check.token"
    token_file.write_text(f"{CHECK_TOKEN}\n")
    server = Server(workdir, url, "--check-token-file", str(token_file),
                    env={"AUTHZ_ADMIN_TOKEN": TOKEN, "AUTHZ_LOG_LEVEL": "WARNING"})
    figures: dict = {}
    try:
        server.start()
        with server.client(timeout=600) as client:
            directory = client.directory
            start = time.perf_counter()
            for request in prepared.imports:
                directory.Import(request, metadata=client.metadata, timeout=600)
            figures["import_seconds"] = time.perf_counter() - start

        server.stop()
        start = time.perf_counter()
        server.start(timeout=600)
        figures["cold_start_seconds"] = time.perf_counter() - start
        assert server.process is not None
        figures["rss_mib"] = resident_bytes(server.process.pid) / 2**20
        measure_server(server, prepared, plan, figures)
        server.stop()
        if with_engine:
            measure_engine(url, policy, prepared, figures)
    finally:
        server.stop()
        if database == "postgres":
            postgres_database(pg_name, False)
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def compare_with_casbin(policy: Policy, size: str, seed: int, plan: Plan) -> dict:
    """The engine and stock pycasbin on the same checks over the same world, in process."""
    import casbin

    from authz.engine.index import Index
    from authz.engine.plan import Planner

    world = make_world(policy, SIZES[size], seed)
    index = Index()
    planner = Planner(index, policy)
    for revision, chunk in enumerate(world.chunks(CHUNK), start=1):
        changes, _ = planner.plan_all(chunk, revision)
        for change in changes:
            index.apply(change)
    mixer = Mixer(world, policy, seed + 3)
    questions = mixer.questions(plan.casbin)
    gc.collect()
    gc.freeze()
    engine = engine_latencies(index, policy, mixer.questions(plan.engine))
    engine = sorted(engine_latencies(index, policy, mixer.questions(plan.engine)))
    gc.unfreeze()
    with tempfile.TemporaryDirectory(prefix="authz-bench-casbin-") as directory:
        model, csv = casbin_export.export(index, policy, directory)
        oracle = casbin.Enforcer(str(model), str(csv))
    samples = []
    disagreements = 0
    clock = time.perf_counter
    for subject, action, rtype, rid, project in questions:
        node = Node(PROJECT, project)
        request = casbin_export.request_for(index, subject, action, rtype, rid, node)
        start = clock()
        theirs = oracle.enforce(*request)
        samples.append(clock() - start)
        disagreements += theirs != decide.check(index, policy, subject, action, rtype, rid, node)
    samples.sort()
    engine_p50 = percentile(engine, 0.5) * 1e6
    casbin_p50 = percentile(samples, 0.5) * 1e6
    return {"bindings": SIZES[size], "engine_p50_us": engine_p50, "casbin_p50_us": casbin_p50,
            "casbin_over_engine": casbin_p50 / engine_p50, "checks": len(questions), "disagreements": disagreements}


# ---- reporting


def median_figures(runs: list[dict]) -> dict:
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from google.protobuf.internal import api_implementation

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "grpcio": grpc.__version__, "protobuf_backend": api_implementation.Type(),
            "platform": platform.platform()}


def commit() -> str:
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout

        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain")
        return head.strip() + ("+dirty" if dirty.strip() else "")
    except OSError:
        return ""


def fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(report: dict) -> str:
    columns = [(size, database) for size, by_db in report["results"].items() for database in by_db]
    header = ["figure", "target", *(f"{size} {database}" for size, database in columns)]
    rows = [header]
    for name, (label, target) in FIGURES.items():
        cells = [label, target]
        for size, database in columns:
            value = report["results"][size][database]["median"].get(name)
            cells.append("" if value is None else fmt(value))
        rows.append(cells)
    comparison = report["casbin"]
    for name, (label, target) in COMPARISON.items():
        rows.append([f"pycasbin comparison: {label}", target, fmt(comparison[name]), *[""] * (len(columns) - 1)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for number, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    runs = report["runs"]
    lines.append(f"(medians of {runs} run{'s' if runs > 1 else ''}; {report['machine']['cores']} cores, "
                 f"{report['machine']['cpu']}, Python {report['machine']['python']}, commit {report['commit']})")
    return "\n".join(lines)


def plot(report: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    styles = {"sqlite": "tab:blue", "postgres": "tab:orange"}
    for database in DATABASES:
        points = sorted((SIZES[size], by_db[database]["median"]) for size, by_db in report["results"].items()
                        if database in by_db)
        if not points:
            continue
        xs = [p[0] for p in points]
        ax.plot(xs, [p[1]["check_p50_us"] for p in points], "o-", color=styles[database],
                label=f"Check p50 ({database})")
        ax.plot(xs, [p[1]["check_p99_us"] for p in points], "s--", color=styles[database],
                label=f"Check p99 ({database})")
        ax.plot(xs, [p[1]["echo_p50_us"] for p in points], ":", color=styles[database], alpha=0.6,
                label=f"Echo floor p50 ({database})")
        ax.plot(xs, [p[1]["echo_p99_us"] for p in points], "-.", color=styles[database], alpha=0.35,
                label=f"Echo floor p99 ({database})")
    ax.axhline(2000, color="gray", linewidth=0.8, linestyle="--", label="p99 target (2 ms)")
    ax.set_xscale("log")
    ax.set_xlabel("role bindings")
    ax.set_ylabel("latency over gRPC, µs")
    ax.set_ylim(0, max(ax.get_ylim()[1], 2500) * 1.3)
    ax.set_title("authz Check latency against the number of bindings")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncol=3)
    fig.tight_layout()
    fig.savefig(path)


def write_json(path: str, report: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--size", default="large",
                        help="comma-separated sizes: " + ", ".join(f"{k} ({v:,})" for k, v in SIZES.items()))
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--runs", type=int, default=1, help="runs per size and database; figures are medians")
    parser.add_argument("--quick", action="store_true", help="the smoke run: size quick, few samples, one run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--plot", help="draw Check p50/p99 against bindings into this PNG")
    args = parser.parse_args()
    sizes = ["quick"] if args.quick else [s.strip() for s in args.size.split(",")]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown[0]!r}")
    databases = [d.strip() for d in args.databases.split(",")]
    if "postgres" in databases:
        reason = postgres_reachable()
        if reason is not None:
            if args.databases != parser.get_default("databases") and not args.quick:
                parser.error(f"PostgreSQL is unreachable: {reason}")
            print(f"skipping postgres: {reason}", file=sys.stderr)
            databases.remove("postgres")
    plan = Plan(args.quick)
    runs = 1 if args.quick else args.runs
    policy = load_policy(ROOT / "policies")
    started = time.time()
    report: dict = {"command": " ".join(sys.argv), "commit": commit(), "machine": machine(), "runs": runs,
                    "figures": {k: v[0] for k, v in FIGURES.items()}, "results": {}}
    report["casbin"] = compare_with_casbin(policy, "quick" if args.quick else "small", args.seed, plan)
    for size in sizes:
        prepared = Prepared(policy, size, args.seed, plan)
        report["results"][size] = {}
        for database in databases:
            per_run = []
            for run in range(runs):
                figures = one_run(policy, prepared, database, plan, with_engine=True)
                small = report["casbin"]["engine_p50_us"]
                figures["engine_over_small"] = figures["engine_p50_us"] / small
                per_run.append(figures)
                print(f"{size} {database} run {run + 1}: " + ", ".join(f"{k}={fmt(v)}" for k, v in figures.items()),
                      file=sys.stderr, flush=True)
            report["results"][size][database] = {"bindings": prepared.bindings, "operations": prepared.operations,
                                                 "runs": per_run, "median": median_figures(per_run)}
            if args.json:  # what is measured so far survives a failure later on
                write_json(args.json, report)
        del prepared
        gc.collect()
    report["seconds"] = time.time() - started
    print(table(report))
    if args.json:
        write_json(args.json, report)
    if args.plot:
        plot(report, args.plot)


if __name__ == "__main__":
    main()
