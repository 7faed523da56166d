"""benchmarks/replicas.py --quick runs to the end on both databases and reports every figure
(never how fast)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]


def test_quick_replicas_benchmark_reports_every_figure(tmp_path, postgres_url):
    # postgres_url: the benchmark makes a database of its own on the same server, which must be up.
    out = tmp_path / "replicas.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "replicas.py"), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import replicas
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    report = json.loads(out.read_text())["figures"]
    assert set(report) == {"postgres", "sqlite"}
    for figures in report.values():
        assert set(figures) == set(replicas.FIGURES)
        assert all(math.isfinite(value) and value > 0 for value in figures.values())
