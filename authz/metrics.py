"""Every Prometheus metric authz exports, declared once. Labels carry only bounded values
(method names, status codes, decisions, node kinds), never an id. Every value a label can take
is exported from the start (at 0), so that rates and alerts need no series to appear first;
no `*_created` series are exported.

Under `authz serve --workers N` (N > 1) every worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR, which the supervisor sets before this module is first imported, and
the supervisor serves them all on one endpoint (`supervisor_registry`). Counters and histograms
are summed over the workers. Each gauge says how workers combine (`multiprocess_mode`, only
live workers count): the worst of them for health (authz_serving, authz_database_up and the last
contact: the least; the lag: the most), the revision every worker has reached (the least), the
largest state sizes. The state gauges, read at scrape time by one process, are set by each worker
every STATE_PUBLISH_SECONDS instead; authz_policy_info lists each policy hash some worker runs."""

from __future__ import annotations

import asyncio
import json
import os
from bisect import bisect_left
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import Literal

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Info, disable_created_metrics
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from authz.domain.operations import OPERATION_NAMES

disable_created_metrics()  # prometheus_client's undocumented `*_created` series, off
# Set by authz/workers.py for its workers (prometheus_client reads it at its own import).
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
STATE_PUBLISH_SECONDS = 1.0

# The per-call metrics: authz_grpc_requests_total, authz_grpc_request_duration_seconds and
# authz_checks_total. They are counted in plain numbers by the event loop's thread, the only one
# that counts (no lock, no label lookup per call: a prometheus_client Histogram.observe and
# Counter.inc cost about 13,000 instructions a call), and read at scrape time by CallCollector.
DURATION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0)


class MethodCalls:
    """One method's calls: how many ended OK, how many with each other status code, and their
    durations by bucket (`buckets[i]` counts those <= DURATION_BUCKETS[i] and above the bound
    before; the last one, those above every bound)."""

    __slots__ = ("buckets", "codes", "ok", "seconds")

    def __init__(self) -> None:
        self.ok = 0
        self.codes: dict[str, int] = {}
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)
        self.seconds = 0.0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect_left(DURATION_BUCKETS, seconds)] += 1
        self.seconds += seconds

    def failed(self, code: str) -> None:
        self.codes[code] = self.codes.get(code, 0) + 1


class CallCollector(Collector):
    """The per-call metrics of every method, exported in the form Counter and Histogram give."""

    def __init__(self) -> None:
        self._methods: dict[tuple[str, str], MethodCalls] = {}
        # method (Check, BatchCheck) -> [denied, allowed]: indexed by the decision as a bool
        self._decisions: dict[str, list[int]] = {method: [0, 0] for method in ("Check", "BatchCheck")}

    def method(self, service: str, name: str) -> MethodCalls:
        """The counts of `service`/`name`, exported (at 0) from now on."""
        return self._methods.setdefault((service, name), MethodCalls())

    def decisions(self, method: str) -> list[int]:
        """[denied, allowed] of Check or BatchCheck, to add to."""
        return self._decisions[method]

    def snapshot(self) -> dict:
        """The counts as JSON-able data (what a worker publishes for the supervisor)."""
        return {
            "methods": [[service, name, calls.ok, dict(calls.codes), list(calls.buckets), calls.seconds]
                        for (service, name), calls in list(self._methods.items())],
            "decisions": {method: list(counts) for method, counts in self._decisions.items()},
        }

    def add(self, snapshot: dict) -> None:
        """Add another process's counts (a snapshot) to these."""
        for service, name, ok, codes, buckets, seconds in snapshot["methods"]:
            calls = self.method(service, name)
            calls.ok += ok
            for code, number in codes.items():
                calls.codes[code] = calls.codes.get(code, 0) + number
            calls.buckets = [mine + theirs for mine, theirs in zip(calls.buckets, buckets, strict=True)]
            calls.seconds += seconds
        for method, (denied, allowed) in snapshot["decisions"].items():
            counts = self._decisions.setdefault(method, [0, 0])
            counts[0] += denied
            counts[1] += allowed

    def collect(self):
        requests = CounterMetricFamily(
            "authz_grpc_requests_total", "gRPC requests handled, by service, method and status code.",
            labels=["service", "method", "code"])
        duration = HistogramMetricFamily(
            "authz_grpc_request_duration_seconds",
            "Time to handle a gRPC request, by service and method (server side, excluding transport).",
            labels=["service", "method"])
        for (service, name), calls in list(self._methods.items()):
            codes = list(calls.codes.items())
            buckets = list(calls.buckets)
            seconds = calls.seconds
            requests.add_metric([service, name, "OK"], calls.ok)
            for code, count in codes:
                requests.add_metric([service, name, code], count)
            cumulative = list(accumulate(buckets))
            bounds = [floatToGoString(bound) for bound in DURATION_BUCKETS] + ["+Inf"]
            duration.add_metric([service, name], list(zip(bounds, cumulative, strict=True)), seconds)
        yield requests
        yield duration
        checks = CounterMetricFamily(
            "authz_checks_total", "Decisions made, by method (Check, BatchCheck) and decision.",
            labels=["method", "decision"])
        for method, (denied, allowed) in list(self._decisions.items()):
            checks.add_metric([method, "allowed"], allowed)
            checks.add_metric([method, "denied"], denied)
        yield checks


