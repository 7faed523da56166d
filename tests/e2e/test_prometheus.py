"""A real Prometheus scraping a real `authz serve`: the scrape configuration, recording rules
and alerts of deploy/prometheus/, and every query of the dashboard deploy/grafana/authz.json,
answered with data through Prometheus's HTTP API after checks, writes, errors, an accepted and
a rejected policy reload. promtool checks the configuration, the rules and the live exposition,
and runs the alerts' unit tests.

One server and one Prometheus (scraping every second) serve the whole module."""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml

from authz.testing import example
from authz.testing.server import Server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "authz.json"
RULE_FILES = [PROMETHEUS_DIR / "rules.yaml", PROMETHEUS_DIR / "alerts.yaml"]

# How long to wait for a query to return data once the traffic has been sent.
DATA_TIMEOUT = 45.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Prometheus:
    def __init__(self, binary: str, workdir: Path, metrics_address: str) -> None:
        config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
        # The committed configuration, made quick and pointed at this server.
        config["global"].update(scrape_interval="1s", evaluation_interval="1s")
        config["rule_files"] = [str(path) for path in RULE_FILES]
        (job,) = config["scrape_configs"]
        job["static_configs"] = [{"targets": [metrics_address]}]
        self.config = workdir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = (workdir / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [binary, f"--config.file={self.config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address={self.url.removeprefix('http://')}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("prometheus did not start:\n" + (workdir / "prometheus.log").read_text())
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def api(self, path: str, **params: str) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def wait_for_data(self, expr: str) -> list[dict]:
        """The instant vector of `expr` once it holds a finite value (NaN is no data: a
        quantile over a window without observations)."""
        deadline = time.monotonic() + DATA_TIMEOUT
        while True:
            result = self.query(expr)
            if any(math.isfinite(float(sample["value"][1])) for sample in result):
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"no data for {expr!r} after {DATA_TIMEOUT:.0f}s: {result}")
            time.sleep(0.5)

    def wait_for_labels(self, expr: str, label: str, expected: set[str]) -> set[str]:
        """The values of `label` in the result of `expr`, once they are `expected`, else what
        the query returned last, after DATA_TIMEOUT."""
        deadline = time.monotonic() + DATA_TIMEOUT
        while True:
            values = {sample["metric"].get(label, "") for sample in self.query(expr)}
            if values == expected or time.monotonic() > deadline:
                return values
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def drive_traffic(server: Server, policies: Path, prometheus: Prometheus) -> None:
    """Checks (allowed and denied, single and batched), listings, writes, failing calls, an
    accepted and a rejected reload, spread over several scrapes so that every rate has two."""
    with server.client() as client, server.client(token=None) as anonymous:
        client.import_operations(example.operations())
        for round_number in range(12):
            client.check("user:ada", "update", "pipeline/train", project="staging-recommendations")
            client.check("user:ada", "update", "pipeline/train", project="prod-recommendations")
            client.batch_check([
                _request("user:eve", "read", "pipeline/churn-model-training", "prod-recommendations"),
                _request("user:eve", "delete", "pipeline/churn-model-training", "prod-recommendations"),
            ])
            client.list_allowed("user:eve", "read", "pipeline", project="prod-recommendations")
            client.create_role_binding(f"user:new-{round_number}", "project_viewer", project="prod-llms")
            for bad in (
                lambda: client.check("nobody", "read", "pipeline/train", project="prod-llms"),
                lambda round_number=round_number: anonymous.create_organization(f"org-{round_number}"),
            ):
                with pytest.raises(grpc.RpcError):
                    bad()
            if round_number == 4:
                (policies / "custom.csv").write_text("p, model_reviewer, project, model, *, promote\n")
                _reload(client)
            if round_number in (7, 10):
                (policies / "broken.csv").write_text("p, broken_role, project, pipline, *, read\n")
                with pytest.raises(grpc.RpcError) as rejected:
                    _reload(client)
                assert rejected.value.code() == grpc.StatusCode.FAILED_PRECONDITION
                # Twice, the second after a scrape has seen the first: rate() cannot see the
                # first call that creates a series.
                prometheus.wait_for_data('authz_grpc_requests_total{code="FAILED_PRECONDITION"}')
            time.sleep(0.3)


def _request(subject: str, action: str, resource: str, project: str):
    from authz.client import check_request

    return check_request(subject, action, resource, project=project)


def _reload(client) -> None:
    from authz._gen.authz.v1 import policy_pb2

    client._call(client.policy.Reload, policy_pb2.ReloadRequest())


@pytest.fixture(scope="module")
def stack(prometheus_tools, tmp_path_factory) -> Iterator[tuple[Server, Prometheus]]:
    workdir = tmp_path_factory.mktemp("prometheus")
    policies = workdir / "policies"
    shutil.copytree(ROOT / "policies", policies)
    server = Server(
        workdir, f"sqlite:///{workdir / 'authz.db'}", "--policies", str(policies),
        "--policy-poll-seconds", "0", "--database-probe-seconds", "0.5",
    ).start()
    prometheus = None
    try:
        prometheus = Prometheus(prometheus_tools["prometheus"], workdir, server.metrics_address)
        prometheus.wait_for_data('up{job="authz"} == 1')
        drive_traffic(server, policies, prometheus)
        yield server, prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        server.stop()


def recording_rules() -> list[str]:
    groups = yaml.safe_load((PROMETHEUS_DIR / "rules.yaml").read_text())["groups"]
    return [rule["record"] for group in groups for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def test_the_scrape_reaches_the_server(stack):
    _, prometheus = stack
    (target,) = prometheus.api("targets")["activeTargets"]
    assert target["labels"]["job"] == "authz"
    assert target["health"] == "up", target


@pytest.mark.parametrize("record", recording_rules())
def test_every_recording_rule_returns_data(stack, record):
    _, prometheus = stack
    assert prometheus.wait_for_data(record)


def test_the_dashboard_has_queries():
    queries = dashboard_queries()
    assert len(queries) >= 20
    assert all("$" not in query for query in queries), "a query with a Grafana variable cannot run as written"


@pytest.mark.parametrize("expr", dashboard_queries())
def test_every_dashboard_query_returns_data(stack, expr):
    _, prometheus = stack
    assert prometheus.wait_for_data(expr)


def test_the_traffic_shows_in_the_series(stack):
    """Not only data, the right data: both decisions, the failures by code, both reloads."""
    _, prometheus = stack
    decisions = {"allowed", "denied"}
    assert prometheus.wait_for_labels("job:authz_checks:rate5m > 0", "decision", decisions) == decisions
    codes = prometheus.wait_for_labels(
        'job:authz_grpc_requests:rate5m{code!="OK"} > 0', "code",
        {"INVALID_ARGUMENT", "UNAUTHENTICATED", "FAILED_PRECONDITION"},
    )
    assert codes == {"INVALID_ARGUMENT", "UNAUTHENTICATED", "FAILED_PRECONDITION"}
    results = {"accepted", "rejected"}
    assert prometheus.wait_for_labels("job:authz_policy_reloads:increase1h > 0", "result", results) == results
    assert float(prometheus.wait_for_data('authz_database_up{job="authz"}')[0]["value"][1]) == 1
    assert float(prometheus.wait_for_data("job:authz_policy_hashes:count")[0]["value"][1]) == 1


def test_a_rejected_reload_fires_its_alert_and_nothing_else_fires(stack):
    _, prometheus = stack
    deadline = time.monotonic() + DATA_TIMEOUT
    while True:
        alerts = prometheus.api("alerts")["alerts"]
        if any(alert["labels"]["alertname"] == "AuthzPolicyReloadRejected" and alert["state"] == "firing"
               for alert in alerts):
            break
        assert time.monotonic() < deadline, alerts
        time.sleep(0.5)
    firing = {alert["labels"]["alertname"] for alert in alerts if alert["state"] == "firing"}
    assert firing == {"AuthzPolicyReloadRejected"}


def test_promtool_check_config(prometheus_tools, stack):
    _, prometheus = stack
    for config in (PROMETHEUS_DIR / "prometheus.yml", prometheus.config):
        result = _promtool(prometheus_tools, "check", "config", str(config))
        assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules(prometheus_tools):
    result = _promtool(prometheus_tools, "check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout + result.stderr


def test_promtool_check_metrics_on_the_live_exposition(prometheus_tools, stack):
    server, _ = stack
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=10) as response:
        exposition = response.read()
    assert b"authz_serving 1.0" in exposition
    result = subprocess.run(
        [prometheus_tools["promtool"], "check", "metrics"], input=exposition, capture_output=True, timeout=60
    )
    assert result.returncode == 0 and not result.stdout and not result.stderr, result.stdout + result.stderr


def test_the_alerts_unit_tests_pass(prometheus_tools):
    result = _promtool(prometheus_tools, "test", "rules", str(PROMETHEUS_DIR / "tests" / "alerts_test.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test():
    groups = yaml.safe_load((PROMETHEUS_DIR / "alerts.yaml").read_text())["groups"]
    alerts = {rule["alert"] for group in groups for rule in group["rules"]}
    cases = yaml.safe_load((PROMETHEUS_DIR / "tests" / "alerts_test.yaml").read_text())["tests"]
    firing, quiet = set(), set()
    for case in cases:
        for check in case.get("alert_rule_test", []):
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    assert alerts == firing == quiet


def _promtool(tools: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tools["promtool"], *args], capture_output=True, text=True, timeout=120)
