"""deploy/kubernetes/ against the Kubernetes schemas (offline, with kubernetes-validate), and
the sidecar's pieces against the server they run: its settings, ports and memory figures."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from authz.config import Settings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
# 1.29: the first release with native sidecars (init containers with restartPolicy Always) on
# by default; 1.37: the newest schemas kubernetes-validate ships.
VERSIONS = ("1.29.0", "1.37.0")


def documents() -> list[tuple[str, dict]]:
    return [(path.name, doc) for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> list[dict]:
    return [doc for _, doc in documents() if doc["kind"] == kind]


def pod() -> dict:
    (deployment,) = by_kind("Deployment")
    return deployment["spec"]["template"]


def sidecar() -> dict:
    (container,) = [c for c in pod()["spec"]["initContainers"] if c["name"] == "authz"]
    return container


def env(container: dict) -> dict[str, dict]:
    return {item["name"]: item for item in container.get("env", [])}


def port_of(address: str) -> int:
    return int(address.rpartition(":")[2])


def test_there_are_manifests():
    assert {"Deployment", "Secret", "NetworkPolicy"} <= {doc["kind"] for _, doc in documents()}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "doc"), documents(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_every_manifest_is_valid_kubernetes(name, doc, version):
    kubernetes_validate.validate(doc, version, strict=True)


def test_a_misspelt_field_is_caught():
    """The validation above is strict: it would catch this."""
    (deployment,) = by_kind("Deployment")
    container = deployment["spec"]["template"]["spec"]["initContainers"][0]
    container["securityContext"]["readOnlyRootFilesytem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_the_sidecar_is_native_and_probed_over_grpc_health():
    container = sidecar()
    assert container["restartPolicy"] == "Always"
    grpc_port = port_of(env(container)["AUTHZ_GRPC_ADDRESS"]["value"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"] == {"port": grpc_port}, probe


def test_every_authz_variable_is_a_setting():
    known = {Settings.env_name(item.name) for item in fields(Settings)}
    assert set(env(sidecar())) <= known


def test_the_database_url_and_tokens_come_from_secrets():
    secrets = {doc["metadata"]["name"]: doc["stringData"] for doc in by_kind("Secret")}
    variables = env(sidecar())
    reference = variables["AUTHZ_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert reference["key"] in secrets[reference["name"]]
    assert secrets[reference["name"]][reference["key"]].startswith("postgresql+psycopg://")
    volumes = {volume["name"]: volume for volume in pod()["spec"]["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in sidecar()["volumeMounts"]}
    for name in ("AUTHZ_ADMIN_TOKEN_FILE", "AUTHZ_CHECK_TOKEN_FILE"):
        path = Path(variables[name]["value"])
        mount = mounts[str(path.parent)]
        assert mount["readOnly"] is True
        secret = volumes[mount["name"]]["secret"]["secretName"]
        assert path.name in secrets[secret], (name, secret)


def test_the_sidecar_runs_unprivileged_on_a_read_only_root():
    spec = pod()["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    context = sidecar()["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    # Nothing writable: with PostgreSQL and token files the server writes no file.
    writable = [m for m in sidecar()["volumeMounts"] if not m.get("readOnly")]
    assert writable == []


def test_the_scrape_annotations_name_the_metrics_port():
    annotations = pod()["metadata"]["annotations"]
    metrics_port = port_of(env(sidecar())["AUTHZ_METRICS_ADDRESS"]["value"])
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == metrics_port
    assert {"name": "authz-metrics", "containerPort": metrics_port} in sidecar()["ports"]


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / 2**20


def test_memory_is_sized_from_the_benchmark():
    """Requested at least the resident memory measured at 100,000 bindings, with room to grow."""
    results = json.loads((ROOT / "docs" / "benchmark.json").read_text())["results"]
    measured = max(run["rss_mib"] for size in results.values() for backend in size.values()
                   if backend["bindings"] == 100_000 for run in backend["runs"])
    resources = sidecar()["resources"]
    assert mebibytes(resources["requests"]["memory"]) >= measured
    assert mebibytes(resources["limits"]["memory"]) >= 2 * measured
