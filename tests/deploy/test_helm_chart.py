"""The Helm chart of helm/colonies, rendered by a real helm: `helm lint --strict`, `helm
template` and `kubernetes-validate --strict` over the no-values install and every example of
helm/examples/ (the combinations docs/deploy.md documents); the no-values fleet document by
document; names under a long release name; the values the schema or the chart refuses; pool
sizes against max_connections; drain, Ingress, etcd, PostgreSQL and migration settings.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from colonies.crypto import parse_private_key

from .conftest import (
    CHART,
    CNPG,
    KUBE_VERSIONS,
    MONITORING,
    Doc,
    Helm,
    containers,
    env_of,
    example_args,
    examples,
    kinds,
    kubernetes_validate,
    one,
    pod_specs,
)

SERVER_ID = "ab" * 32
NO_VALUES_KINDS = {
    "ConfigMap": 3,  # server settings, etcd start-up script, helm test script
    "Deployment": 1,
    "Job": 2,  # the migration, the etcd membership hook
    "NetworkPolicy": 2,  # etcd, PostgreSQL
    "Pod": 1,  # helm test
    "PodDisruptionBudget": 2,  # servers, etcd
    "Secret": 2,  # server owner key, PostgreSQL password
    "Service": 4,  # servers, etcd headless, PostgreSQL, PostgreSQL headless
    "ServiceAccount": 1,
    "StatefulSet": 2,  # etcd, PostgreSQL
}
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "Cluster"}
# Combinations rendered by every check: the no-values install and each documented example.
COMBINATIONS = {"no-values": [], **{p.stem: example_args(p) for p in examples()}}


def server_config(docs: list[Doc], name: str = "rel-colonies") -> dict[str, str]:
    data: dict[str, str] = one(docs, "ConfigMap", name)["data"]
    return data


def server_pod(docs: list[Doc]) -> Doc:
    pod: Doc = one(docs, "Deployment")["spec"]["template"]["spec"]
    return pod


def server_container(docs: list[Doc]) -> Doc:
    found = [c for c in server_pod(docs)["containers"] if c["name"] == "colonies"]
    assert len(found) == 1
    return found[0]


def secret_value(docs: list[Doc], name: str, key: str) -> str:
    return base64.b64decode(one(docs, "Secret", name)["data"][key]).decode()


# --- every combination: lint, render, validate ------------------------------------------------


def test_examples_exist() -> None:
    assert {"production", "cloudnativepg", "server-tls", "no-etcd", "throwaway", "colonyfs"} <= set(
        COMBINATIONS
    )


@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_lint_strict(helm: Helm, name: str) -> None:
    args = COMBINATIONS[name]
    if "--api-versions" in args:
        pytest.skip("helm lint cannot be given API versions; rendered and validated below")
    proc = helm.run("lint", "--strict", str(CHART), *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_kubernetes_validate_strict(helm: Helm, name: str, tmp_path: Path) -> None:
    docs = helm.render(*COMBINATIONS[name], *MONITORING)
    core = [doc for doc in docs if doc["kind"] not in CRD_KINDS]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump_all(core))
    for version in KUBE_VERSIONS:
        proc = kubernetes_validate(path, version)
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
    proc = kubernetes_validate(path, KUBE_VERSIONS[0])
    assert proc.returncode != 0
    assert "ERROR" in proc.stdout


@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_pods_meet_the_restricted_profile(helm: Helm, name: str) -> None:
    """Pod Security "restricted" for every pod of every combination; and no service links, no
    API token (no pod of the chart talks to the Kubernetes API)."""
    for pod_name, pod in pod_specs(helm.render(*COMBINATIONS[name], *MONITORING)):
        assert pod["enableServiceLinks"] is False, pod_name
        assert pod["automountServiceAccountToken"] is False, pod_name
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, pod_name
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, pod_name
        for container in containers(pod):
            where = f"{pod_name}/{container['name']}"
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert "privileged" not in context, where
        for volume in pod.get("volumes", []):
            assert "hostPath" not in volume, pod_name


# --- the no-values install ---------------------------------------------------------------------


def test_no_values_install_is_a_fleet(helm: Helm) -> None:
    docs = helm.render()
    counts = {kind: kinds(docs).count(kind) for kind in set(kinds(docs))}
    assert counts == NO_VALUES_KINDS

    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    server = server_container(docs)
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    assert server["image"] == f"colonies:{app_version}"  # explicit: built and loaded by you

    # The bundled database: host and user in the ConfigMap, password from the generated Secret.
    config = server_config(docs)
    assert config["COLONIES_METRICS_COLONY_NAMES"] == "false"  # /metrics names no colony
    assert config["COLONIES_DB_HOST"] == "rel-colonies-postgresql.colonies.svc.cluster.local"
    assert (config["COLONIES_DB_USER"], config["COLONIES_DB_NAME"]) == ("colonies", "colonies")
    variables = env_of(server)
    assert variables["COLONIES_DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "rel-colonies-postgresql",
        "key": "password",
    }
    password = secret_value(docs, "rel-colonies-postgresql", "password")
    assert re.fullmatch(r"[A-Za-z0-9]{32}", password)
    postgres = one(docs, "StatefulSet", "rel-colonies-postgresql")
    pg = postgres["spec"]["template"]["spec"]["containers"][0]
    assert pg["image"] == "docker.io/library/postgres:17.5"
    assert "max_connections=100" in pg["args"]
    assert (
        env_of(pg)["POSTGRES_PASSWORD"]["valueFrom"]
        == variables["COLONIES_DB_PASSWORD"]["valueFrom"]
    )
    assert pg["lifecycle"]["preStop"]["exec"]["command"][:2] == ["pg_ctl", "stop"]

    # The generated server owner key: a valid key the server derives its id from.
    key = secret_value(docs, "rel-colonies-server-key", "prvkey")
    assert len(parse_private_key(key).id) == 64
    assert variables["COLONIES_SERVER_PRVKEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "rel-colonies-server-key",
        "key": "prvkey",
    }
    for name in ("rel-colonies-server-key", "rel-colonies-postgresql"):
        secret = one(docs, "Secret", name)
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    # (Both are read back with lookup at upgrades: tests/deploy/test_chart_lookup.py.)

    # The bundled etcd elects the leader, under this release's prefix.
    assert config["COLONIES_ETCD_ENDPOINTS"].count("http://rel-colonies-etcd-") == 3
    assert config["COLONIES_ETCD_PREFIX"] == "/colonies/colonies/rel"
    assert one(docs, "StatefulSet", "rel-colonies-etcd")["spec"]["replicas"] == 3

    # Migrations in a Job; the replicas wait for them and do not migrate themselves.
    assert config["COLONIES_DB_MIGRATE"] == "false"
    job = one(docs, "Job", "rel-colonies-migrate-1")
    migrate = job["spec"]["template"]["spec"]["containers"][0]
    assert migrate["command"][:3] == ["colonies", "server", "migrate"]
    assert "COLONIES_SERVER_PRVKEY" not in env_of(migrate)  # the key stays in the servers
    (wait,) = server_pod(docs)["initContainers"]
    assert wait["command"] == ["colonies", "server", "migrate", "--wait", "--timeout", "0"]

    # Drain, pool and heartbeat settings reach the server.
    assert config["COLONIES_DRAIN_SECONDS"] == "15"
    assert config["COLONIES_DB_MAX_OPEN_CONNS"] == "16"
    assert config["COLONIES_PUBSUB_HEARTBEAT"] == "20"
    assert server_pod(docs)["terminationGracePeriodSeconds"] == 45

    # helm test: a hook pod that runs a process with the owner key.
    test_pod = one(docs, "Pod")
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    test_env = env_of(test_pod["spec"]["containers"][0])
    assert test_env["COLONIES_TEST_URL"]["value"] == (
        "http://rel-colonies.colonies.svc.cluster.local:50080"
    )
    assert test_env["COLONIES_SERVER_PRVKEY"]["valueFrom"]["secretKeyRef"]["name"] == (
        "rel-colonies-server-key"
    )


def test_metrics_colony_names_is_a_boolean_option(helm: Helm) -> None:
    """/metrics names colonies only when the operator says so (issue 16); anything but a
    boolean is refused by the schema."""
    docs = helm.render("--set", "config.metricsColonyNames=true")
    assert server_config(docs)["COLONIES_METRICS_COLONY_NAMES"] == "true"
    assert "metricsColonyNames" in helm.render_error(
        "--set-string", "config.metricsColonyNames=yes"
    )


def test_probes_and_scheduling(helm: Helm) -> None:
    docs = helm.render()
    server = server_container(docs)
    assert server["livenessProbe"]["httpGet"]["path"] == "/health"  # no database call
    assert server["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert server["startupProbe"]["httpGet"]["path"] == "/health"
    assert server["readinessProbe"]["periodSeconds"] == 5
    assert "lifecycle" not in server  # the server drains by itself; a preStop sleep is optional

    pod = server_pod(docs)
    selector = one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    spread = pod["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == [
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    ]
    for constraint in spread:
        assert constraint["labelSelector"]["matchLabels"] == selector
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
    for pdb in (d for d in docs if d["kind"] == "PodDisruptionBudget"):
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
        assert pdb["spec"]["maxUnavailable"] == 1

    etcd = one(docs, "StatefulSet", "rel-colonies-etcd")
    etcd_pod = etcd["spec"]["template"]["spec"]
    assert etcd_pod["initContainers"][0]["command"] == [
        "python",
        "/scripts/etcd-member.py",
        "prepare",
    ]
    assert etcd_pod["containers"][0]["command"] == [
        "/usr/local/bin/etcd",
        "--config-file=/etc/etcd-run/etcd.yaml",
    ]
    settings = json.loads(env_of(etcd_pod["initContainers"][0])["ETCD_SETTINGS"]["value"])
    assert settings["quota-backend-bytes"] == 1073741824
    hook = one(docs, "Job", "rel-colonies-etcd-members")
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "post-upgrade,post-rollback"
    script = one(docs, "ConfigMap", "rel-colonies-etcd-scripts")["data"]["etcd-member.py"]
    assert script == (CHART / "files" / "etcd-member.py").read_text().rstrip("\n")


def test_chart_version_bump_restarts_nothing(helm: Helm, tmp_path: Path) -> None:
    """Pod templates carry no chart version: a chart upgrade that changes nothing of a
    component leaves its pods alone (etcd and PostgreSQL above all)."""
    bumped = tmp_path / "colonies"
    shutil.copytree(CHART, bumped)
    chart = yaml.safe_load((bumped / "Chart.yaml").read_text())
    chart["version"] = "9.9.9"
    (bumped / "Chart.yaml").write_text(yaml.safe_dump(chart))

    def templates(chart_dir: Path) -> dict[str, Any]:
        proc = helm.run("template", "rel", str(chart_dir), "--namespace", "colonies")
        assert proc.returncode == 0, proc.stderr
        docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
        return {
            d["metadata"]["name"]: d["spec"]["template"]
            for d in docs
            if d["kind"] in ("Deployment", "StatefulSet")
        }

    before, after = templates(CHART), templates(bumped)
    assert len(before) == 3
    assert before == after


def test_config_change_rolls_the_servers(helm: Helm) -> None:
    def checksum(*args: str) -> str:
        deployment = one(helm.render(*args), "Deployment")
        return str(deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum() == checksum()
    assert checksum() != checksum("--set", "config.leaderTtl=10")


# --- long release names ------------------------------------------------------------------------

LONG_RELEASE = "a-release-name-of-fifty-three-characters-at-helms-max"


def test_long_release_name(helm: Helm) -> None:
    assert len(LONG_RELEASE) == 53  # Helm's limit
    docs = helm.render(
        "-f",
        str(Path(CHART).parent / "examples" / "server-tls.yaml"),
        "--set",
        "dashboards.enabled=true",
        *MONITORING,
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "metrics.prometheusRule.enabled=true",
        release=LONG_RELEASE,
    )
    names: dict[str, list[str]] = {}
    for doc in docs:
        name = doc["metadata"]["name"]
        names.setdefault(doc["kind"], []).append(name)
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), name
        limit = 52 if doc["kind"] == "StatefulSet" else 63  # + controller-revision-hash
        assert len(name) <= limit, (doc["kind"], name, len(name))
        for value in doc["metadata"].get("labels", {}).values():
            assert len(str(value)) <= 63, value
    for kind, found in names.items():
        assert len(found) == len(set(found)), f"two {kind} share a name: {found}"
    dashboards = [n for n in names["ConfigMap"] if "dashboard" in n]
    assert len(dashboards) == len(list((CHART / "dashboards").glob("*.json"))) == 3

    # Member hostnames (<statefulset>-<i>) and every DNS label of the etcd addresses fit.
    for statefulset in names["StatefulSet"]:
        assert len(f"{statefulset}-6") <= 63
    for url in server_config(docs, names["Deployment"][0])["COLONIES_ETCD_ENDPOINTS"].split(","):
        host = url.removeprefix("http://").rsplit(":", 1)[0]
        assert all(0 < len(label) <= 63 for label in host.split(".")), host
    headless = [n for n in names["Service"] if n.endswith("etcd-headless")]
    assert len(headless) == 1


# --- values the chart refuses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # misspelled keys, at the top and deep down
        (["--set", "replicaCout=3"], "additional properties 'replicaCout' not allowed"),
        (["--set", "etcd.bundled.replica=3"], "additional properties 'replica' not allowed"),
        (["--set", "readinessProbe.periodSecond=3"], "'periodSecond' not allowed"),
        (["--set", "resources.request.cpu=1"], "'request' not allowed"),
        (["--set", "resources.limits.memory=lots"], "/resources/limits/memory"),
        # an even etcd, https to etcd (the client has no TLS), a zero grace period
        (["--set", "etcd.bundled.replicas=4"], "/etcd/bundled/replicas"),
        (
            ["--set", "etcd.mode=external", "--set", "etcd.external.endpoints={https://e:2379}"],
            "/etcd/external/endpoints/0",
        ),
        (["--set", "terminationGracePeriodSeconds=0"], "/terminationGracePeriodSeconds"),
        (["--set", "image.digest=latest"], "/image/digest"),
        (["--set", "serverId=xyz"], "/serverId"),
        (["--set", "postgresql.mode=mysql"], "/postgresql/mode"),
        # what only the templates can check
        (
            ["--set", "terminationGracePeriodSeconds=20"],
            "terminationGracePeriodSeconds (20) must be at least",
        ),
        (
            [
                "--set",
                "autoscaling.enabled=true",
                "--set",
                "autoscaling.minReplicas=5",
                "--set",
                "autoscaling.maxReplicas=4",
                "--set",
                "postgresql.maxConnections=500",
            ],
            "autoscaling.minReplicas (5) is above autoscaling.maxReplicas (4)",
        ),
        (["--set", "postgresql.mode=external"], "needs postgresql.external.existingSecret"),
        (
            ["--set", "postgresql.external.existingSecret=db"],
            'but postgresql.mode is "bundled"',
        ),
        (["--set", "postgresql.mode=cloudnativepg"], "needs the CloudNativePG operator"),
        (["--set", "etcd.mode=external"], "needs etcd.external.endpoints"),
        (["--set", "etcd.external.endpoints={http://e:2379}"], 'but etcd.mode is "bundled"'),
        (["--set", "tls.enabled=true"], "tls.existingSecret"),
        (["--set", "config.retention.enabled=true"], "policySeconds"),
    ],
)
def test_refused_values(helm: Helm, args: list[str], message: str) -> None:
    assert message in helm.render_error(*args)


def test_a_numeric_image_tag_is_refused(helm: Helm, tmp_path: Path) -> None:
    """``tag: 1.10`` in a values file is the float 1.1: refused instead of pulling 1.1."""
    values = tmp_path / "values.yaml"
    values.write_text("image:\n  tag: 1.10\n")
    assert "/image/tag" in helm.render_error("-f", str(values))
    values.write_text('image:\n  tag: "1.10"\n')
    assert server_container(helm.render("-f", str(values)))["image"] == "colonies:1.10"


# --- pool sizes -------------------------------------------------------------------------------


def test_pools_fit_max_connections(helm: Helm) -> None:
    # The default: 3 replicas + 1 surge, each 16 + 3 connections, + 5 = 81 of 100.
    helm.render()
    # The old default of 100 per replica is refused with the numbers.
    message = helm.render_error("--set", "config.dbMaxOpenConns=100")
    assert "4 replicas at peak" in message and "= 417" in message
    # Autoscaling counts the most replicas: 10 + 1 surge.
    message = helm.render_error("--set", "autoscaling.enabled=true")
    assert "11 replicas at peak" in message
    helm.render("--set", "autoscaling.enabled=true", "--set", "postgresql.maxConnections=220")
    # A percentage surge is rounded up, as the Deployment controller does.
    message = helm.render_error(
        "--set", "replicaCount=10", "--set", "updateStrategy.rollingUpdate.maxSurge=25%"
    )
    assert "13 replicas at peak" in message


# --- drain ---------------------------------------------------------------------------------


def test_drain_settings(helm: Helm) -> None:
    docs = helm.render(
        "--set",
        "drain.seconds=20",
        "--set",
        "drain.preStopSleepSeconds=5",
        "--set",
        "terminationGracePeriodSeconds=60",
    )
    assert server_config(docs)["COLONIES_DRAIN_SECONDS"] == "20"
    assert server_container(docs)["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    assert server_pod(docs)["terminationGracePeriodSeconds"] == 60


# --- images ----------------------------------------------------------------------------------


def test_image_digest(helm: Helm) -> None:
    digest = "sha256:" + "0" * 64
    docs = helm.render(
        "--set",
        "image.repository=registry.example.com/colonies",
        "--set",
        f"image.digest={digest}",
        "--set",
        f"etcd.bundled.image.digest={digest}",
    )
    assert server_container(docs)["image"] == f"registry.example.com/colonies@{digest}"
    etcd = one(docs, "StatefulSet", "rel-colonies-etcd")["spec"]["template"]["spec"]
    assert etcd["containers"][0]["image"] == f"quay.io/coreos/etcd@{digest}"


# --- PostgreSQL modes --------------------------------------------------------------------------


def test_external_postgresql(helm: Helm) -> None:
    docs = helm.render(
        "--set", "postgresql.mode=external", "--set", "postgresql.external.existingSecret=db"
    )
    variables = env_of(server_container(docs))
    assert variables["COLONIES_DB_URL"]["valueFrom"]["secretKeyRef"] == {"name": "db", "key": "url"}
    assert "COLONIES_DB_PASSWORD" not in variables
    assert "COLONIES_DB_HOST" not in server_config(docs)
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "StatefulSet"] == [
        "rel-colonies-etcd"
    ]
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "NetworkPolicy"] == [
        "rel-colonies-etcd"
    ]
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Secret"] == [
        "rel-colonies-server-key"
    ]


def test_cloudnativepg(helm: Helm) -> None:
    docs = helm.render("--set", "postgresql.mode=cloudnativepg", *CNPG)
    cluster = one(docs, "Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["postgresql"]["parameters"]["max_connections"] == "100"
    assert cluster["spec"]["bootstrap"]["initdb"] == {"database": "colonies", "owner": "colonies"}
    url = env_of(server_container(docs))["COLONIES_DB_URL"]["valueFrom"]["secretKeyRef"]
    assert url == {"name": f"{cluster['metadata']['name']}-app", "key": "uri"}
    migrate = one(docs, "Job", "rel-colonies-migrate-1")["spec"]["template"]["spec"]
    assert env_of(migrate["containers"][0])["COLONIES_DB_URL"]["valueFrom"]["secretKeyRef"] == url


# --- etcd modes --------------------------------------------------------------------------------


def test_external_and_no_etcd(helm: Helm) -> None:
    docs = helm.render(
        "--set", "etcd.mode=external", "--set", "etcd.external.endpoints={http://e1:2379,e2:2379}"
    )
    assert "StatefulSet" in kinds(docs)  # PostgreSQL only
    assert all("etcd" not in d["metadata"]["name"] for d in docs)
    assert server_config(docs)["COLONIES_ETCD_ENDPOINTS"] == "http://e1:2379,e2:2379"

    docs = helm.render("--set", "etcd.mode=none", "--set", "etcd.prefix=/fleet-a")
    config = server_config(docs)
    assert config["COLONIES_ETCD_ENDPOINTS"] == ""  # the advisory lock
    assert config["COLONIES_ETCD_PREFIX"] == "/fleet-a"


def test_two_releases_get_two_prefixes(helm: Helm) -> None:
    a = server_config(helm.render(release="a", namespace="x"), "a-colonies")
    b = server_config(helm.render(release="b", namespace="x"), "b-colonies")
    assert a["COLONIES_ETCD_PREFIX"] != b["COLONIES_ETCD_PREFIX"]


def test_bundled_etcd_size(helm: Helm) -> None:
    docs = helm.render(
        "--set",
        "etcd.bundled.replicas=5",
        "--set",
        "etcd.bundled.persistence.storageClass=fast",
        "--set",
        "etcd.bundled.extraConfig.election-timeout=2000",
    )
    etcd = one(docs, "StatefulSet", "rel-colonies-etcd")
    assert etcd["spec"]["replicas"] == 5
    assert etcd["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast"
    setup = env_of(etcd["spec"]["template"]["spec"]["initContainers"][0])
    assert setup["ETCD_INITIAL_CLUSTER"]["value"].count("=http://") == 5
    assert json.loads(setup["ETCD_SETTINGS"]["value"])["election-timeout"] == 2000
    hook = one(docs, "Job", "rel-colonies-etcd-members")["spec"]["template"]["spec"]
    assert env_of(hook["containers"][0])["ETCD_REPLICAS"]["value"] == "5"
    assert server_config(docs)["COLONIES_ETCD_ENDPOINTS"].count("http://") == 5


def test_network_policies(helm: Helm) -> None:
    docs = helm.render()
    etcd = one(docs, "NetworkPolicy", "rel-colonies-etcd")["spec"]
    client, peer = etcd["ingress"]
    (client_from,) = client["from"]
    assert client_from["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "rel"
    assert client_from["podSelector"]["matchExpressions"][0]["values"] == [
        "server",
        "etcd",
        "etcd-members",
    ]
    assert peer["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "etcd"
    postgres = one(docs, "NetworkPolicy", "rel-colonies-postgresql")["spec"]
    assert postgres["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"] == [
        "server",
        "migrate",
    ]
    # The pods they let in carry those labels.
    labels = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in docs
        if d["kind"] in ("Deployment", "Job", "StatefulSet")
    }
    assert labels["rel-colonies"]["app.kubernetes.io/component"] == "server"
    assert labels["rel-colonies-migrate-1"]["app.kubernetes.io/component"] == "migrate"
    assert labels["rel-colonies-etcd-members"]["app.kubernetes.io/component"] == "etcd-members"

    assert "NetworkPolicy" not in kinds(helm.render("--set", "networkPolicy.enabled=false"))


# --- migrations -----------------------------------------------------------------------------


def test_migrations_in_each_pod_without_the_job(helm: Helm) -> None:
    docs = helm.render("--set", "migrations.job=false")
    assert not [d for d in docs if d["kind"] == "Job" and "migrate" in d["metadata"]["name"]]
    assert "initContainers" not in server_pod(docs)
    assert server_config(docs)["COLONIES_DB_MIGRATE"] == "true"


def test_a_new_migration_job_per_revision(helm: Helm) -> None:
    proc = helm.run("install", "rel", str(CHART), "-n", "colonies", "--dry-run=client")
    assert proc.returncode == 0, proc.stderr
    assert "name: rel-colonies-migrate-1\n" in proc.stdout
    assert "schema migrations: Job rel-colonies-migrate-1" in proc.stdout  # NOTES


# --- Ingress -------------------------------------------------------------------------------------


def test_ingress_defaults(helm: Helm) -> None:
    docs = helm.render("--set", "ingress.enabled=true")
    ingress = one(docs, "Ingress")
    paths = ingress["spec"]["rules"][0]["http"]["paths"]
    assert [(p["path"], p["pathType"]) for p in paths] == [
        ("/api", "Exact"),
        ("/pubsub", "Exact"),
        ("/ui", "Prefix"),
    ]
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "64m"
    assert "nginx.ingress.kubernetes.io/backend-protocol" not in annotations
    assert one(docs, "Service", "rel-colonies")["spec"]["ports"][0]["appProtocol"] == "http"


def test_ingress_with_server_tls(helm: Helm) -> None:
    tls = ["--set", "tls.enabled=true", "--set", "tls.existingSecret=crt"]
    docs = helm.render("--set", "ingress.enabled=true", *tls)
    annotations = one(docs, "Ingress")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/backend-protocol"] == "HTTPS"
    assert one(docs, "Service", "rel-colonies")["spec"]["ports"][0]["appProtocol"] == "https"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert server_container(docs)[probe]["httpGet"]["scheme"] == "HTTPS"

    docs = helm.render("--set", "ingress.enabled=true", "--set", "ingress.controller=traefik", *tls)
    service = one(docs, "Service", "rel-colonies")
    assert service["metadata"]["annotations"] == {
        "traefik.ingress.kubernetes.io/service.serversscheme": "https"
    }
    assert "annotations" not in one(docs, "Ingress")["metadata"]

    proc = helm.run(
        "install",
        "rel",
        str(CHART),
        "--dry-run=client",
        "--set",
        "ingress.enabled=true",
        "--set",
        "ingress.controller=other",
    )
    assert "WARNING: ingress.controller=other" in proc.stdout


# --- autoscaling ----------------------------------------------------------------------------


def test_autoscaling(helm: Helm) -> None:
    docs = helm.render(
        "--set",
        "autoscaling.enabled=true",
        "--set",
        "postgresql.maxConnections=300",
        "--set",
        "autoscaling.targetMemoryUtilizationPercentage=80",
    )
    assert "replicas" not in one(docs, "Deployment")["spec"]
    hpa = one(docs, "HorizontalPodAutoscaler")["spec"]
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu", "memory"]
    scale_down = hpa["behavior"]["scaleDown"]
    assert scale_down["stabilizationWindowSeconds"] >= 300
    assert scale_down["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 60}]


# --- monitoring -----------------------------------------------------------------------------


def test_monitoring_needs_the_operator_api(helm: Helm) -> None:
    args = ["--set", "metrics.serviceMonitor.enabled=true", "--set"]
    present = set(kinds(helm.render(*args, "metrics.prometheusRule.enabled=true")))
    assert not present & {"ServiceMonitor", "PrometheusRule"}
    present = set(kinds(helm.render(*args, "metrics.prometheusRule.enabled=true", *MONITORING)))
    assert {"ServiceMonitor", "PrometheusRule"} <= present


def test_dashboards(helm: Helm) -> None:
    docs = helm.render(
        "--set", "dashboards.enabled=true", "--set", "dashboards.annotations.grafana_folder=C"
    )
    found = {
        doc["metadata"]["name"]: doc
        for doc in docs
        if doc["kind"] == "ConfigMap" and "-dashboard-" in doc["metadata"]["name"]
    }
    files = sorted((CHART / "dashboards").glob("*.json"))
    assert len(found) == len(files) == 3
    for path in files:
        doc = found[f"rel-colonies-dashboard-{path.stem}"]
        assert doc["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert doc["metadata"]["annotations"] == {"grafana_folder": "C"}
        assert json.loads(doc["data"][path.name]) == json.loads(path.read_text())


def test_server_id_only(helm: Helm) -> None:
    docs = helm.render("--set", f"serverId={SERVER_ID.upper()}")
    variables = env_of(server_container(docs))
    assert variables["COLONIES_SERVER_ID"]["value"] == SERVER_ID
    assert "COLONIES_SERVER_PRVKEY" not in variables
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Secret"] == [
        "rel-colonies-postgresql"
    ]
    assert "COLONIES_SERVER_PRVKEY" not in env_of(one(docs, "Pod")["spec"]["containers"][0])


def test_existing_server_key(helm: Helm) -> None:
    docs = helm.render("--set", "serverKey.existingSecret=owner", "--set", "serverKey.secretKey=k")
    variables = env_of(server_container(docs))
    assert variables["COLONIES_SERVER_PRVKEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "owner",
        "key": "k",
    }
    assert "rel-colonies-server-key" not in [d["metadata"]["name"] for d in docs]
