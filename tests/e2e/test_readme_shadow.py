"""The console examples of the README's "trying a policy on live traffic" section, run in order
against a real server holding the example organization, compared with what they print. A `…`
in a line stands for any text; a line that is only `…` for any number of lines."""

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


def line_matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("…"))
    return re.fullmatch(pattern, actual) is not None


def matches(expected: list[str], actual: list[str]) -> bool:
    if not expected:
        return not actual
    if expected[0] == "…":
        return any(matches(expected[1:], actual[skip:]) for skip in range(len(actual) + 1))
    return bool(actual) and line_matches(expected[0], actual[0]) and matches(expected[1:], actual[1:])


def test_the_section_shows_start_report_and_stop():
    commands = [command for command, _ in examples()]
    assert any("shadow start" in c for c in commands) and any("shadow report" in c for c in commands)
    assert any("shadow stop" in c for c in commands)


def test_the_examples_print_what_the_readme_shows(tmp_path):
    shutil.copytree(ROOT / "policies", tmp_path / "policies")  # a copy: the examples edit what they copy
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'authz.db'}", env={"AUTHZ_REPLICA_NAME": "replica-a"}).start()
    try:
        flags = ["--grpc-address", server.address, "--database-url", server.database_url]
        loaded = subprocess.run([sys.executable, "-m", "authz.cli", "load-example", *flags], cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        assert loaded.returncode == 0, loaded.stderr
        for command, expected in examples():
            if command.startswith("authz "):
                words = [sys.executable, "-m", "authz.cli", *shlex.split(command)[1:], *flags]
                done = subprocess.run(words, cwd=tmp_path, capture_output=True, text=True, timeout=60)
            else:
                done = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
            actual = [line.rstrip() for line in done.stdout.splitlines()]
            while expected and not expected[-1].strip():
                expected = expected[:-1]
            assert matches(expected, actual), "\n".join([command, "expected:", *expected, "printed:", *actual])
    finally:
        server.stop()
