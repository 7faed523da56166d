"""authz/_gen/ is exactly what `make proto` produces from proto/ (CI fails when it is stale)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_up_to_date(tmp_path):
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "tools" / "gen_proto.py")
    gen_proto = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_proto)
    gen_proto.generate(tmp_path)
    committed = ROOT / "authz" / "_gen"
    fresh = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*.py*") if p.suffix != ".pyc"}
    current = {p.relative_to(committed): p.read_text() for p in committed.rglob("*.py*") if p.suffix != ".pyc"}
    assert sorted(fresh) == sorted(current), "run `make proto`"
    stale = [str(name) for name in fresh if fresh[name] != current[name]]
    assert stale == [], f"stale generated files {stale}: run `make proto`"
