"""What the authz plug-in adds to a ZenML request, measured against ZenML without RBAC in the
same run, and how soon the plug-in answers after the sidecar restarts.

    .venv/bin/python benchmarks/zenml_overhead.py --requests 300 --json results/zenml.json

It starts a real `authz serve` and three real ZenML servers from the cached environment of
authz/testing/zenml.py (built on first use): one with RBAC off, one with an allow-all RBAC
class that asks no one (benchmarks/zenml_allow_all.py: ZenML's own RBAC bookkeeping, the floor
of any RBAC plug-in), and one with the authz plug-in. All hold
the same world: one project with `--pipelines` pipelines created by the admin, and a non-admin
user, who reads through a `workspace_viewer` binding where RBAC is on. The user then lists a
page of 20 pipelines (`GET /api/v1/pipelines?project=...&size=20`) and reads one pipeline
(`GET /api/v1/pipelines/<id>`), `--requests` times each, rotating through the servers request
by request so that all see the same load. The sidecar's calls per request are counted from its
`authz_grpc_requests_total`.

Then the reconnect: with the sidecar stopped for two seconds while the plug-in and a stock gRPC
channel (default options) keep trying, it restarts on the same port and database, and times the
plug-in's first call and the stock channel's first success (polling every 10 ms).

Nothing here asserts a speed."""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from authz import token_file  # noqa: E402
from authz._gen.authz.v1 import authorization_pb2 as authz_pb  # noqa: E402
from authz._gen.authz.v1 import authorization_pb2_grpc as authz_grpc  # noqa: E402
from authz.integrations import zenml as plugin  # noqa: E402
from authz.testing.server import Server  # noqa: E402
from authz.testing.zenml import ZENML_VERSION, ZenMLServer, ensure_venv, free_port  # noqa: E402

ORG, WORKSPACE, PASSWORD = "bench", "zenml", "Pass-word-1"


@dataclass
class Side:
    name: str
    server: ZenMLServer
    user: str = ""
    project: str = ""
    pipeline: str = ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def prepare(side: Side, pipelines: int, bind) -> None:
    server = side.server
    admin_id = server.activate("admin", PASSWORD)["id"]
    admin = server.login("admin", PASSWORD)
    bind(f"user:{admin_id}", "workspace_admin")
    project = server.request("POST", "/projects", token=admin, json_body={"name": "bench", "display_name": "b"})
    side.project = project.json()["id"]
    for i in range(pipelines):
        made = server.request("POST", "/pipelines", token=admin, json_body={"name": f"p{i}", "project": side.project})
        assert made.status == 200, made
        side.pipeline = made.json()["id"]
    user = server.request("POST", "/users", token=admin, json_body={
        "name": "reader", "full_name": "r", "password": PASSWORD, "is_admin": False, "active": True})
    bind(f"user:{user.json()['id']}", "workspace_viewer")
    side.user = server.login("reader", PASSWORD)


def timed(side: Side, path: str, params: dict | None) -> float:
    started = time.perf_counter()
    answer = side.server.request("GET", path, token=side.user, params=params)
    elapsed = time.perf_counter() - started
    assert answer.status == 200, answer
    return elapsed


def sidecar_calls(metrics_address: str) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://{metrics_address}/metrics", timeout=10).read().decode()
    counts: dict[str, float] = {}
    for match in re.finditer(r'authz_grpc_requests_total\{[^}]*method="(\w+)"[^}]*\} (\S+)', text):
        counts[match.group(1)] = counts.get(match.group(1), 0.0) + float(match.group(2))
    return counts


def measure_requests(sides: list[Side], requests: int, sidecar: Server) -> dict:
    shapes = {
        "list 20 pipelines": lambda s: ("/pipelines", {"project": s.project, "size": 20}),
        "read one pipeline": lambda s: (f"/pipelines/{s.pipeline}", None),
    }
    results: dict = {}
    for shape, request_of in shapes.items():
        for side in sides:  # warm up
            for _ in range(20):
                timed(side, *request_of(side))
        before = sidecar_calls(sidecar.metrics_address)
        samples: dict[str, list[float]] = {side.name: [] for side in sides}
        for i in range(requests):
            for side in sides[i % len(sides):] + sides[:i % len(sides)]:
                samples[side.name].append(timed(side, *request_of(side)))
        after = sidecar_calls(sidecar.metrics_address)
        calls = {method: (after.get(method, 0) - before.get(method, 0)) / requests
                 for method in after if after.get(method, 0) != before.get(method, 0)}
        results[shape] = {
            name: {"p50_ms": statistics.median(v) * 1000, "p90_ms": percentile(v, 0.9) * 1000,
                   "p99_ms": percentile(v, 0.99) * 1000}
            for name, v in samples.items()
        }
        results[shape]["sidecar_calls_per_request"] = calls
    return results


