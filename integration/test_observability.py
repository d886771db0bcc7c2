"""The shipped dashboards and alert rules against the real thing.

Debian's Prometheus scrapes a live two-replica fleet (etcd leadership, HAProxy in front) under a
small load; every panel query of every dashboard must parse and return data. ``promtool`` checks
the ``/metrics`` exposition and the alert rules, and runs the rules' unit tests.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from colonies.client import AsyncClient, ColoniesError
from colonies.core import Conditions, FunctionSpec
from integration._workload import COLONY, EXECUTOR_TYPE, Workload
from tests.support import free_port
from tests.support.fleet import Fleet

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
RULES = ROOT / "prometheus" / "colonies-alerts.yml"
RULE_TESTS = ROOT / "prometheus" / "colonies-alerts.test.yml"
# Grafana's built-in variables, as Grafana would expand them for a short range.
GRAFANA_VARIABLES = {"$__rate_interval": "20s", "$__interval": "2s", "$__range": "1m"}

pytestmark = pytest.mark.drill


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install Debian's prometheus (make test does)")
    return path


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expression) of every target of every panel."""
    queries = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                queries.append((dashboard["uid"], panel["title"], target["expr"]))
    return queries


def expand(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"an unexpanded variable in {expr}"
    return expr


# --- static checks ----------------------------------------------------------------------------
def test_dashboards_have_stable_uids_and_a_datasource_variable():
    assert {p.stem for p in DASHBOARDS} == {
        "colonies-fleet",
        "colonies-process-flow",
        "colonies-ha",
    }
    uids = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] == path.stem
        uids.add(dashboard["uid"])
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}"
    assert len(uids) == len(DASHBOARDS)


def test_the_chart_ships_the_same_dashboards_and_rules():
    chart = ROOT / "helm" / "colonies"
    for path in DASHBOARDS:
        assert (chart / "dashboards" / path.name).read_text() == path.read_text(), path.name
    assert (chart / "files" / RULES.name).read_text() == RULES.read_text()


def test_alert_rules_check_and_pass_their_unit_tests():
    promtool = _tool("promtool")
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=RULE_TESTS.parent,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


# --- against a live fleet ---------------------------------------------------------------------
class Prometheus:
    def __init__(self, targets: list[str], base: Path) -> None:
        self.port = free_port()
        self.base = base
        config = base / "prometheus.yml"
        config.write_text(
            json.dumps(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(RULES)],
                    "scrape_configs": [
                        {"job_name": "colonies", "static_configs": [{"targets": targets}]}
                    ],
                }
            )
        )
        log = (base / "prometheus.log").open("ab")
        self.proc = subprocess.Popen(
            [
                _tool("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={base / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()

    def api(self, path: str, **params: str) -> dict:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as exc:  # a bad query: Prometheus says why in the body
            return json.loads(exc.read())

    def query(self, expr: str) -> dict:
        return self.api("query", query=expr)

    def wait_scraping(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: see {self.base / 'prometheus.log'}")
            try:
                up = self.query("sum(up)")
                if up["data"]["result"] and float(up["data"]["result"][0]["value"][1]) == count:
                    return
            except (OSError, ValueError, KeyError):  # starting: 503 "Service Unavailable" as text
                pass
            time.sleep(0.2)
        raise RuntimeError(f"prometheus did not scrape {count} targets in {timeout} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(replicas=2, etcd_members=1, leader_ttl=3) as running:
        yield running


@pytest.fixture(scope="module")
def prometheus(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    targets = [f"127.0.0.1:{r.port}" for r in fleet.members]
    server = Prometheus(targets, tmp_path_factory.mktemp("prometheus"))
    try:
        server.wait_scraping(len(targets))
        yield server
    finally:
        server.stop()


def small_load(fleet: Fleet) -> None:
    """Processes that succeed and fail, a few nobody takes, a 1 s cron and some bad requests."""

    async def run() -> None:
        work = Workload(fleet.url, fleet.server_prvkey, executors=3)
        await work.setup()
        conditions = Conditions(colonyname=COLONY, executortype=EXECUTOR_TYPE)
        async with (
            AsyncClient(fleet.url, work.user) as user,
            AsyncClient(fleet.url, work.keys[0]) as executor,
        ):
            unassignable = Conditions(colonyname=COLONY, executortype="nobody")
            for _ in range(3):
                await user.submit(FunctionSpec(funcname="idle", conditions=unassignable))
            with pytest.raises(ColoniesError):  # a 404, for the error panels
                await user.get_process("0" * 64)
            # One failure, for the outcome label (nothing else is queued yet).
            await user.submit(FunctionSpec(funcname="fails", conditions=conditions))
            failing = await executor.assign(COLONY, 5)
            assert failing is not None and failing.spec.funcname == "fails"
            await executor.close_failed(failing.processid, ["on purpose"])
            conds = msgspec.to_builtins(conditions)
            tick = {"nodename": "tick", "funcname": "tick", "conditions": conds}
            await user.call(
                "addcronmsg",
                cron={
                    "colonyname": COLONY,
                    "name": "every-second",
                    "interval": 1,
                    "workflowspec": json.dumps({"colonyname": COLONY, "functionspecs": [tick]}),
                },
            )
        stop = asyncio.Event()
        executors = [asyncio.create_task(work.executor(k, stop)) for k in work.keys]
        try:
            await work.submitter(count=100, per_second=20)
            await asyncio.sleep(11)  # the leader's fleet gauges refresh every 10 s
        finally:
            stop.set()
            await asyncio.gather(*executors, return_exceptions=True)
        assert not work.history.failures, work.history.failures[:5]

    asyncio.run(run())


def test_every_panel_query_parses_and_returns_data(fleet: Fleet, prometheus: Prometheus):
    small_load(fleet)
    time.sleep(2)  # the last scrape after the load
    queries = panel_queries()
    assert len(queries) >= 30
    empty, failed = [], []
    for uid, title, expr in queries:
        reply = prometheus.query(expand(expr))
        if reply.get("status") != "success":
            failed.append(f"{uid} / {title}: {expr}: {reply.get('error')}")
            continue
        values = [float(sample["value"][1]) for sample in reply["data"]["result"]]
        if not any(math.isfinite(v) for v in values):
            empty.append(f"{uid} / {title}: {expr} -> {values}")
    assert not failed, "queries Prometheus rejects:\n" + "\n".join(failed)
    assert not empty, "queries with no data:\n" + "\n".join(empty)


def test_the_shipped_rules_load_and_stay_quiet_on_a_healthy_fleet(prometheus: Prometheus):
    groups = prometheus.api("rules")["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    names = {rule["name"] for rule in rules}
    assert re.findall(r"alert: (\w+)", RULES.read_text()) and names == set(
        re.findall(r"alert: (\w+)", RULES.read_text())
    )
    assert all(rule["health"] in ("ok", "unknown") for rule in rules), rules
    firing = [r["name"] for r in rules if r["state"] == "firing"]
    assert not firing, f"alerts firing on a healthy fleet: {firing}"


def test_metrics_exposition_passes_promtool(fleet: Fleet):
    """After the load, so that every labelled series is there."""
    promtool = _tool("promtool")
    for replica in fleet.members:
        with urllib.request.urlopen(replica.url + "/metrics", timeout=5) as reply:
            exposition = reply.read()
        checked = subprocess.run(
            [promtool, "check", "metrics"], input=exposition, capture_output=True, timeout=60
        )
        assert checked.returncode == 0, (checked.stdout + checked.stderr).decode()
        assert b"colonies_build_info{" in exposition
