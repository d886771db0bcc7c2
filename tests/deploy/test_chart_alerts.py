"""The chart's PrometheusRule is per release: every colonies_* selector carries the release's
namespace and job, and each alert carries them as labels. promtool evaluates the rules of four
releases side by side: one without a leader, one not scraped at all, two with a leader each. With
the global expressions of prometheus/colonies-alerts.yml the absent release would be masked and
the two healthy ones would fire ColoniesSeveralLeaders together.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CHART, MONITORING, ROOT, Helm, one

RULES = yaml.safe_load((CHART / "files" / "colonies-alerts.yml").read_text())
RELEASES = {"a": "ns-a", "b": "ns-b", "c": "ns-c", "d": "ns-d"}  # release → namespace


def _rule(groups: list[dict[str, Any]], alert: str) -> dict[str, Any]:
    return next(r for g in groups for r in g["rules"] if r["alert"] == alert)


def _groups(helm: Helm, release: str, namespace: str) -> list[dict[str, Any]]:
    docs = helm.render(
        "--set", "metrics.prometheusRule.enabled=true", *MONITORING,
        release=release, namespace=namespace,
    )  # fmt: skip
    groups: list[dict[str, Any]] = one(docs, "PrometheusRule")["spec"]["groups"]
    return groups


def test_the_chart_ships_the_rules_file() -> None:
    rules = ROOT / "prometheus" / "colonies-alerts.yml"
    assert (CHART / "files" / "colonies-alerts.yml").read_text() == rules.read_text()


def test_every_selector_is_narrowed_to_the_release(helm: Helm) -> None:
    groups = _groups(helm, "a", "ns-a")
    matchers = 'namespace="ns-a",job="a-colonies"'
    names = [r["alert"] for g in groups for r in g["rules"]]
    assert names == [r["alert"] for g in RULES["groups"] for r in g["rules"]]
    for group in groups:
        for rule in group["rules"]:
            metrics = re.findall(r"colonies_[a-z_]+", rule["expr"])
            assert metrics, rule["alert"]
            scoped = re.findall(r"colonies_[a-z_]+\{" + re.escape(matchers), rule["expr"])
            assert len(scoped) == len(metrics), rule["expr"]
            assert rule["labels"]["namespace"] == "ns-a"
            assert rule["labels"]["job"] == "a-colonies"
    down = _rule(groups, "ColoniesDown")["expr"]
    assert down == f"absent(colonies_build_info{{{matchers}}})"
    errors = _rule(groups, "ColoniesServerErrors")["expr"]
    assert f'colonies_rpc_requests_total{{{matchers},status=~"5.."' in errors


def test_four_releases_alert_each_for_itself(helm: Helm, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: install Debian's prometheus (make test does)")
    for release, namespace in RELEASES.items():
        groups = _groups(helm, release, namespace)
        (tmp_path / f"{release}.yml").write_text(yaml.safe_dump({"groups": groups}))

    def series(metric: str, release: str, values: str) -> dict[str, str]:
        labels = f'namespace="{RELEASES[release]}",job="{release}-colonies",instance="{release}-0"'
        return {"series": f"{metric}{{{labels}}}", "values": values}

    def fired(alert: str, release: str) -> dict[str, Any]:
        rule = _rule(RULES["groups"], alert)
        labels = {**rule["labels"], "namespace": RELEASES[release], "job": f"{release}-colonies"}
        return {"exp_labels": labels, "exp_annotations": rule["annotations"]}

    test = {
        "rule_files": [f"{release}.yml" for release in RELEASES],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": [
                    # a: scraped, no leader; b: nothing scraped; c and d: one leader each.
                    series("colonies_build_info", "a", "1x20"),
                    series("colonies_leader", "a", "0x20"),
                    series("colonies_build_info", "c", "1x20"),
                    series("colonies_leader", "c", "1x20"),
                    series("colonies_build_info", "d", "1x20"),
                    series("colonies_leader", "d", "1x20"),
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "4m",
                        "alertname": "ColoniesDown",
                        "exp_alerts": [fired("ColoniesDown", "b")],
                    },
                    {
                        "eval_time": "4m",
                        "alertname": "ColoniesNoLeader",
                        "exp_alerts": [fired("ColoniesNoLeader", "a")],
                    },
                    {"eval_time": "4m", "alertname": "ColoniesSeveralLeaders", "exp_alerts": []},
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    proc = subprocess.run(
        [promtool, "test", "rules", "test.yml"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # The same series against the global rules: b's absence is masked, c and d fire together.
    shutil.copy(ROOT / "prometheus" / "colonies-alerts.yml", tmp_path / "global.yml")
    test["rule_files"] = ["global.yml"]
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    proc = subprocess.run(
        [promtool, "test", "rules", "test.yml"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "ColoniesDown" in proc.stdout + proc.stderr
