"""What the Grafana dashboards showed around each fault of a soak: Prometheus scrapes the fleet
every second, and the panels' own queries (taken from grafana/dashboards/, Grafana's
``$__rate_interval`` as 4 s) are read back over each fault's window.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from integration._history import Fault

ROOT = Path(__file__).resolve().parent.parent
RATE_INTERVAL = "4s"  # Grafana's $__rate_interval at a 1 s scrape interval

# name: (dashboard uid, panel title, how its query is summed, the series to read)
PANELS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "replicas": ("colonies-fleet", "Replicas", "{expr}", {}),
    "leaders": ("colonies-fleet", "Leaders", "{expr}", {}),
    "term": ("colonies-ha", "Leader term", "{expr}", {}),
    "deadline ticks/s": ("colonies-ha", "Tick rate", "{expr}", {"tick": "deadlines"}),
    "503s/s": (
        "colonies-fleet",
        "RPC errors by status",
        "sum by (status) ({expr})",
        {"status": "503"},
    ),
    "pool connections": ("colonies-fleet", "Database pool by replica", "sum({expr})", {}),
    "assigned/s": ("colonies-process-flow", "Assigned", "{expr}", {}),
}


def panel_expr(uid: str, title: str) -> str:
    for path in (ROOT / "grafana" / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text())
        if dashboard["uid"] != uid:
            continue
        for panel in dashboard["panels"]:
            if panel["title"] == title:
                expr: str = panel["targets"][0]["expr"]
                return expr.replace("$__rate_interval", RATE_INTERVAL)
    raise KeyError(f"no panel {title!r} in dashboard {uid}")


@dataclass
class Series:
    before: float
    low: float
    high: float
    after: float
    low_for: float  # seconds at its lowest

    def text(self, digits: int = 0) -> str:
        def f(v: float) -> str:
            return "—" if math.isnan(v) else f"{v:.{digits}f}"

        if self.low == self.high:
            return f(self.before)
        return f"{f(self.before)} → {f(self.low)}..{f(self.high)} → {f(self.after)}"


def summarize(points: list[tuple[float, float]], start: float, end: float) -> Series:
    """``points`` (time, value) of one series around a fault starting at ``start``, ending
    (healed, recovered) by ``end``."""
    before = [v for t, v in points if t < start]
    during = [v for t, v in points if start <= t <= end] or [math.nan]
    after = [v for t, v in points if t > end]
    low, high = min(during), max(during)
    low_for = sum(1.0 for t, v in points if start <= t <= end and v == low)
    return Series(
        before[-1] if before else math.nan, low, high, after[-1] if after else math.nan, low_for
    )


def dashboard_view(prometheus: object, fault: Fault, end: float) -> dict[str, str]:
    """Each panel's course over [fault start - 5 s, ``end`` + 5 s], as text."""
    view = {}
    for name, (uid, title, summed, labels) in PANELS.items():
        reply = prometheus.api(  # type: ignore[attr-defined]
            "query_range",
            query=summed.format(expr=panel_expr(uid, title)),
            start=str(fault.start - 5),
            end=str(end + 5),
            step="1",
        )
        results = reply.get("data", {}).get("result", [])
        chosen = [r for r in results if all(r["metric"].get(k) == v for k, v in labels.items())]
        if not chosen:
            view[name] = "0" if name.endswith("/s") else "no data"  # no series: none of it
            continue
        digits = 1 if name.endswith("/s") else 0
        points = [(float(t), round(float(v), digits)) for t, v in chosen[0]["values"]]
        view[name] = summarize(points, fault.start, end).text(digits)
    return view
