"""The chart's ColonyFS part: a bundled SeaweedFS (off by default) or an external S3, published
to executors as a ConfigMap of AWS_S3_* settings plus the credentials Secret. (Its examples,
helm/examples/colonyfs.yaml and production.yaml, also go through every check of
test_helm_chart.py: lint, kubernetes-validate, the restricted profile.)"""

from __future__ import annotations

from typing import Any

from .conftest import Helm, one

SECRET = ["--set", "colonyfs.s3.existingSecret=colonies-s3"]
BUNDLED = [*SECRET, "--set", "seaweedfs.enabled=true"]


def _named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} {name}"
    return found[0]


def test_off_by_default(helm: Helm) -> None:
    names = [d["metadata"]["name"] for d in helm.render()]
    assert not [n for n in names if "seaweedfs" in n or "colonyfs" in n]


def test_bundled_seaweedfs(helm: Helm) -> None:
    docs = helm.render(*BUNDLED)
    settings = _named(docs, "ConfigMap", "rel-colonies-colonyfs")["data"]
    assert settings == {
        "AWS_S3_ENDPOINT": "rel-colonies-seaweedfs.colonies.svc.cluster.local:8333",
        "AWS_S3_BUCKET": "colonies",
        "AWS_S3_REGION": "",
        "AWS_S3_TLS": "false",
        "AWS_S3_SKIPVERIFY": "false",
    }
    service = _named(docs, "Service", "rel-colonies-seaweedfs")
    assert service["spec"]["ports"][0]["port"] == 8333
    statefulset = one(docs, "StatefulSet", "rel-colonies-seaweedfs")
    assert service["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]
    pod = statefulset["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "chrislusf/seaweedfs:3.80"
    script = container["command"][-1]
    assert "-s3.config=/tmp/s3-identities.json" in script and "exec weed server" in script
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert refs == {
        "S3_ACCESS_KEY": {"name": "colonies-s3", "key": "accesskey"},
        "S3_SECRET_KEY": {"name": "colonies-s3", "key": "secretkey"},
    }
    claim = statefulset["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    # The server pods themselves get no S3 settings: the bytes never pass through them.
    server = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert not [e for e in server.get("env", []) if e["name"].startswith("AWS_S3_")]

    throwaway = helm.render(*BUNDLED, "--set", "seaweedfs.persistence.enabled=false")
    statefulset = one(throwaway, "StatefulSet", "rel-colonies-seaweedfs")
    assert "volumeClaimTemplates" not in statefulset["spec"]
    assert {"name": "data", "emptyDir": {}} in statefulset["spec"]["template"]["spec"]["volumes"]


def test_external_s3(helm: Helm) -> None:
    docs = helm.render(
        *SECRET,
        "--set", "colonyfs.s3.endpoint=s3.eu-north-1.amazonaws.com:443",
        "--set", "colonyfs.s3.tls=true", "--set", "colonyfs.s3.region=eu-north-1",
        "--set", "colonyfs.s3.bucket=my-colony-files",
    )  # fmt: skip
    settings = _named(docs, "ConfigMap", "rel-colonies-colonyfs")["data"]
    assert settings["AWS_S3_ENDPOINT"] == "s3.eu-north-1.amazonaws.com:443"
    assert (settings["AWS_S3_TLS"], settings["AWS_S3_REGION"]) == ("true", "eu-north-1")
    assert settings["AWS_S3_BUCKET"] == "my-colony-files"
    assert not [d for d in docs if "seaweedfs" in d["metadata"]["name"]]


def test_inconsistent_colonyfs_values_fail(helm: Helm) -> None:
    both = helm.render_error(*BUNDLED, "--set", "colonyfs.s3.endpoint=minio:9000")
    assert "exclude each other" in both
    no_secret = helm.render_error("--set", "seaweedfs.enabled=true")
    assert "colonyfs.s3.existingSecret" in no_secret
    scheme = helm.render_error(*SECRET, "--set", "colonyfs.s3.endpoint=http://x:9000")
    assert "endpoint" in scheme
