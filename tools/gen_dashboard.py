"""Write deploy/grafana/authz.json, the Grafana dashboard of authz, from the panels below.

    .venv/bin/python tools/gen_dashboard.py          # rewrite the committed JSON
    .venv/bin/python tools/gen_dashboard.py --check  # exit 1 when it differs from this code

Every query reads a recording rule of deploy/prometheus/rules.yaml or a raw authz series, with
no Grafana variable in it, so that tests/e2e/test_prometheus.py can run each one as written
against a real Prometheus scraping a real server. The data source is a variable, chosen when
the dashboard is imported."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import common, dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import BigValueGraphMode, LegendDisplayMode, LegendPlacement
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DataSourceRef

OUTPUT = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "authz.json"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
CHECKS = 'service="authz.v1.AuthorizationService"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    unit: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"  # or "stat": the current value, large
    width: int = 12


ROWS: tuple[tuple[str, tuple[Panel, ...]], ...] = (
    ("Health", (
        Panel("Sidecars up and serving",
              "Scraped (up) and SERVING (authz_serving), per sidecar: 1 is good.", "none", (
            Query('up{job="authz"}', "up {{instance}}"),
            Query('authz_serving{job="authz"}', "serving {{instance}}"),
        ), width=8),
        Panel("Database reachable",
              "authz_database_up per sidecar, from its periodic database probe.", "none", (
            Query('authz_database_up{job="authz"}', "{{instance}}"),
        ), width=8),
        Panel("Replica lag",
              "Revisions the index is behind the database (authz_replica_lag_revisions).", "none", (
            Query('authz_replica_lag_revisions{job="authz"}', "{{instance}}"),
        ), width=8),
    )),
    ("Checks", (
        Panel("Checks per second by decision", "Decisions made by Check and BatchCheck items.", "reqps", (
            Query("sum by (decision) (job:authz_checks:rate5m)", "{{decision}}"),
        )),
        Panel("Failing checks", "Share of AuthorizationService calls that end with a status other than OK.",
              "percentunit", (
            Query("job:authz_check_errors:ratio_rate5m", "{{method}}"),
        )),
        Panel("Latency per RPC",
              "Server-side p50, p99 and p99.9 over five minutes, from the histograms.", "s", (
            Query("job:authz_grpc_request_duration_seconds:p50_5m", "p50 {{method}}"),
            Query("job:authz_grpc_request_duration_seconds:p99_5m", "p99 {{method}}"),
            Query("job:authz_grpc_request_duration_seconds:p999_5m", "p99.9 {{method}}"),
        ), width=24),
        Panel("Errors by code", "Calls of every service that ended with a status other than OK.", "reqps", (
            Query('sum by (code) (job:authz_grpc_requests:rate5m{code!="OK"})', "{{code}}"),
        )),
        Panel("Requests by method", "Calls per second of every RPC, whatever their status.", "reqps", (
            Query("sum by (service, method) (job:authz_grpc_requests:rate5m)", "{{method}}"),
        )),
    )),
    ("Writes and state", (
        Panel("Write operations per second", "Committed write operations, by operation.", "ops", (
            Query("sum by (operation) (job:authz_write_operations:rate5m)", "{{operation}}"),
        )),
        Panel("Revision", "The revision each sidecar's index is at.", "none", (
            Query('authz_revision{job="authz"}', "{{instance}}"),
        )),
        Panel("Bindings, teams and shares", "What the index holds (the largest of the sidecars).", "short", (
            Query('max(authz_role_bindings{job="authz"})', "role bindings"),
            Query('max(authz_teams{job="authz"})', "teams"),
            Query('max(authz_team_members{job="authz"})', "team memberships"),
            Query('max(authz_resource_shares{job="authz"})', "resource shares"),
        )),
        Panel("Nodes", "Organizations, workspaces and projects (the largest of the sidecars).", "short", (
            Query('max by (kind) (authz_nodes{job="authz"})', "{{kind}}"),
        )),
    )),
    ("Policy", (
        Panel("Policy reloads in the last hour",
              "Accepted, rejected (the old policy stayed) and unchanged.", "short", (
            Query("job:authz_policy_reloads:increase1h", "{{result}}"),
        ), width=8),
        Panel("Active policy hash", "Sidecars per policy hash: more than one hash means replicas disagree.",
              "none", (
            Query('count by (hash) (authz_policy_info{job="authz"})', "{{hash}}"),
        ), kind="stat", width=8),
        Panel("Different policies",
              "How many different policies the sidecars run: 1 when they agree.", "none", (
            Query("job:authz_policy_hashes:count", "policies"),
        ), kind="stat", width=8),
    )),
    ("Shadow policy and expiring grants", (
        Panel("Shadowing", "1 while a sidecar shadows a candidate policy (authz_shadow_active).", "none", (
            Query('max(authz_shadow_active{job="authz"})', "shadowing"),
        ), kind="stat", width=6),
        Panel("Shadow disagreements per second",
              "Questions the candidate answered differently, by RPC and direction.", "ops", (
            Query('sum by (rpc, direction) (rate(authz_shadow_disagreements_total{job="authz"}[5m]))',
                  "{{rpc}} {{direction}}"),
        ), width=6),
        Panel("Shadow evaluated and not",
              "Questions decided again under the candidate, and samples dropped (queue full) or stale.", "ops", (
            Query('sum(rate(authz_shadow_evaluations_total{job="authz"}[5m]))', "evaluated"),
            Query('sum by (reason) (rate(authz_shadow_dropped_total{job="authz"}[5m]))', "{{reason}}"),
        ), width=6),
        Panel("Expired grants removed per second",
              "Bindings, shares and memberships the sweep removed once they expired.", "ops", (
            Query('sum by (kind) (rate(authz_grants_expired_total{job="authz"}[5m]))', "{{kind}}"),
        ), width=6),
    )),
    ("Process", (
        Panel("Resident memory", "process_resident_memory_bytes per sidecar.", "bytes", (
            Query('process_resident_memory_bytes{job="authz"}', "{{instance}}"),
        )),
        Panel("CPU", "CPU seconds per second per sidecar (1 is one core).", "percentunit", (
            Query("instance:authz_process_cpu_seconds:rate5m", "{{instance}}"),
        )),
    )),
)


def _panel(panel: Panel, number: int):
    builder: timeseries.Panel | stat.Panel
    if panel.kind == "timeseries":
        builder = timeseries.Panel().legend(
            common.VizLegendOptions().display_mode(LegendDisplayMode.LIST).placement(LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    else:
        builder = stat.Panel().graph_mode(BigValueGraphMode.NONE).reduce_options(
            common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
        )
    builder.id(number).title(panel.title).description(panel.description).unit(panel.unit)
    builder.datasource(DATASOURCE)
    builder.span(panel.width).height(8)
    for number, query in enumerate(panel.queries):
        builder.with_target(
            prometheus.Dataquery().expr(query.expr).legend_format(query.legend).ref_id(chr(ord("A") + number))
            .datasource(DATASOURCE)
        )
    return builder


def build() -> dict:
    board = (
        dashboard.Dashboard("authz")
        .uid("authz")
        .description("The authz sidecar: checks, latency, errors, writes, state, policy, process.")
        .tags(["authz"])
        .time("now-6h", "now")
        .refresh("30s")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    )
    number = 0
    for title, panels in ROWS:
        number += 1
        board.with_row(dashboard.Row(title).id(number))
        for panel in panels:
            number += 1
            board.with_panel(_panel(panel, number))
    return json.loads(json.dumps(board.build(), cls=JSONEncoder))


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed JSON is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is stale: run tools/gen_dashboard.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
