"""The benchmark's --quick mode runs to the end and reports every figure. Never a timing
assertion: how fast is for the benchmark's table, not for the test suite."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "bench.py"


def _bench_module():
    spec = importlib.util.spec_from_file_location("authz_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_reports_every_figure(tmp_path):
    bench = _bench_module()
    out = tmp_path / "quick.json"
    done = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    databases = report["results"]["quick"]
    expected = {"sqlite", "postgres"} if os.environ.get("AUTHZ_REQUIRE_POSTGRES") == "1" else {"sqlite"}
    assert expected <= set(databases)
    for database, result in databases.items():
        for figures in (*result["runs"], result["median"]):
            missing = set(bench.FIGURES) - set(figures)
            assert not missing, f"{database}: no {sorted(missing)}"
            assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in figures.values()), figures
    assert set(bench.COMPARISON) <= set(report["casbin"])
    # Correctness, not speed: the engine and stock pycasbin agree on every check compared.
    assert report["casbin"]["disagreements"] == 0
    assert report["casbin"]["checks"] > 0
    # The table names every figure.
    for label, _ in bench.FIGURES.values():
        assert label in done.stdout


CAPACITY = ROOT / "benchmarks" / "capacity.py"


def test_quick_capacity_benchmark_reports_every_figure(tmp_path):
    """h2load against --workers 1 and 2; missing h2load fails under CI (.ci/run installs it)."""
    if shutil.which("h2load") is None:
        reason = "h2load not installed (apt-get install nghttp2-client)"
        if os.environ.get("CI") or os.environ.get("AUTHZ_REQUIRE_H2LOAD") == "1":
            pytest.fail(f"{reason} (and CI or AUTHZ_REQUIRE_H2LOAD=1)", pytrace=False)
        pytest.skip(reason)
    spec = importlib.util.spec_from_file_location("authz_capacity", CAPACITY)
    capacity = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(capacity)
    out = tmp_path / "capacity.json"
    done = subprocess.run([sys.executable, str(CAPACITY), "--quick", "--json", str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert set(report["results"]) == {"1", "2"}
    for workers, figures in report["results"].items():
        missing = set(capacity.FIGURES) - set(figures)
        assert not missing, f"--workers {workers}: no {sorted(missing)}"
        assert all(isinstance(figures[k], (int, float)) and math.isfinite(figures[k]) for k in capacity.FIGURES)
        # Every request h2load sent was an OK, allowed Check by the server's own count.
        assert figures["succeeded"] == report["shape"]["requests"]
        assert len(figures["workers"]) == int(workers)
    for label in capacity.FIGURES.values():
        assert label in done.stdout
