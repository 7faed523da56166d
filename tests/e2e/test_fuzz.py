"""Fuzzing a real `authz serve`: random and adversarial requests to every unary RPC, as messages
built from the proto descriptors (values near the edges: empty, `*`, too long, control
characters, ids of the world, huge numbers) and as bytes that are no message at all (random,
truncated, mutated, `\\xff\\xff\\xff`). Whatever comes, no answer is INTERNAL or UNKNOWN, no
message carries a traceback, and the server's log has none.

The suite's budget is small (AUTHZ_FUZZ_REQUESTS per RPC, default 60). The long run, whose
figures docs/fuzzing.md keeps:

    AUTHZ_FUZZ_REQUESTS=10000 AUTHZ_FUZZ_SEED=1 .venv/bin/pytest tests/e2e/test_fuzz.py -s -q --timeout 0

(AUTHZ_FUZZ_SEED picks the random sequence; without it, a new seed is drawn and printed.)"""

from __future__ import annotations

import collections
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor as d
from google.protobuf import message_factory
from grpc_health.v1 import health_pb2

from authz._gen.authz.v1 import authorization_pb2, diagnostics_pb2, directory_pb2, policy_pb2
from authz.testing import example
from authz.testing.server import Server

pytestmark = pytest.mark.e2e

REQUESTS_PER_RPC = int(os.environ.get("AUTHZ_FUZZ_REQUESTS", "60"))
THREADS = 4
FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
POLICIES = Path(__file__).resolve().parents[2] / "policies"

# Values a caller might send, near the edges of what is valid, and the world's own names.
IDS = ["acme", "staging", "production", "prod-llms", "prod-recommendations", "staging-llms", "data-science",
       "contractors", "x", "new", "a.b_c-d@e"]
SUBJECTS = ["user:ada", "user:eve", "team:data-science", "team:contractors", "service_account:ci-bot",
            "user:new", "team:nope", "user:", "ada", "group:x", "user:a b", "team:" + "t" * 129]
ROLES = ["project_viewer", "project_admin", "workspace_developer", "stack_admin", "organization_admin",
         "member", "custom_fuzz", "projct_viewer", "Project_Viewer"]
NAMES = ["read", "create", "delete", "share", "model", "pipeline", "stack", "project", "workspace",
         "organization", "future_type", "pipline"]
LEVELS = ["organization", "workspace", "project", "Project", "team"]
ADVERSARIAL = ["", "*", " ", "a" * 64, "a" * 65, "a" * 128, "a" * 129, "x" * 20_000, "\x00", "a\nb", "\u00fc",
               "\U0001f600", "../../etc/passwd", "/", "/proc", "/nonexistent", "%s%n", "{}", "'\"", ",", ":",
               "user:*", "DROP TABLE role_bindings", "\u202e", "a" * 256]
PATHS = [str(POLICIES), "/", "/proc/self", "a" * 256, "/" + "b" * 5000, "", "policies", "\x00"]
BIG_INTS = [0, 1, 2, 5, 100, 1000, 1001, 10_001, 2**31 - 1, 2**32, 2**63 - 1, 2**64 - 1]


