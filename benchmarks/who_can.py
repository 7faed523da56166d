"""Who has access, at scale: ListSubjects and ListSubjectAccess against a real `authz serve`.

    .venv/bin/python benchmarks/who_can.py --bindings 1000000 --json results/who-can.json
    .venv/bin/python benchmarks/who_can.py --quick          # 2,000 bindings, seconds (a test runs it)

It builds bench.py's synthetic world (authz/testing/synthetic.py) at `--bindings`, imports it through
Import into a real server on SQLite, then adds one organization of its own whose project
`wc-p` has exactly 1,000 subjects that may read `pipeline/target` (600 project viewers, 20
teams of 10 with a workspace role: 200 members and the 20 teams, 100 organization admins by a
`*` permission, and 80 users it is shared with), among 2,000 bindings that grant nothing
there. It measures, alternating with the Echo floor (one check, and 1,000 checks so that the
answer is as big as ListSubjects' 1,000 subjects):

- ListSubjects for that project, all 1,000 subjects in one page, and in pages of 100;
- ListSubjects for a project of the synthetic world (reading any pipeline);
- ListSubjectAccess of one synthetic user, and a 1,000-row page of an organization's report;
- the engine alone (lookup.subjects_page) on the same project, in this process.

Nothing here asserts a speed."""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402

from authz._gen.authz.v1 import authorization_pb2 as authz_pb  # noqa: E402
from authz._gen.authz.v1 import authorization_pb2_grpc as authz_grpc  # noqa: E402
from authz._gen.authz.v1 import common_pb2 as common_pb  # noqa: E402
from authz._gen.authz.v1 import diagnostics_pb2 as diag_pb  # noqa: E402
from authz._gen.authz.v1 import diagnostics_pb2_grpc as diag_grpc  # noqa: E402
from authz._gen.authz.v1 import directory_pb2 as dir_pb  # noqa: E402
from authz._gen.authz.v1 import directory_pb2_grpc as dir_grpc  # noqa: E402
from authz.api.convert import operation_to_proto  # noqa: E402
from authz.domain import operations as ops  # noqa: E402
from authz.domain.model import PROJECT, Node, Resource, Scope  # noqa: E402
from authz.engine import lookup  # noqa: E402
from authz.engine.policy_files import load_policy  # noqa: E402
from authz.service.authorizer import load_index  # noqa: E402
from authz.storage.sql import SqlStorage  # noqa: E402
from authz.testing.server import Server  # noqa: E402

TOKEN = "bench"
ALLOWED = 1000
FIGURES = {
    "bindings": "bindings (synthetic world, plus 3,000 of the who-can organization)",
    "echo_p50_ms": "Echo, one check, p50, ms",
    "echo_1000_p50_ms": "Echo, 1,000 checks, p50, ms",
    "list_subjects_p50_ms": "ListSubjects, 1,000 subjects in one page, p50, ms",
    "list_subjects_p99_ms": "ListSubjects, 1,000 subjects in one page, p99, ms",
    "list_subjects_paged_p50_ms": "ListSubjects, 1,000 subjects in pages of 100, all pages, p50, ms",
    "synthetic_subjects": "subjects that may read pipelines in synthetic project p0",
    "synthetic_p50_ms": "ListSubjects, synthetic project p0, p50, ms",
    "subject_access_p50_ms": "ListSubjectAccess of one synthetic user, p50, ms",
    "report_page_p50_ms": "ListSubjectAccess, a 1,000-row page of organization o0's report, p50, ms",
    "engine_p50_ms": "engine alone (lookup.subjects_page), 1,000 subjects, p50, ms",
}


def who_can_organization() -> list[ops.Operation]:
    """The organization whose project `wc-p` has exactly ALLOWED subjects reading pipeline/target."""
    result: list[ops.Operation] = [ops.CreateOrganization("wc-org"), ops.CreateWorkspace("wc-ws", "wc-org"),
                                   ops.CreateProject("wc-p", "wc-ws"), ops.CreateProject("wc-q", "wc-ws")]
    bind = ops.CreateRoleBinding
    result += [bind(f"user:wc-viewer{i}", "project_viewer", Scope(project_id="wc-p")) for i in range(600)]
    for t in range(20):
        result.append(ops.CreateTeam(f"wc-team{t}", "wc-org"))
        result += [ops.AddTeamMember(f"wc-team{t}", f"user:wc-member{t}-{k}") for k in range(10)]
        result.append(bind(f"team:wc-team{t}", "workspace_viewer", Scope(workspace_id="wc-ws")))
    result += [bind(f"user:wc-admin{i}", "organization_admin", Scope(organization_id="wc-org")) for i in range(100)]
    result += [ops.SetResourceMembership(f"user:wc-shared{i}", Resource("pipeline", "target"),
                                         Scope(project_id="wc-p"), ("read",)) for i in range(80)]
    # Bindings on the chain that grant nothing here, and bindings beside it.
    result += [bind(f"user:wc-billing{i}", "billing_admin", Scope(organization_id="wc-org")) for i in range(500)]
    result += [bind(f"user:wc-other{i}", "project_viewer", Scope(project_id="wc-q")) for i in range(1500)]
    return result


def timed(call, request, count: int) -> list[float]:
    samples = []
    clock = time.perf_counter
    for _ in range(count):
        start = clock()
        call(request)
        samples.append(clock() - start)
    return samples


