"""Every Prometheus metric authz exports, declared once. Labels carry only bounded values
(method names, status codes, decisions, node kinds), never an id. Every value a label can take
is exported from the start (at 0), so that rates and alerts need no series to appear first;
no `*_created` series are exported."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Info, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from authz.domain.operations import OPERATION_NAMES

disable_created_metrics()  # prometheus_client's undocumented `*_created` series, off

GRPC_REQUESTS = Counter(
    "authz_grpc_requests_total", "gRPC requests handled, by service, method and status code.",
    ["service", "method", "code"],
)
GRPC_DURATION = Histogram(
    "authz_grpc_request_duration_seconds",
    "Time to handle a gRPC request, by service and method (server side, excluding transport).",
    ["service", "method"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CHECKS = Counter(
    "authz_checks_total", "Decisions made, by method (Check, BatchCheck) and decision.", ["method", "decision"]
)
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
for _method in ("Check", "BatchCheck"):
    for _decision in ("allowed", "denied"):
        CHECKS.labels(_method, _decision)
for _operation in OPERATION_NAMES.values():
    WRITES.labels(_operation)
