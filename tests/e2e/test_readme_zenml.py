"""The Python example of the README's "Use it from ZenML" section, run as written, and what it
leaves in the sidecar (the section's console examples run in test_readme.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from authz.testing.server import Server

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text()
    start = text.index("## Use it from ZenML")
    return text[start:text.index("\n## ", start + 1)]


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", section(), re.DOTALL)


def test_the_python_example_creates_the_nodes_and_the_first_admin(tmp_path):
    (example,) = blocks("python")
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", env={"AUTHZ_ADMIN_TOKEN": "readme-admin"}).start()
    try:
        env = {**os.environ, "AUTHZ_GRPC_ADDRESS": server.address, "AUTHZ_ADMIN_TOKEN": "readme-admin"}
        done = subprocess.run([sys.executable, "-c", example], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        subject = re.search(r'"(user:[0-9a-f-]{36})"', example).group(1)
        with server.client() as client:
            assert client.check(subject, "delete", "pipeline/p", workspace="zenml-prod").allowed
            (binding,) = client.list_role_bindings(subject=subject).bindings
            assert (binding.role, binding.scope.organization_id) == ("workspace_admin", "acme")
    finally:
        server.stop()
