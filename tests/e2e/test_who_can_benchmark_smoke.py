"""benchmarks/who_can.py --quick runs to the end and reports every figure (never how fast)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_quick_who_can_benchmark_reports_every_figure(tmp_path):
    out = tmp_path / "who-can.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "who_can.py"), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())["figures"]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import who_can
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert set(figures) == set(who_can.FIGURES)
    assert all(math.isfinite(value) and value > 0 for value in figures.values())
    assert "ListSubjects, 1,000 subjects in one page" in done.stdout