CALLS = CallCollector()
REGISTRY.register(CALLS)
WRITES = Counter("authz_write_operations_total", "Write operations committed, by operation.", ["operation"])


NODE_KINDS = ("organization", "workspace", "project")
# The state's gauges: name, help, the key of Index.counts() (None: the revision), and how workers combine.
STATE: tuple[tuple[str, str, str | None, Mode], ...] = (
    ("authz_teams", "Teams stored.", "teams", "livemax"),
    ("authz_team_members", "Team memberships stored.", "members", "livemax"),
    ("authz_role_bindings", "Role bindings stored.", "bindings", "livemax"),
    ("authz_resource_shares", "Resource shares stored (one per subject and resource).", "shares", "livemax"),
    ("authz_revision", "The revision the index is at.", None, "livemin"),
)
Mode = Literal["livemin", "livemax"]
NODES_HELP = "Organizations, workspaces and projects stored."


class StateCollector(Collector):
    """Sizes of the in-memory state and the revision, read at scrape time (no cost per check)."""

    def __init__(self, counts: Callable[[], dict[str, int]], revision: Callable[[], int]) -> None:
        self._counts = counts
        self._revision = revision

    def collect(self):
        counts = self._counts()
        nodes = GaugeMetricFamily("authz_nodes", NODES_HELP, labels=["kind"])
        for kind in NODE_KINDS:
            nodes.add_metric([kind], counts.get(f"nodes_{kind}", 0))
        yield nodes
        for name, text, key, _ in STATE:
            yield GaugeMetricFamily(name, text, value=self._revision() if key is None else counts.get(key, 0))


class StateGauges:
    """The same series for a worker of several: gauges in the shared files, set every few seconds
    (a scrape reaches the supervisor, which cannot call a collector in another process)."""

    def __init__(self, counts: Callable[[], dict[str, int]], revision: Callable[[], int]) -> None:
        self._counts = counts
        self._revision = revision
        self._nodes = Gauge("authz_nodes", NODES_HELP, ["kind"], multiprocess_mode="livemax")
        self._gauges = [(Gauge(name, text, multiprocess_mode=mode), key) for name, text, key, mode in STATE]
        self.publish()

    def publish(self) -> None:
        counts = self._counts()
        for kind in NODE_KINDS:
            self._nodes.labels(kind).set(counts.get(f"nodes_{kind}", 0))
        for gauge, key in self._gauges:
            gauge.set(self._revision() if key is None else counts.get(key, 0))

    async def publish_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.publish()


def register_state(counts: Callable[[], dict[str, int]], revision: Callable[[], int]) -> StateCollector | StateGauges:
    if MULTIPROCESS_DIR:
        return StateGauges(counts, revision)
    collector = StateCollector(counts, revision)
    REGISTRY.register(collector)
    return collector

POLICY_RELOADS = Counter(
    "authz_policy_reloads_total",
    "Policy reloads, by result: accepted, rejected (the running policy stayed), unchanged.",
    ["result"],
)
POLICY_HELP = "The active policy: its content hash and directory."
POLICY = Info("authz_policy", POLICY_HELP)
POLICY_LOADED = Gauge("authz_policy_loaded_timestamp_seconds", "When the active policy was loaded (unix seconds).",
                      multiprocess_mode="livemin")

# Health and the database, for alerts (deploy/prometheus/alerts.yaml).
SERVING = Gauge("authz_serving", "1 while the health service reports SERVING, else 0.", multiprocess_mode="livemin")
DATABASE_UP = Gauge(
    "authz_database_up", "1 when the last database probe succeeded, 0 when it failed or timed out.",
    multiprocess_mode="livemin",
)
DATABASE_LAST_CONTACT = Gauge(
    "authz_database_last_contact_timestamp_seconds", "When a database probe last succeeded (unix seconds).",
    multiprocess_mode="livemin",
)
REPLICA_LAG = Gauge(
    "authz_replica_lag_revisions",
    "The database's newest revision minus the index's, at the last successful probe (0: up to date).",
    multiprocess_mode="livemax",
)


def publish_policy(digest: str, directory: str) -> None:
    """The active policy's hash and directory: the Info metric, or, in a worker, a file of this
    process's that the supervisor reads (an Info's value never leaves its process)."""
    if not MULTIPROCESS_DIR:
        POLICY.info({"hash": digest, "directory": directory})
        return
    path = Path(MULTIPROCESS_DIR) / f"authz_policy_{os.getpid()}.json"
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps({"hash": digest, "directory": directory}))
    staged.replace(path)


