"""The console examples of the README's "trying a policy on live traffic" section, run in order
against a real server holding the example organization, compared with what they print. A `…`
stands for the rest of a line the README leaves out; `01a2…` for a binding id. (The generic
README test runs the same block; `setup_shadow_candidate` is the setup its marker names.)"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from authz.testing import Server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## For security teams: trying a policy on live traffic, and grants that expire"


def examples() -> list[tuple[str, list[str]]]:
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text[start:end], re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
    return found


def setup_shadow_candidate(directory: Path) -> None:
    """`shadow-candidate/`: the bundled policy without project_viewer's permission to read models."""
    candidate = directory / "shadow-candidate"
    shutil.copytree(ROOT / "policies", candidate)
    roles = candidate / "roles.csv"
    line = "p, project_viewer, project, model, *, read\n"
    assert line in roles.read_text()
    roles.write_text(roles.read_text().replace(line, "", 1))


def line_matches(expected: str, actual: str) -> bool:
    expected = re.sub(r"\b[0-9a-f]{4}…", "<id>", expected)
    actual = re.sub(r"\b[0-9a-f]{32}\b", "<id>", actual)
    pattern = ".*".join(re.escape(part) for part in expected.split("…"))
    return re.fullmatch(pattern, actual) is not None


def matches(expected: list[str], actual: list[str]) -> bool:
    return len(expected) == len(actual) and all(map(line_matches, expected, actual))


def test_the_section_shows_start_report_and_stop():
    commands = [command for command, _ in examples()]
    assert any("shadow start" in c for c in commands) and any("shadow report" in c for c in commands)
    assert any("shadow stop" in c for c in commands)


def test_the_examples_print_what_the_readme_shows(tmp_path):
    setup_shadow_candidate(tmp_path)
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'authz.db'}").start()
    try:
        flags = ["--grpc-address", server.address, "--database-url", server.database_url]
        loaded = subprocess.run([sys.executable, "-m", "authz.cli", "load-example", *flags], cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        assert loaded.returncode == 0, loaded.stderr
        for command, expected in examples():
            assert command.startswith("authz ")
            words = [sys.executable, "-m", "authz.cli", *shlex.split(command)[1:], *flags]
            done = subprocess.run(words, cwd=tmp_path, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
            actual = [line.rstrip() for line in done.stdout.splitlines()]
            while expected and not expected[-1].strip():
                expected = expected[:-1]
            assert matches(expected, actual), "\n".join([command, "expected:", *expected, "printed:", *actual])
    finally:
        server.stop()