def alternate(rounds: int, pairs: dict, count: int) -> dict[str, list[float]]:
    """Each (call, request) of `pairs`, in `rounds` alternating blocks of count/rounds calls."""
    samples: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(rounds):
        for name, (call, request) in pairs.items():
            samples[name] += timed(call, request, max(1, count // rounds))
    return {name: sorted(values) for name, values in samples.items()}


def p50(values: list[float]) -> float:
    return bench.percentile(values, 0.5) * 1e3


def run(bindings: int, samples: int, seed: int) -> dict:
    policy = load_policy(ROOT / "policies")
    world = bench.make_world(policy, bindings, seed)
    workdir = Path(tempfile.mkdtemp(prefix="authz-who-can-"))
    url = f"sqlite:///{workdir / 'authz.db'}"
    server = Server(workdir, url, env={"AUTHZ_ADMIN_TOKEN": TOKEN, "AUTHZ_LOG_LEVEL": "WARNING"})
    admin = (("authorization", f"Bearer {TOKEN}"),)
    figures: dict = {"bindings": bindings + 3000}
    try:
        server.start(timeout=600)
        channel = grpc.insecure_channel(server.address)
        directory = dir_grpc.DirectoryServiceStub(channel)
        for chunk in [*world.chunks(bench.CHUNK), who_can_organization()]:
            request = dir_pb.ImportRequest(operations=[operation_to_proto(op) for op in chunk])
            directory.Import(request, metadata=admin, timeout=600)
        authz = authz_grpc.AuthorizationServiceStub(channel)
        echo = diag_grpc.DiagnosticsServiceStub(channel).Echo

        def list_subjects(request):
            return authz.ListSubjects(request, metadata=admin, timeout=60)

        def list_access(request):
            return directory.ListSubjectAccess(request, metadata=admin, timeout=60)

        target = authz_pb.ListSubjectsRequest(action="read", resource=common_pb.Resource(type="pipeline", id="target"),
                                              scope=common_pb.Scope(project_id="wc-p"), page_size=1000)
        answer = list_subjects(target)
        assert len(answer.subjects) == ALLOWED and not answer.next_page_token, len(answer.subjects)

        def paged(_):
            token = ""
            while True:
                page = list_subjects(authz_pb.ListSubjectsRequest(
                    action="read", resource=target.resource, scope=target.scope, page_size=100, page_token=token))
                token = page.next_page_token
                if not token:
                    return

        check = authz_pb.CheckRequest(subject="user:wc-viewer0", action="read", resource=target.resource,
                                      scope=target.scope)
        synthetic = authz_pb.ListSubjectsRequest(action="read", resource=common_pb.Resource(type="pipeline"),
                                                 scope=common_pb.Scope(project_id=world.project(0)), page_size=1000)
        figures["synthetic_subjects"] = len(list_subjects(synthetic).subjects)
        someone = world.binding_list[0][0]
        if someone.startswith("team:"):
            someone = world.team_members[someone[5:]][0]
        pairs = {
            "echo": (echo, diag_pb.EchoRequest(checks=[check])),
            "echo_1000": (echo, diag_pb.EchoRequest(checks=[check] * ALLOWED)),
            "list_subjects": (list_subjects, target),
            "list_subjects_paged": (paged, None),
            "synthetic": (list_subjects, synthetic),
            "subject_access": (list_access, dir_pb.ListSubjectAccessRequest(subject=someone, page_size=1000)),
            "report_page": (list_access, dir_pb.ListSubjectAccessRequest(organization_id="o0", page_size=1000)),
        }
        alternate(1, pairs, 5)  # warm up
        measured = alternate(5, pairs, samples)
        for name, values in measured.items():
            figures[f"{name}_p50_ms"] = p50(values)
        figures["list_subjects_p99_ms"] = bench.percentile(measured["list_subjects"], 0.99) * 1e3
        channel.close()
        server.stop()

        storage = SqlStorage(url)
        try:
            index, _ = load_index(storage)
        finally:
            storage.close()
        active = policy.with_custom_roles(index.custom_roles.values())
        gc.collect()
        gc.freeze()  # as the server does after loading: the collector keeps off the index
        engine = []
        clock = time.perf_counter
        for _ in range(samples):
            start = clock()
            page, _ = lookup.subjects_page(index, active, "read", "pipeline", "target", Node(PROJECT, "wc-p"), "", 1000)
            engine.append(clock() - start)
        gc.unfreeze()
        assert len(page) == ALLOWED
        figures["engine_p50_ms"] = p50(sorted(engine))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--bindings", type=int, default=1_000_000, help="bindings of the synthetic world")
    parser.add_argument("--samples", type=int, default=100, help="calls of each kind measured")
    parser.add_argument("--quick", action="store_true", help="2,000 bindings and 10 samples: the smoke run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    bindings, samples = (2_000, 10) if args.quick else (args.bindings, args.samples)
    started = time.time()
    figures = run(bindings, samples, args.seed)
    report = {"command": " ".join(sys.argv), "commit": bench.commit(), "machine": bench.machine(),
              "seconds": time.time() - started, "figures": figures}
    width = max(len(label) for label in FIGURES.values())
    for name, label in FIGURES.items():
        print(f"{label:<{width}}  {bench.fmt(figures[name]) if name in figures else '':>10}")
    print(f"({report['machine']['cores']} cores, {report['machine']['cpu']}, commit {report['commit']}, "
          f"{report['seconds']:.0f} s)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
