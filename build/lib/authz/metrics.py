"""Every Prometheus metric authz exports, declared once. Labels carry only bounded values
(method names, status codes, decisions, node kinds), never an id."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

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
