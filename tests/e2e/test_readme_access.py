"""The console examples of the README's "For security teams: who has access" section, run
against a real server holding the example organization, compared with what they print.

Binding ids differ from run to run: the README shows them as four hex digits and `…`. A line
that is only `…` stands for any number of lines."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from authz.testing import Server

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## For security teams: who has access"
SHOWN_ID = re.compile(r"[0-9a-f]{4}…")
REAL_ID = re.compile(r"\b[0-9a-f]{32}\b")


def examples() -> list[tuple[str, list[str]]]:
    """(command, expected lines) of each `$ authz ...` line in the section's console blocks."""
    text = README.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    blocks = re.findall(r"```console\n(.*?)```", text[start:end], re.DOTALL)
    found: list[tuple[str, list[str]]] = []
    for block in blocks:
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
    return [(command, _trimmed(lines)) for command, lines in found]


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line, with `…` alone matching any run of lines."""
    if not expected:
        return not actual
    if expected[0] == "…":
        return any(matches(expected[1:], actual[skip:]) for skip in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


@pytest.fixture(scope="module")
def example_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("readme-access")
    server = Server(workdir, f"sqlite:///{workdir / 'authz.db'}").start()
    loaded = run(server, "authz load-example")
    assert loaded.returncode == 0, loaded.stderr
    yield server
    server.stop()


def run(server: Server, command: str) -> subprocess.CompletedProcess:
    words = shlex.split(command)
    assert words[0] == "authz"
    return subprocess.run([sys.executable, "-m", "authz.cli", *words[1:], "--grpc-address", server.address,
                           "--database-url", server.database_url], cwd=server.workdir, capture_output=True,
                          text=True, timeout=60)


def test_the_section_has_examples_of_all_three_commands():
    commands = {shlex.split(command)[1] for command, _ in examples()}
    assert commands == {"who-can", "access", "access-report"}


@pytest.mark.parametrize("command, expected", examples(), ids=[c for c, _ in examples()])
def test_readme_example(example_server, command, expected):
    done = run(example_server, command)
    assert done.returncode == 0, done.stderr
    actual = [REAL_ID.sub("<id>", line).rstrip() for line in done.stdout.splitlines()]
    wanted = [SHOWN_ID.sub("<id>", line).rstrip() for line in expected]
    assert matches(wanted, actual), "\n".join(["expected:", *wanted, "printed:", *actual])
