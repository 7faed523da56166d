"""The authz benchmark: one command, one table, the same figures as JSON.

    .venv/bin/python benchmarks/bench.py --bindings 100000 --database sqlite --json results/run.json

It generates a seeded synthetic world, loads it through the public Import API into a real
`authz serve` process, and measures, against that server: a floor (the health service's Check,
through the same interceptors), Check latency, BatchCheck throughput, ListAllowedResources,
the engine alone in process, import time, cold start and resident memory. Figures only: nothing
here asserts a speed."""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from grpc_health.v1 import health_pb2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from authz.client import check_request  # noqa: E402
from authz.core import load_index  # noqa: E402
from authz.domain.model import Node  # noqa: E402
from authz.engine import decide  # noqa: E402
from authz.engine.policy import load_policy  # noqa: E402
from authz.storage.sql import SqlStorage  # noqa: E402
from authz.synthetic import ACTIONS, ScaledWorld  # noqa: E402
from authz.testing import Server, resident_bytes  # noqa: E402


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p99": at(0.99), "p999": at(0.999), "mean": statistics.fmean(ordered)}


def check_mix(world: ScaledWorld, count: int, seed: int) -> list[tuple[str, str, str, str, str]]:
    """(subject, action, type, id, project): subjects of the project's organization, 10 % unknown."""
    rng = random.Random(seed)
    types = [t for t, level in world.type_levels.items() if level == "project"]
    mix = []
    for _ in range(count):
        p = rng.randrange(world.projects)
        o = world.organization_of_workspace(world.workspace_of_project(p))
        if rng.random() < 0.1:
            subject = f"user:unknown{rng.randrange(10**9)}"
        else:
            subject = f"user:u{rng.randrange(world.users // world.organizations) * world.organizations + o}"
        mix.append((subject, rng.choice(ACTIONS[:4]), rng.choice(types), f"r{rng.randrange(world.shares)}",
                    world.project(p)))
    return mix


def timed(calls) -> list[float]:
    samples = []
    for call in calls:
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def run(args: argparse.Namespace) -> dict:
    policy = load_policy(ROOT / "policies")
    roles: dict[str, list[str]] = {}
    for role in policy.roles.values():
        roles.setdefault(role.level, []).append(role.name)
    world = ScaledWorld.of_size(args.seed, args.bindings, roles, policy.type_levels)
    workdir = Path(tempfile.mkdtemp(prefix="authz-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'authz.db'}"
    server = Server(workdir, url, env={"AUTHZ_ADMIN_TOKEN": "bench"}).start()
    figures: dict = {"bindings": args.bindings, "database": url.split(":")[0], "seed": args.seed}
    try:
        with server.client() as client:
            start = time.perf_counter()
            for chunk in world.chunks(10_000):
                client.import_operations(chunk)
            figures["import_seconds"] = time.perf_counter() - start

        start = time.perf_counter()
        server.stop()
        server.start()
        with server.client() as client:
            client.wait_until_serving(120)
        figures["cold_start_seconds"] = time.perf_counter() - start
        figures["server_rss_bytes"] = resident_bytes(server.process.pid)

        mix = check_mix(world, args.checks, args.seed + 1)
        with server.client() as client:
            health = client.health
            floor = timed(lambda: health.Check(health_pb2.HealthCheckRequest()) for _ in range(args.checks))
            requests = [check_request(s, a, f"{t}/{i}", project=p) for s, a, t, i, p in mix]
            check = client.authorization.Check
            allowed = sum(check(r).allowed for r in requests[:1000])
            latencies = timed(lambda r=r: check(r) for r in requests)
            figures["floor_us"] = {k: v * 1e6 for k, v in percentiles(floor).items()}
            figures["check_us"] = {k: v * 1e6 for k, v in percentiles(latencies).items()}
            figures["check_allowed_fraction"] = allowed / 1000

            batches = []
            rng = random.Random(args.seed + 2)
            for b in range(args.batches):
                subject, _, _, _, project = mix[b % len(mix)]
                batches.append([check_request(subject, rng.choice(ACTIONS[:4]),
                                              f"{rng.choice(list(world.type_levels))}/r{rng.randrange(world.shares)}",
                                              project=project) for _ in range(100)])
            batch = client.authorization.BatchCheck
            from authz._gen.authz.v1 import authorization_pb2 as pb

            messages = [pb.BatchCheckRequest(checks=b) for b in batches]
            start = time.perf_counter()
            for message in messages:
                batch(message)
            figures["batch_decisions_per_second"] = 100 * len(messages) / (time.perf_counter() - start)

        storage = SqlStorage(url)
        index, _ = load_index(storage)
        storage.close()
        nodes = [Node("project", p) for *_, p in mix]
        engine = [
            (lambda s=s, a=a, t=t, i=i, n=n: decide.check(index, policy, s, a, t, i, n))
            for (s, a, t, i, _), n in zip(mix, nodes)
        ]
        timed(engine[:1000])
        figures["engine_us"] = {k: v * 1e6 for k, v in percentiles(timed(engine)).items()}
    finally:
        server.stop()
    figures["machine"] = f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    return figures


def table(figures: dict) -> str:
    rows = [
        ("bindings", f"{figures['bindings']:,}"),
        ("database", figures["database"]),
        ("import", f"{figures['import_seconds']:.1f} s"),
        ("cold start to SERVING", f"{figures['cold_start_seconds']:.2f} s"),
        ("server RSS after load", f"{figures['server_rss_bytes'] / 2**20:.0f} MiB"),
        ("floor (health Check) p50 / p99", f"{figures['floor_us']['p50']:.0f} / {figures['floor_us']['p99']:.0f} µs"),
        ("Check p50 / p99 / p99.9",
         f"{figures['check_us']['p50']:.0f} / {figures['check_us']['p99']:.0f} / {figures['check_us']['p999']:.0f} µs"),
        ("Check allowed fraction", f"{figures['check_allowed_fraction']:.0%}"),
        ("BatchCheck (100 per batch)", f"{figures['batch_decisions_per_second']:,.0f} decisions/s"),
        ("engine in process p50 / p99",
         f"{figures['engine_us']['p50']:.1f} / {figures['engine_us']['p99']:.1f} µs"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bindings", type=int, default=100_000)
    parser.add_argument("--database-url", default="", help="default: a SQLite file in a temporary directory")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures = run(args)
    print(table(figures))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
