"""The Kustomize base validates strictly against the Kubernetes schemas and wires probes, config and secrets right."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from template_matrix import MATRIX, Render

pytestmark = pytest.mark.timeout(60)

RESOURCES = ("deployment.yaml", "service.yaml", "pdb.yaml")


def kubernetes_validate() -> str:
    """The kubernetes-validate script of this environment (a test dependency)."""
    found = shutil.which("kubernetes-validate", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("kubernetes-validate is not installed: pip install kubernetes-validate (a test dependency)")
    return found


def validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubernetes_validate(), "--strict", *map(str, paths)], capture_output=True, text=True, timeout=60, check=False
    )


def load(render: Render, name: str) -> Any:
    return yaml.safe_load((render.repo / "deploy" / "k8s" / name).read_text(encoding="utf-8"))


def container(render: Render) -> dict[str, Any]:
    containers: list[dict[str, Any]] = load(render, "deployment.yaml")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_manifests_pass_strict_schema_validation(renders: dict[str, Render], label: str) -> None:
    k8s = renders[label].repo / "deploy" / "k8s"

    result = validate(*(k8s / name for name in RESOURCES))

    assert result.returncode == 0, result.stdout + result.stderr


def test_strict_validation_refuses_an_unknown_field(default_render: Render, tmp_path: Path) -> None:
    deployment = load(default_render, "deployment.yaml")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"tcpSocket": {"port": 1}}
    broken = tmp_path / "deployment.yaml"
    broken.write_text(yaml.safe_dump(deployment))

    assert validate(broken).returncode != 0


def test_kustomization_lists_every_manifest_and_a_config_map_from_the_config_files(default_render: Render) -> None:
    k8s = default_render.repo / "deploy" / "k8s"
    kustomization = load(default_render, "kustomization.yaml")

    assert sorted(kustomization["resources"]) == sorted(RESOURCES)
    generator = kustomization["configMapGenerator"][0]
    for file in generator["files"]:
        tomllib.loads((k8s / file).read_text(encoding="utf-8"))
    volumes = load(default_render, "deployment.yaml")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "config", "configMap": {"name": generator["name"]}} in volumes


def test_probes_hit_the_health_port(default_render: Render) -> None:
    service = container(default_render)
    ports = {port["name"]: port["containerPort"] for port in service["ports"]}

    assert ports == {"flight": 17001, "health": 8877, "metrics": 17101}
    for probe, path in (("startupProbe", "/ready"), ("readinessProbe", "/ready"), ("livenessProbe", "/live")):
        assert service[probe]["httpGet"] == {"path": path, "port": "health"}


def test_grace_period_outlasts_the_drain_deadline_and_the_pre_stop_pause(default_render: Render) -> None:
    pod = load(default_render, "deployment.yaml")["spec"]["template"]["spec"]
    production = default_render.repo / "deploy" / "k8s" / "config" / "production.toml"
    shutdown_timeout_sec = tomllib.loads(production.read_text(encoding="utf-8"))["server"]["shutdown_timeout_sec"]
    pause = container(default_render)["lifecycle"]["preStop"]["sleep"]["seconds"]

    assert pod["terminationGracePeriodSeconds"] > shutdown_timeout_sec + pause


def test_pod_advertises_its_own_ip_and_reads_tokens_from_a_secret(default_render: Render) -> None:
    env = {item["name"]: item for item in container(default_render)["env"]}

    assert env["GFS_SERVER__ADVERTISE_HOST"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    secret = env["GFS_ENUMERATED_TOKENS__TOKENS"]["valueFrom"]["secretKeyRef"]
    assert secret["name"] == f"{default_render.answers.name}-tokens"
    assert "value" not in env["GFS_ENUMERATED_TOKENS__TOKENS"]


def test_container_runs_restricted(default_render: Render) -> None:
    pod = load(default_render, "deployment.yaml")["spec"]["template"]["spec"]
    security = container(default_render)["securityContext"]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}


def test_container_has_requests_and_limits(default_render: Render) -> None:
    resources = container(default_render)["resources"]

    assert set(resources["requests"]) == {"cpu", "memory"}
    assert "memory" in resources["limits"]


def test_args_layer_the_production_config_over_the_image_config(default_render: Render) -> None:
    args = container(default_render)["args"]
    package = default_render.answers.package

    assert args == [
        "--config",
        "/app/config/server.toml",
        f"/app/config/{package}.toml",
        f"/etc/{default_render.answers.name}/production.toml",
    ]
    mounts = {mount["name"]: mount for mount in container(default_render)["volumeMounts"]}
    assert mounts["config"]["mountPath"] == f"/etc/{default_render.answers.name}"


def test_service_and_budget_select_the_deployment_pods(default_render: Render) -> None:
    labels = load(default_render, "deployment.yaml")["spec"]["template"]["metadata"]["labels"]
    service = load(default_render, "service.yaml")
    budget = load(default_render, "pdb.yaml")

    assert service["spec"]["selector"].items() <= labels.items()
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert {port["targetPort"] for port in service["spec"]["ports"]} == {"flight", "metrics"}