def _methods() -> list[tuple[str, d.Descriptor]]:
    methods = []
    for module in (authorization_pb2, directory_pb2, policy_pb2, diagnostics_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            methods += [(f"/{service.full_name}/{m.name}", m.input_type) for m in service.methods
                        if not m.client_streaming and not m.server_streaming]
    methods.append(("/grpc.health.v1.Health/Check", health_pb2.HealthCheckRequest.DESCRIPTOR))
    return methods


METHODS = _methods()


class Fuzzer:
    """Random requests of one seed; `request(method, descriptor)` gives the bytes to send."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def text(self, name: str) -> str:
        rng = self.rng
        if rng.random() < 0.25:
            return rng.choice(ADVERSARIAL)
        if name in ("subject", "actor"):
            return rng.choice(SUBJECTS)
        if name in ("role", "base_role", "name"):
            return rng.choice(ROLES)
        if name == "level":
            return rng.choice(LEVELS)
        if name in ("action", "actions", "type", "resource_type"):
            return rng.choice(NAMES)
        if name == "candidate_directory":
            return rng.choice(PATHS)
        if name == "page_token":
            return rng.choice(["", "not-a-token!", "YWNtZQ==", "////", "MDFh"])
        if name.endswith(("id", "ids")) or name == "service":
            return rng.choice(IDS)
        return "".join(rng.choice("abz_:.-@* ") for _ in range(rng.randrange(0, 12)))

    def number(self, field: d.FieldDescriptor) -> int:
        rng = self.rng
        if field.name == "at_least_revision":  # a wait: mostly none, now and then a short one
            return rng.choice([0, 0, 0, 1, 2])
        value = rng.choice(BIG_INTS)
        if field.type in (d.FieldDescriptor.TYPE_INT32, d.FieldDescriptor.TYPE_SINT32,
                          d.FieldDescriptor.TYPE_SFIXED32):
            return min(value, 2**31 - 1) * rng.choice([1, -1])
        if field.type in (d.FieldDescriptor.TYPE_INT64, d.FieldDescriptor.TYPE_SINT64,
                          d.FieldDescriptor.TYPE_SFIXED64):
            return min(value, 2**63 - 1) * rng.choice([1, -1])
        if field.type in (d.FieldDescriptor.TYPE_UINT32, d.FieldDescriptor.TYPE_FIXED32):
            return min(value, 2**32 - 1)
        return value

    def scalar(self, field: d.FieldDescriptor):
        kind = field.type
        if kind == d.FieldDescriptor.TYPE_STRING:
            return self.text(field.name)
        if kind == d.FieldDescriptor.TYPE_BYTES:
            return self.rng.randbytes(self.rng.randrange(0, 16))
        if kind == d.FieldDescriptor.TYPE_BOOL:
            return self.rng.random() < 0.5
        if kind == d.FieldDescriptor.TYPE_ENUM:
            return self.rng.choice([v.number for v in field.enum_type.values] + [99])
        if kind in (d.FieldDescriptor.TYPE_DOUBLE, d.FieldDescriptor.TYPE_FLOAT):
            return self.rng.choice([0.0, -1.0, 1e300, float("nan"), 0.5])
        return self.number(field)

    def fill(self, message, depth: int = 0) -> None:
        rng = self.rng
        for field in message.DESCRIPTOR.fields:
            if rng.random() < 0.3:
                continue
            if field.is_repeated:
                count = rng.choice([0, 1, 1, 2, 3, 5]) if depth < 2 else rng.choice([0, 1])
                if rng.random() < 0.01 and depth == 0:
                    count = rng.choice([1001, 10_001])  # past the limits
                for _ in range(count):
                    if field.type == d.FieldDescriptor.TYPE_MESSAGE:
                        self.fill(getattr(message, field.name).add(), depth + 1)
                    else:
                        getattr(message, field.name).append(self.scalar(field))
            elif field.type == d.FieldDescriptor.TYPE_MESSAGE:
                if depth < 4:
                    self.fill(getattr(message, field.name), depth + 1)
            else:
                setattr(message, field.name, self.scalar(field))

    def request(self, descriptor: d.Descriptor) -> bytes:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            message = message_factory.GetMessageClass(descriptor)()
            self.fill(message)
            return message.SerializeToString()
        if roll < 0.75:  # a valid message, damaged
            message = message_factory.GetMessageClass(descriptor)()
            self.fill(message)
            data = bytearray(message.SerializeToString() or b"\x0a\x03abc")
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            return bytes(data[: rng.randrange(1, len(data) + 1)])
        if roll < 0.95:
            return rng.randbytes(rng.randrange(0, 64))
        return rng.choice([b"\xff\xff\xff", b"\x0a", b"\x0a\xff\xff\xff\xff\x0f", b"\x08" + b"\xff" * 10,
                           b"\x0a\x05\xc3\x28abc", b"\x12\x00" * 1000, b""])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fuzz")
    instance = Server(workdir, f"sqlite:///{workdir / 'authz.db'}", "--policy-poll-seconds", "0").start()
    with instance.client() as client:
        client.import_operations(example.operations())
    yield instance
    instance.stop()


def test_no_request_gets_internal_unknown_or_a_traceback(server):
    seed = int(os.environ.get("AUTHZ_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\nfuzz: seed {seed}, {REQUESTS_PER_RPC} requests per RPC, {len(METHODS)} RPCs")
    codes: dict[str, collections.Counter] = {method: collections.Counter() for method, _ in METHODS}
    failures: list[str] = []
    lock = threading.Lock()
    admin = (("authorization", f"Bearer {server.token}"),)
    metadata_choices = [admin] * 8 + [(), (("authorization", "Bearer wrong"),)]

    def run(method: str, descriptor: d.Descriptor, part: int, count: int) -> None:
        fuzzer = Fuzzer(hash((seed, method, part)) & 0xFFFFFFFF)
        with grpc.insecure_channel(server.address) as channel:
            call = channel.unary_unary(method)
            for _ in range(count):
                body = fuzzer.request(descriptor)
                metadata = fuzzer.rng.choice(metadata_choices)
                try:
                    call(body, timeout=10, metadata=metadata)
                    code, details = grpc.StatusCode.OK, ""
                except grpc.RpcError as error:
                    code, details = error.code(), error.details() or ""
                with lock:
                    codes[method][code.name] += 1
                    if code in FORBIDDEN or "Traceback" in details:
                        failures.append(f"{method} {body[:80]!r}: {code.name} {details[:300]}")

    parts = 4
    jobs = [(m, desc, part, REQUESTS_PER_RPC // parts + (1 if part < REQUESTS_PER_RPC % parts else 0))
            for m, desc in METHODS for part in range(parts)]
    random.Random(seed).shuffle(jobs)
    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(run, *job) for job in jobs]:
            future.result()
    elapsed = time.monotonic() - started
    total = sum(sum(c.values()) for c in codes.values())
    print(f"fuzz: {total} requests in {elapsed:.1f} s")
    for method, counter in codes.items():
        print(f"  {method.lstrip('/'):<52} {sum(counter.values()):>7}  "
              + ", ".join(f"{name} {n}" for name, n in counter.most_common()))
    assert failures == [], "\n".join(failures[:20])
    assert all(sum(c.values()) == REQUESTS_PER_RPC for c in codes.values())
    assert "Traceback" not in server.log(), server.log()[-5000:]
