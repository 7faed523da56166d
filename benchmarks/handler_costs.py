"""What Echo, Check and BatchCheck cost inside the server, without the transport, warm and cold.

    .venv/bin/python benchmarks/handler_costs.py --size small
    .venv/bin/python benchmarks/handler_costs.py --size large --json costs.json
    .venv/bin/python benchmarks/handler_costs.py --quick          # seconds; what CI runs

The world and the requests are bench.py's (the same seed gives the same ones). The world is
written through the Authorizer's write path into the in-memory storage. Each method's handler
is the one `authz serve` hands gRPC: registered by `server.add_services` through the
interceptors' registrar, with its request deserializer, every wrapper (metrics, request id,
errors, auth with the check token, undecodable) and its response serializer. Each call runs on
an event loop from the request's bytes to the response's bytes, one after the other.

Warm: call after call, as a loop in one process keeps every cache. Cold: 48 MiB written
between calls, which evicts every cache of this machine (32 MiB L3), as other processes' work
does between a server's calls over the wire, to an extent between the two. bench.py's ratios
over the wire fall between the warm and the cold figures' (docs/performance.md).

Nothing here asserts a speed: tests/e2e/test_handler_costs_smoke.py runs --quick and checks that
every figure is there."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import time
from pathlib import Path

import grpc.aio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import BATCH, CHECK_TOKEN, CHECKER, SIZES, Plan, Prepared, commit, fmt, machine  # noqa: E402

from authz.api import interceptors  # noqa: E402
from authz.api.backend import Backend  # noqa: E402
from authz.api.interceptors.auth import Tokens  # noqa: E402
from authz.api.limits import Limits  # noqa: E402
from authz.engine.index import Index  # noqa: E402
from authz.engine.policy_files import load_policy  # noqa: E402
from authz.server import add_services  # noqa: E402
from authz.service.authorizer import Authorizer, load_index  # noqa: E402
from authz.testing.memory_storage import MemoryStorage  # noqa: E402

ECHO = "/authz.v1.DiagnosticsService/Echo"
CHECK = "/authz.v1.AuthorizationService/Check"
BATCH_CHECK = "/authz.v1.AuthorizationService/BatchCheck"
FLUSH_BYTES = 48 << 20
COLD_CALLS = 1_000  # cold calls per figure: each costs a 48 MiB write besides
FIGURES = {
    "echo_us": "Echo of one check, µs per call",
    "check_us": "Check, µs per call",
    "echo_batch_client_us": "Echo of a client-shaped batch, µs per call",
    "batch_client_us": "BatchCheck, client-shaped, µs per call",
    "batch_client_extra_us": "BatchCheck - Echo, client-shaped, µs per batch",
    "echo_batch_mixed_us": "Echo of a fully mixed batch, µs per call",
    "batch_mixed_us": "BatchCheck, fully mixed, µs per call",
    "batch_mixed_extra_us": "BatchCheck - Echo, fully mixed, µs per batch",
}


class Context:
    """What the handlers read of gRPC's ServicerContext on these calls: the metadata (the check
    token), no deadline, and no status code set."""

    def invocation_metadata(self):
        return CHECKER

    def time_remaining(self):
        return None

    def code(self):
        return None

    async def abort(self, code, details):
        raise RuntimeError(f"the call was refused: {code} {details}")


async def load(prepared: Prepared, policy) -> Authorizer:
    """The world written, then the index loaded from storage in one piece, as a server starting
    on that database does (its objects then lie as the server's do)."""
    storage = MemoryStorage()
    writer = Authorizer(storage, policy, Index(), 0)
    for chunk in prepared.world.chunks(10_000):
        await writer.write(chunk, "bench", "")
    writer.close()
    index, revision = load_index(storage)
    return Authorizer(storage, policy, index, revision)


def handlers(backend: Backend) -> dict[str, grpc.RpcMethodHandler]:
    server = grpc.aio.server()  # never started: only what registration hands it
    registrar = interceptors.registrar(server, Tokens(admin="bench-admin", check=CHECK_TOKEN),
                                       logging.getLogger("authz"))
    add_services(registrar, backend)
    found = {method: registrar.method_handler(method) for method in (ECHO, CHECK, BATCH_CHECK)}
    return {method: handler for method, handler in found.items() if handler is not None}


async def seconds_per_call(handler: grpc.RpcMethodHandler, requests: list[bytes], cold: bool) -> float:
    """Mean seconds from a request's bytes to its response's, over `requests`."""
    context = Context()
    deserialize, behavior, serialize = handler.request_deserializer, handler.unary_unary, handler.response_serializer
    junk = bytearray(FLUSH_BYTES) if cold else None
    stride = b"\x01" * (FLUSH_BYTES // 64)
    clock = time.perf_counter
    total = 0.0
    for data in requests:
        if junk is not None:
            junk[::64] = stride
        start = clock()
        serialize(await behavior(deserialize(data), context))
        total += clock() - start
    return total / len(requests)


async def measure(prepared: Prepared, policy, repeats: int) -> tuple[dict[str, float], dict[str, float]]:
    """The figures warm, then cold."""
    authorizer = await load(prepared, policy)
    backend = Backend(Limits())
    backend.ready(authorizer)
    found = handlers(backend)
    gc.collect()
    gc.freeze()  # as the server does once its index has loaded
    checks = [message.SerializeToString() for message in prepared.checks]
    echoes = [message.SerializeToString() for message in prepared.echoes]
    runs = {"echo_us": (found[ECHO], echoes), "check_us": (found[CHECK], checks)}
    for shape, (batches, batch_echoes) in prepared.batches.items():
        runs[f"echo_batch_{shape}_us"] = (found[ECHO], [m.SerializeToString() for m in batch_echoes])
        runs[f"batch_{shape}_us"] = (found[BATCH_CHECK], [m.SerializeToString() for m in batches])
    both: tuple[dict[str, float], dict[str, float]] = ({}, {})
    for cold, figures in zip((False, True), both, strict=True):
        for name, (handler, every) in runs.items():
            requests = every[:COLD_CALLS] if cold else every
            await seconds_per_call(handler, requests[:50], cold)  # warm-up
            # The least of the repeats: the machine's noise only ever adds.
            best = min([await seconds_per_call(handler, requests, cold) for _ in range(repeats)])
            figures[name] = best * 1e6
        for shape in prepared.batches:
            figures[f"batch_{shape}_extra_us"] = figures[f"batch_{shape}_us"] - figures[f"echo_batch_{shape}_us"]
    gc.unfreeze()
    return both


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--size", default="small", choices=sorted(SIZES, key=SIZES.get))
    parser.add_argument("--quick", action="store_true", help="the smoke run: size quick, few samples")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    size = "quick" if args.quick else args.size
    plan = Plan(args.quick)
    policy = load_policy(ROOT / "policies")
    prepared = Prepared(policy, size, args.seed, plan)
    warm, cold = asyncio.run(measure(prepared, policy, 1 if args.quick else 3))
    report = {"command": " ".join(sys.argv), "commit": commit(), "machine": machine(), "size": size,
              "bindings": prepared.bindings, "batch": BATCH, "figures": FIGURES, "warm": warm, "cold": cold}
    width = max(len(label) for label in FIGURES.values())
    print(f"{'figure':<{width}}  {'warm':>8}  {'cold':>8}   ({size}, {prepared.bindings:,} bindings)")
    for name, label in FIGURES.items():
        print(f"{label:<{width}}  {fmt(report['warm'][name]):>8}  {fmt(report['cold'][name]):>8}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
