"""Replicas on one database: how soon a write on one is visible on another, how fast a follower
catches up, and how long a replica joining a populated database takes to serve.

    .venv/bin/python benchmarks/replicas.py --bindings 1000000 --json docs/replicas-benchmark.json
    .venv/bin/python benchmarks/replicas.py --quick          # 2,000 bindings, seconds (a test runs it)

For each database (PostgreSQL on the local server, and one SQLite file) it imports bench.py's
synthetic world at `--bindings` through replica A, then:

- starts replica B on the populated database: seconds from launch to SERVING (`join`);
- writes one binding on A, then asks B for it with `at_least_revision` of the write: the time
  from A's acknowledgement to B's answer (`visible`), and A's write itself (`write`), p50/p99;
- stops B (SIGSTOP), commits `--catch-up` single-binding writes on A, resumes B, and times B
  reaching A's revision: change records applied per second (`catch_up_per_second`).

Nothing here asserts a speed."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402

from authz._gen.authz.v1 import directory_pb2 as dir_pb  # noqa: E402
from authz.api.convert import operation_to_proto  # noqa: E402
from authz.engine.policy_files import load_policy  # noqa: E402
from authz.testing.server import Server  # noqa: E402

TOKEN = "replica-benchmark-admin-token"
FIGURES = ("join_seconds", "write_p50_ms", "write_p99_ms", "visible_p50_ms", "visible_p99_ms",
           "catch_up_per_second")


def start(workdir: Path, url: str) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    return Server(workdir, url, env={"AUTHZ_ADMIN_TOKEN": TOKEN}).start(timeout=600)


def measure(url: str, bindings: int, samples: int, catch_up: int, workdir: Path) -> dict[str, float]:
    policy = load_policy(str(ROOT / "authz" / "policies"))
    world = bench.make_world(policy, bindings, 20261201)
    first = start(workdir / "a", url)
    second = None
    try:
        with first.client(timeout=600) as client:
            for chunk in world.chunks(bench.CHUNK):
                client._call(client.directory.Import,
                             dir_pb.ImportRequest(operations=[operation_to_proto(op) for op in chunk]))
            client.create_organization("bench-replicas")
        started = time.perf_counter()
        second = start(workdir / "b", url)
        join = time.perf_counter() - started
        writes, visible = [], []
        with first.client() as writer, second.client() as reader:
            for number in range(samples):
                subject = f"user:replica-bench-{number}"
                began = time.perf_counter()
                revision = writer.create_role_binding(subject, "organization_viewer",
                                                      organization="bench-replicas").revision
                acknowledged = time.perf_counter()
                answer = reader.check(subject, "read", "project", organization="bench-replicas",
                                      at_least_revision=revision)
                done = time.perf_counter()
                assert answer.revision >= revision
                writes.append(acknowledged - began)
                visible.append(done - acknowledged)
            assert second.process is not None
            second.process.send_signal(signal.SIGSTOP)
            try:
                for number in range(catch_up):
                    head = writer.create_role_binding(f"user:catch-up-{number}", "organization_viewer",
                                                      organization="bench-replicas").revision
            finally:
                resumed = time.perf_counter()
                second.process.send_signal(signal.SIGCONT)
            reader.check("user:nobody", "read", "project", organization="bench-replicas", at_least_revision=head)
            caught_up = time.perf_counter() - resumed
        writes.sort()
        visible.sort()
        return {
            "join_seconds": join,
            "write_p50_ms": 1000 * bench.percentile(writes, 0.5),
            "write_p99_ms": 1000 * bench.percentile(writes, 0.99),
            "visible_p50_ms": 1000 * bench.percentile(visible, 0.5),
            "visible_p99_ms": 1000 * bench.percentile(visible, 0.99),
            "catch_up_per_second": catch_up / caught_up,
        }
    finally:
        for server in (second, first):
            if server is not None:
                server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--bindings", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300, help="writes timed for `write` and `visible`")
    parser.add_argument("--catch-up", type=int, default=1000, help="writes a paused replica catches up on")
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--quick", action="store_true", help="2,000 bindings, 30 samples, 100 writes to catch up")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.bindings, args.samples, args.catch_up = 2_000, 30, 100
    report: dict = {"bindings": args.bindings, "machine": bench.machine(), "commit": bench.commit(), "figures": {}}
    for database in args.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="authz-replicas-") as directory:
            if database == "postgres":
                url = bench.postgres_database("authz_bench_replicas", create=True)
            else:
                url = f"sqlite:///{directory}/shared.db"
            try:
                figures = measure(url, args.bindings, args.samples, args.catch_up, Path(directory))
            finally:
                if database == "postgres":
                    bench.postgres_database("authz_bench_replicas", create=False)
        report["figures"][database] = figures
        print(f"{database}: " + ", ".join(f"{name} {figures[name]:,.2f}" for name in FIGURES), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
