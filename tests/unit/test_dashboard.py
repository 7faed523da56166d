"""deploy/grafana/authz.json is exactly what tools/gen_dashboard.py writes (CI fails when it is
stale), and its panels cover what operators look at. tests/e2e/test_prometheus.py runs every
one of its queries against a real Prometheus."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "deploy" / "grafana" / "authz.json"


def generator():
    spec = importlib.util.spec_from_file_location("gen_dashboard", ROOT / "tools" / "gen_dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_dashboard"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_committed_dashboard_is_what_the_generator_writes():
    assert COMMITTED.read_text() == generator().render(), "run .venv/bin/python tools/gen_dashboard.py"


def test_the_check_flag_tells_a_stale_dashboard(tmp_path, monkeypatch, capsys):
    gen = generator()
    stale = tmp_path / "authz.json"
    stale.write_text(COMMITTED.read_text().replace('"title": "authz"', '"title": "old"'))
    monkeypatch.setattr(gen, "OUTPUT", stale)
    assert gen.main(["--check"]) == 1
    assert "is stale" in capsys.readouterr().err
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0


def test_the_panels_cover_what_operators_watch():
    board = json.loads(COMMITTED.read_text())
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p.get("targets", []))
    for series in (
        "job:authz_checks:rate5m", "p50_5m", "p99_5m", "p999_5m", 'code!="OK"',
        "job:authz_write_operations:rate5m",
        "authz_revision", "authz_role_bindings", "authz_teams", "authz_resource_shares", "authz_nodes",
        "job:authz_policy_reloads:increase1h", "authz_policy_info", "process_resident_memory_bytes",
        "instance:authz_process_cpu_seconds:rate5m", "authz_replica_lag_revisions", "authz_database_up",
        "authz_serving",
    ):
        assert series in exprs, series
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    datasources = {t["datasource"]["uid"] for p in board["panels"] for t in p.get("targets", [])}
    assert datasources == {"${datasource}"}
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]
