"""The layering rules of the house, checked from the source: what each layer may import."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "authz"
FORBIDDEN = {
    "domain": {"grpc", "sqlalchemy", "casbin", "google", "authz.engine", "authz.storage", "authz.api"},
    "engine": {"grpc", "sqlalchemy", "google", "authz.storage", "authz.api", "authz._gen"},
    "api": {"sqlalchemy", "casbin", "authz.storage.sql"},
    "storage": {"grpc", "casbin", "google", "authz.engine", "authz.api"},
    # The service holds the state; the API calls it, never the other way round.
    "service": {"grpc", "sqlalchemy", "casbin", "google", "authz.api", "authz._gen", "authz.storage.sql",
                "authz.testing"},
    # Plug-ins run inside other servers: grpc, protobuf and the generated stubs only.
    "integrations": {"sqlalchemy", "alembic", "casbin", "yaml", "prometheus_client", "authz.engine",
                     "authz.storage", "authz.api", "authz.service", "authz.testing", "authz.config", "authz.client"},
}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer):
    offending = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in imported_modules(path):
            if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[layer]):
                offending.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offending == []


def test_domain_uses_only_the_standard_library():
    for path in sorted((PACKAGE / "domain").rglob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top == "authz", f"{path.name} imports {name}"