class WorkerPolicies(Collector):
    """authz_policy_info for the supervisor: one series per (hash, directory) a live worker runs."""

    def __init__(self, directory: str) -> None:
        self._directory = Path(directory)

    def collect(self):
        family = InfoMetricFamily("authz_policy", POLICY_HELP, labels=["hash", "directory"])
        seen = set()
        for path in sorted(self._directory.glob("authz_policy_*.json")):
            try:
                found = json.loads(path.read_text())
            except (OSError, ValueError):  # a worker gone since the glob
                continue
            seen.add((found["hash"], found["directory"]))
        for digest, directory in sorted(seen):
            family.add_metric([digest, directory], {})
        yield family


def publish_calls() -> None:
    """In a worker: this process's per-call counts, to a file of its own that the supervisor
    reads (CallCollector's numbers never leave their process otherwise)."""
    path = Path(MULTIPROCESS_DIR) / f"authz_calls_{os.getpid()}.json"
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps(CALLS.snapshot()))
    staged.replace(path)


async def publish_calls_every(seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        publish_calls()


class WorkerCalls(Collector):
    """The per-call metrics for the supervisor: the sum of every worker's published counts, dead
    workers' included (so that the counters never go down when a worker is replaced)."""

    def __init__(self, directory: str) -> None:
        self._directory = Path(directory)

    def collect(self):
        total = CallCollector()
        for path in sorted(self._directory.glob("authz_calls_*.json")):
            try:
                total.add(json.loads(path.read_text()))
            except (OSError, ValueError):  # being replaced as we read
                continue
        yield from total.collect()


def supervisor_registry(directory: str) -> CollectorRegistry:
    """Every worker's metrics, for the supervisor's one endpoint."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    registry.register(WorkerPolicies(directory))
    registry.register(WorkerCalls(directory))
    return registry


def worker_gone(pid: int) -> None:
    """Forget a dead worker's gauges and policy (its counters still count)."""
    mark_process_dead(pid, MULTIPROCESS_DIR)
    (Path(MULTIPROCESS_DIR) / f"authz_policy_{pid}.json").unlink(missing_ok=True)
# Following the change table: the commits of other replicas (service/authorizer.py follow).
FOLLOW_ERRORS = Counter(
    "authz_follow_errors_total", "Rounds of following the change table that failed (the database unreachable...)."
)
CHANGES_APPLIED = Counter(
    "authz_changes_applied_total", "Change records of other replicas applied to the index."
)
SNAPSHOT_RELOADS = Counter(
    "authz_snapshot_reloads_total",
    "Full reloads of the index from the database (the change records it needed were pruned or too old).",
)
CHANGES_PRUNED = Counter(
    "authz_changes_pruned_total", "Change records deleted by --change-retention-days / --change-retention-count."
)

# Grants that expire (engine/expiry.py) and shadow evaluation of a candidate policy (shadow.py).
GRANTS_EXPIRED = Counter(
    "authz_grants_expired_total",
    "Expired grants removed from storage by the sweep, by kind: binding, share, membership.",
    ["kind"],
)
SHADOW_EVALUATIONS = Counter(
    "authz_shadow_evaluations_total",
    "Questions decided again under the shadowed candidate policy, by RPC.",
    ["rpc"],
)
SHADOW_DISAGREEMENTS = Counter(
    "authz_shadow_disagreements_total",
    "Shadowed questions the candidate answered differently, by RPC and direction: "
    "candidate_allows (the active policy denied) or candidate_denies (the active policy allowed).",
    ["rpc", "direction"],
)
SHADOW_DROPPED = Counter(
    "authz_shadow_dropped_total",
    "Sampled questions the shadow did not evaluate: its queue was full (dropped) or the state had "
    "moved on before it got to them (stale), by reason.",
    ["reason"],
)
SHADOW_ACTIVE = Gauge("authz_shadow_active", "1 while a candidate policy is shadowed, else 0.",
                      multiprocess_mode="livemax")

SHADOW_RPCS = ("Check", "BatchCheck", "ListAllowedResources")
SHADOW_DIRECTIONS = ("candidate_allows", "candidate_denies")

# Every label value, at 0 from the start.
for _kind in ("binding", "share", "membership"):
    GRANTS_EXPIRED.labels(_kind)
for _rpc in SHADOW_RPCS:
    SHADOW_EVALUATIONS.labels(_rpc)
    for _direction in SHADOW_DIRECTIONS:
        SHADOW_DISAGREEMENTS.labels(_rpc, _direction)
for _reason in ("dropped", "stale"):
    SHADOW_DROPPED.labels(_reason)
for _result in ("accepted", "rejected", "unchanged"):
    POLICY_RELOADS.labels(_result)
for _operation in OPERATION_NAMES.values():
    WRITES.labels(_operation)
