"""A plain, non-editable install ships the bundled policies: the package is built as a wheel
from a copy of the tree, installed into a fresh virtual environment, and its `authz` finds and
validates the policies inside site-packages, from a directory far from the source."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL_SKIPPED = {".venv", ".git", "build", "benchmarks", "docs", "tests", ".pytest_cache", ".hypothesis"}


def skip(directory: str, names: list[str]) -> set[str]:
    """What the copy leaves out: the tree's own environment, caches and the parts no wheel holds."""
    left_out = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
    if Path(directory) == ROOT:
        left_out |= TOP_LEVEL_SKIPPED & set(names)
    return left_out


def run(*command: str | Path, cwd: Path) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_plain_install_ships_the_policies(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=skip)
    # The wheel is built with this environment's setuptools (no download), as `pip install .` would.
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist",
        source, cwd=tmp_path)
    [wheel] = (tmp_path / "dist").glob("authz-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet", "--no-deps",
        "--no-index", wheel, cwd=tmp_path)
    # The dependencies come from this environment's site-packages, after the new one's (a .pth
    # line adds a directory, not the .pth files in it, so this environment's authz stays out).
    [site] = (venv / "lib").glob("python3*/site-packages")
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    installed = run(venv / "bin" / "python", "-c", "import authz; print(authz.__file__)", cwd=elsewhere)
    assert Path(installed.strip()).is_relative_to(site)
    validated = run(venv / "bin" / "authz", "policy", "validate", cwd=elsewhere)
    assert validated.startswith(f"{site / 'authz' / 'policies'}: valid ("), validated
    tested = run(venv / "bin" / "authz", "policy", "test", cwd=elsewhere)
    assert tested.strip().endswith(" 0 failed"), tested
    assert not (site / "authz" / "policies").is_symlink()
