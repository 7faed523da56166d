"""Check capacity of `authz serve --workers N` under h2load, and the memory of each process.

    .venv/bin/python benchmarks/capacity.py --size large --workers 1,2 --json docs/capacity-benchmark.json
    .venv/bin/python benchmarks/capacity.py --quick --json results/capacity-quick.json   # the smoke test

It builds the seeded synthetic world of benchmarks/bench.py at the size asked, imports it into
a SQLite database through a real `authz serve` (the public Import API), then for each worker
count starts `authz serve --workers N` on that database and:

- reads each process's memory from /proc: VmRSS, and from smaps_rollup the shared and private
  parts and the proportional share (Pss), which adds up to what the processes cost together;
- sends every request of an h2load run (nghttp2's C HTTP/2 load generator, Debian package
  `nghttp2-client`) as one gRPC Check: a 5-byte frame prefix and the serialized CheckRequest,
  POSTed over h2c with `content-type: application/grpc`. The question is one of the mix's
  allowed ones (a grant through a binding of a team), checked first through a gRPC stub;
- proves the answers: h2load counts HTTP 200s, but gRPC reports its status in trailers, so the
  server's own counters must have grown by exactly h2load's successful requests, each an OK
  Check that was allowed (authz_grpc_requests_total and authz_checks_total);
- records checks/s, h2load's mean request time, and the CPU seconds each worker used.

h2load runs on the same 2-core machine as the workers (one thread; `--threads` to change), so
the figures are what is left for the server beside a load generator. Nothing here asserts a
speed: tests/e2e/test_benchmark_smoke.py runs --quick and checks that every figure is there."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from authz._gen.authz.v1 import authorization_pb2 as authz_pb  # noqa: E402
from authz._gen.authz.v1 import authorization_pb2_grpc as authz_grpc  # noqa: E402
from authz._gen.authz.v1 import directory_pb2 as dir_pb  # noqa: E402
from authz.api.convert import operation_to_proto  # noqa: E402
from authz.engine.policy_files import load_policy  # noqa: E402
from authz.testing.server import Server  # noqa: E402

TOKEN = "capacity"
CHECK_PATH = "/authz.v1.AuthorizationService/Check"
# One run's shape: requests, connections (the kernel gives each connection to one worker), and
# streams in flight on each connection.
FULL = {"requests": 200_000, "warmup": 20_000, "connections": 16, "streams": 16}
QUICK = {"requests": 2_000, "warmup": 200, "connections": 4, "streams": 4}
FIGURES: dict[str, str] = {
    "checks_per_s": "Check capacity, checks/s (h2load)",
    "mean_request_ms": "h2load mean time per request, ms",
    "succeeded": "requests answered OK (and counted OK by the server)",
    "start_seconds": "start to SERVING, s",
    "supervisor_rss_mib": "supervisor VmRSS, MiB (0 with one worker: there is none)",
    "worker_rss_mib": "VmRSS per worker, MiB (mean)",
    "worker_shared_mib": "shared part of a worker's RSS, MiB (mean)",
    "worker_private_mib": "private part of a worker's RSS, MiB (mean)",
    "total_pss_mib": "all processes together (sum of Pss), MiB",
    "worker_cpu_share": "CPU seconds of the busiest worker / of all workers, during the run",
}


def h2load() -> str:
    found = shutil.which("h2load")
    if found is None:
        raise SystemExit("h2load not found: apt-get install nghttp2-client")
    return found


def grpc_body(request: authz_pb.CheckRequest) -> bytes:
    message = request.SerializeToString()
    return b"\x00" + len(message).to_bytes(4, "big") + message


def memory(pid: int) -> dict[str, float]:
    """MiB: VmRSS, and shared, private and Pss from smaps_rollup."""
    found = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                found["rss"] = int(line.split()[1]) / 1024
    kib = {}
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                kib[name] = int(rest.split()[0])
    found["shared"] = (kib["Shared_Clean"] + kib["Shared_Dirty"]) / 1024
    found["private"] = (kib["Private_Clean"] + kib["Private_Dirty"]) / 1024
    found["pss"] = kib["Pss"] / 1024
    return found


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def workers_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return sorted(int(child) for child in path.read_text().split())


def settled(address: str) -> tuple[float, float]:
    """The server's counts once every worker has published what it counted (workers publish their
    per-call counts every second): two scrapes 1.5 s apart that agree."""
    seen = counted(scrape(address))
    deadline = time.monotonic() + 30
    while True:
        time.sleep(1.5)
        again = counted(scrape(address))
        if again == seen or time.monotonic() > deadline:
            return again
        seen = again


def scrape(address: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def counted(samples: dict) -> tuple[float, float]:
    """(OK Checks, allowed Checks) the server has counted."""
    ok = samples.get(("authz_grpc_requests_total", (("code", "OK"), ("method", "Check"),
                                                     ("service", "authz.v1.AuthorizationService"))), 0.0)
    allowed = samples.get(("authz_checks_total", (("decision", "allowed"), ("method", "Check"))), 0.0)
    return ok, allowed


def run_h2load(address: str, body: Path, requests: int, shape: dict, threads: int) -> dict:
    command = [h2load(), "-n", str(requests), "-c", str(shape["connections"]), "-m", str(shape["streams"]),
               "-t", str(threads), "-d", str(body), "-H", "content-type: application/grpc", "-H", "te: trailers",
               f"http://{address}{CHECK_PATH}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"h2load failed ({done.returncode}): {done.stdout}{done.stderr}")
    out = done.stdout
    rate = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", out)
    counts = re.search(r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed", out)
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s", out)
    if not (rate and counts and mean):
        raise RuntimeError(f"cannot read h2load's output:\n{out}")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return {"checks_per_s": float(rate.group(3)), "succeeded": int(counts.group(2)), "failed": int(counts.group(3)),
            "mean_request_ms": float(mean.group(1)) * scale[mean.group(2)], "output": out}


def allowed_question(world, policy, address: str, seed: int) -> authz_pb.CheckRequest:
    """An allowed question of the mix, through a team's binding, asked once through gRPC."""
    mixer = bench.Mixer(world, policy, seed)
    with grpc.insecure_channel(address) as channel:
        check = authz_grpc.AuthorizationServiceStub(channel).Check
        for _ in range(10_000):
            subject, project, role = mixer.known_subject_and_project()
            granted = mixer.granted.get(role)
            if not granted or not subject.startswith("user:"):
                continue
            rtype, action = granted[0]
            request = bench.check_message((subject, action, rtype, "r1", project))
            if check(request, timeout=30).allowed:
                return request
    raise RuntimeError("no allowed question found")


