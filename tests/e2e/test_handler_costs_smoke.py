"""benchmarks/handler_costs.py --quick runs to the end and reports every figure, warm and cold
(never how fast)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_quick_handler_costs_report_every_figure_warm_and_cold(tmp_path):
    out = tmp_path / "costs.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "handler_costs.py"), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    for state in ("warm", "cold"):
        figures = report[state]
        assert set(figures) == set(report["figures"])
        per_call = {name: value for name, value in figures.items() if not name.endswith("_extra_us")}
        assert all(math.isfinite(value) and value > 0 for value in per_call.values()), figures
    assert "BatchCheck, fully mixed, µs per call" in done.stdout