def measure_reconnect(sidecar: Server, restart) -> dict:
    plug = plugin.AuthzRBAC({
        "AUTHZ_ZENML_ADDRESS": sidecar.address, "AUTHZ_ZENML_TOKEN": sidecar.env["BENCH_TOKEN"],
        "AUTHZ_ZENML_ORGANIZATION_ID": ORG, "AUTHZ_ZENML_WORKSPACE_ID": WORKSPACE,
    }, user_subject=lambda user_id: f"user:{user_id}")

    @dataclass(frozen=True)
    class Thing:
        type: str = "stack"
        id: uuid.UUID | None = None
        project_id: None = None

    @dataclass(frozen=True)
    class Who:
        id: str = "bench-user"
        is_service_account: bool = False

    stock = grpc.insecure_channel(sidecar.address)
    stub = authz_grpc.AuthorizationServiceStub(stock)
    request = authz_pb.CheckRequest(subject="user:x", action="read", resource={"type": "stack"},
                                    scope={"workspace_id": WORKSPACE})
    metadata = (("authorization", f"Bearer {sidecar.env['BENCH_TOKEN']}"),)
    stub.Check(request, timeout=2, metadata=metadata)
    plug.check_permissions(Who(), {Thing()}, "read")
    sidecar.stop()
    down_until = time.monotonic() + 2.0
    while time.monotonic() < down_until:  # both keep failing, as a busy ZenML server's would
        for call in (lambda: stub.Check(request, timeout=0.2, metadata=metadata),
                     lambda: plug.check_permissions(Who(), {Thing()}, "read")):
            with contextlib.suppress(grpc.RpcError, plugin.SidecarUnavailable):
                call()
        time.sleep(0.05)
    restart()
    started = time.perf_counter()
    plug.check_permissions(Who(), {Thing(id=uuid.uuid4())}, "read")
    plugin_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    failures = 0
    while True:
        try:
            stub.Check(request, timeout=2, metadata=metadata)
            break
        except grpc.RpcError:
            failures += 1
            time.sleep(0.01)
    stock_ms = (time.perf_counter() - started) * 1000
    stock.close()
    return {"plugin_first_call_ms": plugin_ms, "stock_channel_first_success_ms": stock_ms,
            "stock_channel_failed_calls": failures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pipelines", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    venv = ensure_venv()
    work = Path(tempfile.mkdtemp(prefix="authz-zenml-bench-"))
    token = token_file.append(work / "tokens", "zenml", "integration")
    port = free_port()

    def new_sidecar() -> Server:
        return Server(work, f"sqlite:///{work / 'authz.db'}", "--grpc-address", f"127.0.0.1:{port}",
                      "--tokens-file", str(work / "tokens"),
                      env={"AUTHZ_ADMIN_TOKEN": "bench-admin", "BENCH_TOKEN": token})

    sidecar = new_sidecar().start()
    client = sidecar.client()
    client.create_organization(ORG)
    client.create_workspace(WORKSPACE, ORG)
    plain = Side("rbac off", ZenMLServer(venv, work / "plain"))
    allow = Side("rbac allow-all", ZenMLServer(venv, work / "allow", {}, "benchmarks.zenml_allow_all.AllowAll"))
    checked = Side("rbac via authz", ZenMLServer(venv, work / "checked", {
        "AUTHZ_ZENML_ADDRESS": sidecar.address, "AUTHZ_ZENML_TOKEN": token,
        "AUTHZ_ZENML_ORGANIZATION_ID": ORG, "AUTHZ_ZENML_WORKSPACE_ID": WORKSPACE,
    }))
    sides = [plain, allow, checked]
    try:
        for side in sides:
            side.server.start()
        prepare(plain, args.pipelines, lambda subject, role: None)
        prepare(allow, args.pipelines, lambda subject, role: None)
        prepare(checked, args.pipelines,
                lambda subject, role: client.create_role_binding(subject, role, workspace=WORKSPACE))
        requests = measure_requests(sides, args.requests, sidecar)
        for side in sides:
            side.server.stop()
        client.close()

        def restart() -> None:
            nonlocal sidecar
            sidecar = new_sidecar().start()

        reconnect = measure_reconnect(sidecar, restart)
    finally:
        for side in sides:
            side.server.stop()
        sidecar.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"ZenML {ZENML_VERSION}, {args.requests} requests of each shape per server, rotating")
    print(f"{'request':<20} {'server':<16} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for shape, figures in requests.items():
        for name in (side.name for side in sides):
            f = figures[name]
            print(f"{shape:<20} {name:<16} {f['p50_ms']:>8.2f} {f['p90_ms']:>8.2f} {f['p99_ms']:>8.2f}")
        zenml_rbac = figures[allow.name]["p50_ms"] - figures[plain.name]["p50_ms"]
        sidecar_part = figures[checked.name]["p50_ms"] - figures[allow.name]["p50_ms"]
        calls = ", ".join(f"{m} {n:.2f}" for m, n in sorted(figures["sidecar_calls_per_request"].items()))
        print(f"{'':<20} added at p50: ZenML's RBAC path {zenml_rbac:.2f} ms, the sidecar {sidecar_part:.2f} ms "
              f"(calls per request: {calls})")
    print(f"after a sidecar restart: the plug-in's first call {reconnect['plugin_first_call_ms']:.1f} ms; "
          f"a stock channel's first success {reconnect['stock_channel_first_success_ms']:.0f} ms "
          f"after {reconnect['stock_channel_failed_calls']} failed calls")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "zenml": ZENML_VERSION, "requests": args.requests, "pipelines": args.pipelines,
            "python": platform.python_version(), "results": requests, "reconnect": reconnect,
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
