"""Every Prometheus metric authz exports, declared once. Labels carry only bounded values
(method names, status codes, decisions, node kinds), never an id. Every value a label can take
is exported from the start (at 0), so that rates and alerts need no series to appear first;
no `*_created` series are exported."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from itertools import accumulate

from prometheus_client import REGISTRY, Counter, Gauge, Info, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from authz.domain.operations import OPERATION_NAMES

disable_created_metrics()  # prometheus_client's undocumented `*_created` series, off

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


class StateCollector(Collector):
    """Sizes of the in-memory state and the revision, read at scrape time (no cost per check)."""

    def __init__(self, counts: Callable[[], dict[str, int]], revision: Callable[[], int]) -> None:
        self._counts = counts
        self._revision = revision

    def collect(self):
        counts = self._counts()
        nodes = GaugeMetricFamily("authz_nodes", "Organizations, workspaces and projects stored.", labels=["kind"])
        for kind in ("organization", "workspace", "project"):
            nodes.add_metric([kind], counts.get(f"nodes_{kind}", 0))
        yield nodes
        yield GaugeMetricFamily("authz_teams", "Teams stored.", value=counts.get("teams", 0))
        yield GaugeMetricFamily("authz_team_members", "Team memberships stored.", value=counts.get("members", 0))
        yield GaugeMetricFamily("authz_role_bindings", "Role bindings stored.", value=counts.get("bindings", 0))
        yield GaugeMetricFamily(
            "authz_resource_shares", "Resource shares stored (one per subject and resource).",
            value=counts.get("shares", 0),
        )
        yield GaugeMetricFamily("authz_revision", "The revision the index is at.", value=self._revision())


def register_state(counts: Callable[[], dict[str, int]], revision: Callable[[], int]) -> StateCollector:
    collector = StateCollector(counts, revision)
    REGISTRY.register(collector)
    return collector

POLICY_RELOADS = Counter(
    "authz_policy_reloads_total",
    "Policy reloads, by result: accepted, rejected (the running policy stayed), unchanged.",
    ["result"],
)
POLICY = Info("authz_policy", "The active policy: its content hash and directory.")
POLICY_LOADED = Gauge("authz_policy_loaded_timestamp_seconds", "When the active policy was loaded (unix seconds).")

# Health and the database, for alerts (deploy/prometheus/alerts.yaml).
SERVING = Gauge("authz_serving", "1 while the health service reports SERVING, else 0.")
DATABASE_UP = Gauge(
    "authz_database_up", "1 when the last database probe succeeded, 0 when it failed or timed out."
)
DATABASE_LAST_CONTACT = Gauge(
    "authz_database_last_contact_timestamp_seconds", "When a database probe last succeeded (unix seconds)."
)
REPLICA_LAG = Gauge(
    "authz_replica_lag_revisions",
    "The database's newest revision minus the index's, at the last successful probe (0: up to date).",
)

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
SHADOW_ACTIVE = Gauge("authz_shadow_active", "1 while a candidate policy is shadowed, else 0.")

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
