"""The console examples of the README's "Operating it" section, run and compared with what they
print: promtool on the alerts' tests, the dashboard's freshness check, and the SQLite backup,
taken from a running server and served again."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from authz.testing import example
from authz.testing.server import Server

ROOT = Path(__file__).resolve().parents[2]


def examples() -> list[tuple[str, str, str]]:
    """(subsection, command, expected output) of every console example in "## Operating it" that
    the README marks as this test's (`<!-- readme-test: by=test_readme_operating -->`; the
    section's other examples are run by test_readme.py)."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Operating it\n"):]
    section = section[: section.index("\n## ", 1)]
    found = []
    for match in re.finditer(r"^<!-- readme-test: by=test_readme_operating -->\n```console\n(.*?)^```", section,
                             re.DOTALL | re.MULTILINE):
        heading = re.findall(r"^### (.+)$", section[: match.start()], re.MULTILINE)[-1]
        for chunk in re.split(r"^\$ ", match.group(1), flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            found.append((heading, command, output))
    return found


def run(command: str, cwd: Path) -> str:
    result = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout


def test_the_section_has_its_examples():
    headings = {heading for heading, _, _ in examples()}
    assert {"Alerts and what to do", "The dashboard", "Backups"} <= headings


@pytest.mark.parametrize(("heading", "command", "expected"),
                         [e for e in examples() if e[0] != "Backups"], ids=lambda v: v[:40])
def test_a_console_example_prints_what_the_readme_says(heading, command, expected, request):
    if command.startswith("promtool"):
        request.getfixturevalue("prometheus_tools")
    assert run(command, ROOT).rstrip("\n") == expected.rstrip("\n")


@pytest.mark.e2e
def test_the_sqlite_backup_is_served_at_its_revision(tmp_path):
    (command,) = [command for heading, command, _ in examples() if heading == "Backups"]
    question = ("user:ada", "update", "pipeline/train")
    with_server = Server(tmp_path, f"sqlite:///{tmp_path / 'authz.db'}").start()
    try:
        with with_server.client() as client:
            client.import_operations(example.operations())
            client.create_role_binding("user:bob", "project_viewer", project="prod-llms")
            original = client.check(*question, project="staging-recommendations")
            assert run(command, tmp_path) == ""  # while the server runs
            client.create_role_binding("user:carol", "project_viewer", project="prod-llms")
    finally:
        with_server.stop()
    restored = Server(tmp_path, f"sqlite:///{tmp_path / 'authz-backup.db'}").start()
    try:
        with restored.client() as client:
            answer = client.check(*question, project="staging-recommendations")
            assert (answer.allowed, answer.revision) == (original.allowed, original.revision) == (True, 2)
            assert not client.check("user:carol", "read", "model/m", project="prod-llms").allowed
            assert client.check("user:bob", "read", "model/m", project="prod-llms").allowed
    finally:
        restored.stop()