def measure(workdir: Path, url: str, workers: int, world, policy, shape: dict, threads: int, seed: int) -> dict:
    server = Server(workdir, url, "--workers", str(workers), "--policy-poll-seconds", "0",
                    "--expiry-sweep-seconds", "0",
                    env={"AUTHZ_ADMIN_TOKEN": TOKEN, "AUTHZ_LOG_LEVEL": "WARNING"})
    started = time.perf_counter()
    server.start(timeout=900)
    figures: dict = {"start_seconds": time.perf_counter() - started}
    try:
        assert server.process is not None
        supervisor = server.process.pid
        pids = workers_of(supervisor) if workers > 1 else [supervisor]
        assert len(pids) == workers, pids
        request = allowed_question(world, policy, server.address, seed)
        body = workdir / "check.bin"
        body.write_bytes(grpc_body(request))
        run_h2load(server.address, body, shape["warmup"], shape, threads)
        before, cpu_before = settled(server.metrics_address), [cpu_seconds(p) for p in pids]
        result = run_h2load(server.address, body, shape["requests"], shape, threads)
        cpu_after = [cpu_seconds(p) for p in pids]
        after = settled(server.metrics_address)
        ok, allowed = after[0] - before[0], after[1] - before[1]
        if not (ok == allowed == result["succeeded"] == shape["requests"]):
            raise RuntimeError(f"h2load's {result['succeeded']} successes of {shape['requests']}, but the server "
                               f"counted {ok:.0f} OK Checks and {allowed:.0f} allowed:\n{result['output']}")
        used = [a - b for a, b in zip(cpu_after, cpu_before, strict=True)]
        figures.update(checks_per_s=result["checks_per_s"], mean_request_ms=result["mean_request_ms"],
                       succeeded=result["succeeded"], worker_cpu_share=max(used) / sum(used) if sum(used) else 0.0)
        worker_memory = [memory(p) for p in pids]
        figures["supervisor_rss_mib"] = memory(supervisor)["rss"] if workers > 1 else 0.0
        figures["worker_rss_mib"] = sum(m["rss"] for m in worker_memory) / workers
        figures["worker_shared_mib"] = sum(m["shared"] for m in worker_memory) / workers
        figures["worker_private_mib"] = sum(m["private"] for m in worker_memory) / workers
        everyone = worker_memory + ([memory(supervisor)] if workers > 1 else [])
        figures["total_pss_mib"] = sum(m["pss"] for m in everyone)
        figures["workers"] = [{"pid": p, **m, "cpu_seconds": u} for p, m, u in zip(pids, worker_memory, used,
                                                                                 strict=True)]
    finally:
        code = server.stop()
    if code != 0:
        raise RuntimeError(f"authz serve --workers {workers} exited with {code}:\n{server.log()}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--size", default="medium", help="a size of bench.py: " + ", ".join(bench.SIZES))
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--quick", action="store_true", help="the smoke run: size quick, few requests")
    parser.add_argument("--requests", type=int, help="requests per measured run (default 200,000; quick 2,000)")
    parser.add_argument("--threads", type=int, default=1, help="h2load's threads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    size = "quick" if args.quick else args.size
    if size not in bench.SIZES:
        parser.error(f"unknown size {size!r}")
    shape = dict(QUICK if args.quick else FULL)
    if args.requests:
        shape["requests"] = args.requests
    counts = [int(n) for n in args.workers.split(",")]
    h2load()
    policy = load_policy(ROOT / "policies")
    world = bench.make_world(policy, bench.SIZES[size], args.seed)
    report: dict = {"command": " ".join(sys.argv), "commit": bench.commit(), "machine": bench.machine(),
                    "size": size, "bindings": bench.SIZES[size], "shape": shape, "h2load_threads": args.threads,
                    "figures": FIGURES, "results": {}}
    workdir = Path(tempfile.mkdtemp(prefix="authz-capacity-"))
    try:
        url = f"sqlite:///{workdir / 'authz.db'}"
        loader = Server(workdir, url, env={"AUTHZ_ADMIN_TOKEN": TOKEN, "AUTHZ_LOG_LEVEL": "WARNING"}).start()
        try:
            with loader.client(timeout=600) as client:
                for chunk in world.chunks(bench.CHUNK):
                    request = dir_pb.ImportRequest(operations=[operation_to_proto(op) for op in chunk])
                    client.directory.Import(request, metadata=client.metadata, timeout=600)
        finally:
            loader.stop()
        for workers in counts:
            load = os.getloadavg()[0]
            figures = measure(workdir, url, workers, world, policy, shape, args.threads, args.seed + workers)
            # The machine's other work shares the cores: its load average, before and after.
            figures["load_average"] = [load, os.getloadavg()[0]]
            report["results"][str(workers)] = figures
            print(f"--workers {workers}: " + ", ".join(f"{k}={bench.fmt(v)}" for k, v in figures.items()
                                                       if k in FIGURES), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(table(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


def table(report: dict) -> str:
    counts = list(report["results"])
    rows = [["figure", *(f"--workers {n}" for n in counts)]]
    for name, label in FIGURES.items():
        rows.append([label, *(bench.fmt(report["results"][n][name]) for n in counts)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    shape = report["shape"]
    lines.append(f"({report['bindings']:,} bindings; h2load -n {shape['requests']:,} -c {shape['connections']} "
                 f"-m {shape['streams']} -t {report['h2load_threads']}; {report['machine']['cores']} cores, "
                 f"commit {report['commit']})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
