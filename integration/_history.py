"""The history checker: a recorded workload (integration/_load.py) and the faults injected,
held against the database after the run.

What must hold, whatever the faults:

- every acknowledged submission (process, workflow, generator pack) exists exactly once and
  finished exactly once, or is still waiting with a reason; an unacknowledged one exists at most
  once; nothing exists that no client asked for;
- no process ran on two executors in one attempt, none was closed twice;
- no cron slot fired twice;
- the leader's ticks resumed within TTL + 2 s after each fault (after PostgreSQL came back, for
  a restart of PostgreSQL), and never paused that long without one;
- the ledger's hash chain verifies (``colonies ledger verify``).

:func:`snapshot` reads the database; :func:`check` is pure, so tests can feed it histories
with a known anomaly and see it reported.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import statistics
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from integration._load import COLONY, GENERATOR_TRIGGER, MAX_EXEC_TIME, LoadRecord

# Tick evidence arrives about every second while a leader ticks (a cron fire, a ledger
# checkpoint); the bound on a pause is the TTL plus this much.
TICK_SLACK = 2.0


@dataclass(frozen=True, slots=True)
class ProcessRow:
    processid: str
    state: int  # 0 waiting, 1 running, 2 success, 3 failed
    label: str
    funcname: str
    graphid: str
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    event: str  # submitted, assigned, reclaimed, closed, failed, cancelled, removed
    actor: str
    at: float


@dataclass
class Snapshot:
    """What the database holds after the run (the colony's part, and the ledger)."""

    taken: float
    processes: dict[str, ProcessRow] = field(default_factory=dict)
    ledger: dict[str, list[LedgerEvent]] = field(default_factory=dict)  # by process
    graph_states: dict[str, int] = field(default_factory=dict)
    cron_fires: list[float] = field(default_factory=list)  # each cron graph's creation
    checkpoints: list[float] = field(default_factory=list)  # each ledger checkpoint's time
    pending_args: list[str] = field(default_factory=list)  # packed, not yet generated
    ledger_ok: bool = False
    ledger_verdict: str = ""


@dataclass
class Fault:
    """One injected fault, as the scheduler (integration/_faults.py) recorded it."""

    kind: str
    target: str
    was_leader: bool
    start: float
    healed: float = 0.0
    # Ticks are due again from here: the start, or PostgreSQL's return for its restart.
    resume_from: float = 0.0
    leader_after: float | None = None  # seconds from the start until a leader ticked again
    ticks_after: float | None = None  # filled in by check(): the longest pause it caused
    requests_after: float | None = None  # filled in by check(): first success after resume_from
    note: str = ""
    # What the Grafana panels showed over it (integration/_dashboards.py), when Prometheus ran.
    dashboards: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Anomaly:
    check: str
    detail: str


@dataclass
class Report:
    title: str
    ttl: float
    seconds: float
    faults: list[Fault]
    operations: dict[str, dict[str, int]]  # kind -> {"ok": n, "failed": m}
    checked: dict[str, int]  # what was checked, how many
    waiting: list[str]  # unfinished work, each with its reason
    anomalies: list[Anomaly]
    ledger: str

    @property
    def ok(self) -> bool:
        return not self.anomalies

    def text(self) -> str:
        lines = [f"# {self.title}", ""]
        lines.append(
            f"{self.seconds:.0f} s, leader TTL {self.ttl:g} s; {len(self.faults)} faults, "
            f"{sum(n['ok'] + n['failed'] for n in self.operations.values())} client "
            f"operations, {len(self.anomalies)} anomalies"
        )
        lines += ["", "## Faults", ""]
        lines.append(
            "| # | at (s) | fault | target | held (s) | leader (s) | ticks (s) | requests (s) |"
        )
        lines.append("|---|---|---|---|---|---|---|---|")
        origin = min((f.start for f in self.faults), default=0.0)
        for i, f in enumerate(self.faults, 1):
            target = f.target + (" (leader)" if f.was_leader else "")
            lines.append(
                f"| {i} | {f.start - origin:.1f} | {f.kind} | {target} | "
                f"{max(f.healed - f.start, 0):.1f} | {_seconds(f.leader_after)} | "
                f"{_seconds(f.ticks_after)} | {_seconds(f.requests_after)} |"
            )
        lines += [
            "",
            "leader: until a replica reported itself leader again; ticks: the longest pause of "
            "the leader's work it caused; requests: until a submission started after the fault "
            "succeeded. Ticks and requests count from the fault, or from PostgreSQL's return "
            "for its restart or failover.",
        ]
        lines += [
            "",
            "## By kind",
            "",
            "Seconds, median and largest: until a leader again (for faults that took it out), "
            "the longest pause of the ticks, until requests succeeded.",
            "",
            "| fault | count | leader | ticks | requests |",
            "|---|---|---|---|---|",
        ]
        kinds: dict[str, list[Fault]] = collections.defaultdict(list)
        for f in self.faults:
            kinds[f.kind + (" (leader)" if f.was_leader else "")].append(f)
        for kind, group in sorted(kinds.items()):
            lines.append(
                f"| {kind} | {len(group)} | {_spread(f.leader_after for f in group)} | "
                f"{_spread(f.ticks_after for f in group)} | "
                f"{_spread(f.requests_after for f in group)} |"
            )
        panels = sorted({name for f in self.faults for name in f.dashboards}, key=_panel_order)
        if panels:
            lines += [
                "",
                "## What the dashboards showed",
                "",
                "Each panel before → its lowest..highest during the fault and its recovery → "
                "after (Prometheus scraping every second; rates over 4 s).",
                "",
                "| # | fault | " + " | ".join(panels) + " |",
                "|---|---|" + "---|" * len(panels),
            ]
            for i, f in enumerate(self.faults, 1):
                cells = " | ".join(f.dashboards.get(name, "") for name in panels)
                lines.append(f"| {i} | {f.kind} | {cells} |")
        lines += ["", "## Operations", ""]
        for kind, counts in sorted(self.operations.items()):
            lines.append(f"- {kind}: {counts['ok']} ok, {counts['failed']} failed")
        lines += ["", "## Checked", ""]
        lines += [f"- {what}: {count}" for what, count in self.checked.items()]
        lines.append(f"- ledger: {self.ledger}")
        lines += ["", f"## Still waiting ({len(self.waiting)})", ""]
        lines += [f"- {w}" for w in self.waiting[:50]]
        lines += ["", f"## Anomalies ({len(self.anomalies)})", ""]
        lines += [f"- {a.check}: {a.detail}" for a in self.anomalies[:200]]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        """The report as text (``path``) and as JSON beside it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text())
        data = asdict(self)
        data["ok"] = self.ok
        path.with_suffix(".json").write_text(json.dumps(data, indent=2))


def _panel_order(name: str) -> int:
    from integration._dashboards import PANELS

    return list(PANELS).index(name) if name in PANELS else len(PANELS)


def _spread(values: Iterable[float | None]) -> str:
    known = sorted(v for v in values if v is not None)
    if not known:
        return "—"
    return f"{statistics.median(known):.1f} / {known[-1]:.1f}"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# --------------------------------------------------------------------------------------------
# Reading the database


async def snapshot(dsn: str) -> Snapshot:
    """The colony's processes, graphs and ledger, cron fires and checkpoints, packed arguments
    not yet generated, and ``colonies ledger verify``'s verdict."""
    import time

    conn = await asyncpg.connect(dsn)
    try:
        snap = Snapshot(taken=time.time())
        for r in await conn.fetch(
            "SELECT processid, state, label, funcname, processgraphid, spec->'args' AS args "
            "FROM processes WHERE colonyname = $1",
            COLONY,
        ):
            args = json.loads(r["args"]) if r["args"] else []
            snap.processes[r["processid"]] = ProcessRow(
                r["processid"], r["state"], r["label"], r["funcname"], r["processgraphid"],
                tuple(str(a) for a in args or ()),
            )  # fmt: skip
        for r in await conn.fetch(
            "SELECT objectid, event, actor, extract(epoch FROM ts)::float8 AS at FROM ledger "
            "WHERE kind = 'process' AND colonyname = $1 ORDER BY seq",
            COLONY,
        ):
            snap.ledger.setdefault(r["objectid"], []).append(
                LedgerEvent(r["event"], r["actor"], r["at"])
            )
        for r in await conn.fetch(
            "SELECT processgraphid, state FROM processgraphs WHERE colonyname = $1", COLONY
        ):
            snap.graph_states[r["processgraphid"]] = r["state"]
        snap.cron_fires = [
            r["at"]
            for r in await conn.fetch(
                "SELECT extract(epoch FROM g.submissiontime)::float8 AS at FROM processgraphs g "
                "WHERE g.colonyname = $1 AND EXISTS (SELECT 1 FROM processes p WHERE "
                "p.processgraphid = g.processgraphid AND p.funcname = 'cron') ORDER BY 1",
                COLONY,
            )
        ]
        snap.checkpoints = [
            r["at"]
            for r in await conn.fetch(
                "SELECT extract(epoch FROM ts)::float8 AS at FROM ledger_checkpoints ORDER BY 1"
            )
        ]
        snap.pending_args = [r["arg"] for r in await conn.fetch("SELECT arg FROM generator_args")]
    finally:
        await conn.close()
    snap.ledger_ok, snap.ledger_verdict = await asyncio.to_thread(verify_ledger, dsn)
    return snap


def verify_ledger(dsn: str) -> tuple[bool, str]:
    """``colonies ledger verify`` on the database: whether it holds, and what it said."""
    verdict = subprocess.run(
        [sys.executable, "-m", "colonies.cli.main", "ledger", "verify", "--db-url", dsn],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return verdict.returncode == 0, (verdict.stdout + verdict.stderr).strip()


# --------------------------------------------------------------------------------------------
# The checks


def check(
    record: LoadRecord,
    snap: Snapshot,
    faults: list[Fault],
    *,
    ttl: float,
    started: float,
    title: str = "history check",
) -> Report:
    anomalies: list[Anomaly] = []
    waiting: list[str] = []
    checked: dict[str, int] = {}

    def anomaly(check: str, detail: str) -> None:
        anomalies.append(Anomaly(check, detail))

    by_label: dict[str, list[ProcessRow]] = collections.defaultdict(list)
    for p in snap.processes.values():
        if p.label:
            by_label[p.label].append(p)

    # Every process of the colony: its lifecycle in the ledger and the executors' records.
    stall_after = MAX_EXEC_TIME + ttl + 10  # no change for this long: stranded, not waiting
    for p in snap.processes.values():
        events = snap.ledger.get(p.processid, [])
        for problem in lifecycle_problems(events):
            anomaly("lifecycle", f"process {p.processid} ({p.funcname}): {problem}")
        closes = sum(e.event == "closed" for e in events)
        if p.state == 2 and closes != 1:
            anomaly("exactly once", f"process {p.processid} succeeded with {closes} closes")
        if p.state in (0, 1):
            last = events[-1] if events else None
            idle = snap.taken - last.at if last else float("inf")
            reason = (
                f"process {p.processid} ({p.funcname}) {'waiting' if p.state == 0 else 'running'}"
                f", its last change ({last.event if last else 'none'}) {idle:.1f} s before the "
                "snapshot"
            )
            if p.state == 1:
                reason += f": reclaimed once past its {MAX_EXEC_TIME} s deadline"
            if idle > stall_after:  # nothing moved it for longer than any fault explains
                anomaly("stranded", reason)
            else:
                waiting.append(reason)
        elif p.state != 2:
            anomaly("finished", f"process {p.processid} ended in state {p.state}")
    checked["processes (lifecycle in the ledger)"] = len(snap.processes)

    attempts: dict[tuple[str, int], list[str]] = collections.defaultdict(list)
    for a in record.assignments:
        attempts[(a.processid, a.attempt)].append(a.executor)
    for (processid, attempt), executors in attempts.items():
        if len(executors) > 1:
            anomaly(
                "one executor per attempt",
                f"process {processid} attempt {attempt} handed to {', '.join(executors)}",
            )
    checked["assignments (one executor per attempt)"] = len(record.assignments)
    closed = collections.Counter(pid for pid, _ in record.closed)
    for processid, n in closed.items():
        if n > 1:
            anomaly("closed once", f"process {processid} closed {n} times by executors")

    # Submissions: acknowledged ones exactly once, others at most once, nothing unasked for.
    submitted = record.attempted.get("submit", set())
    for token, processid in record.processes.items():
        found = by_label.get(token, [])
        if [p.processid for p in found] != [processid]:
            anomaly("submissions", f"acknowledged {processid} ({token}): found {len(found)}")
    for token in submitted - record.processes.keys():
        if len(by_label.get(token, [])) > 1:
            anomaly("submissions", f"unacknowledged {token} exists {len(by_label[token])} times")
    for p in snap.processes.values():
        if p.funcname == "work" and p.label not in submitted:
            anomaly("submissions", f"process {p.processid} was never asked for")
    checked["acknowledged submissions"] = len(record.processes)

    workflows = record.attempted.get("workflow", set())
    for token, graphid in record.workflows.items():
        members = by_label.get(token, [])
        if len(members) != 2 or {m.graphid for m in members} != {graphid}:
            anomaly("workflows", f"acknowledged {graphid} ({token}): {len(members)} members")
        elif snap.graph_states.get(graphid) != 2:
            waiting.append(f"workflow {graphid} in state {snap.graph_states.get(graphid)}")
    for token in workflows - record.workflows.keys():
        graphs = {m.graphid for m in by_label.get(token, [])}
        if len(graphs) > 1:
            anomaly("workflows", f"unacknowledged {token} exists {len(graphs)} times")
    for p in snap.processes.values():
        if p.funcname == "step" and p.label not in workflows:
            anomaly("workflows", f"workflow process {p.processid} was never asked for")
    checked["acknowledged workflows"] = len(record.workflows)

    # Generator packs: each packed argument in exactly one generated workflow, or still queued.
    generated = collections.Counter(
        arg for p in snap.processes.values() if p.funcname == "gen" for arg in p.args
    )
    queued = collections.Counter(snap.pending_args)
    packed = record.attempted.get("pack", set())
    for token in packed:
        times = generated[token] + queued[token]
        if token in record.packs and times != 1:
            anomaly("generator", f"acknowledged argument {token} generated/queued {times} times")
        elif times > 1:
            anomaly("generator", f"unacknowledged argument {token} generated {times} times")
    for arg in set(generated) | set(queued):
        if arg not in packed:
            anomaly("generator", f"argument {arg} was never packed")
    if queued:
        waiting.append(
            f"{sum(queued.values())} packed arguments queued: fewer than the trigger "
            f"({GENERATOR_TRIGGER}) and their timeout not yet passed at the last tick"
        )
    checked["acknowledged generator arguments"] = len(record.packs)

    # Cron: one fire per slot (the cron fires every second: one per second at most).
    slots = collections.Counter(int(t) for t in snap.cron_fires)
    for slot, n in sorted(slots.items()):
        if n > 1:
            anomaly("cron", f"slot {slot} fired {n} times")
    checked["cron fires (one per slot)"] = len(snap.cron_fires)

    # Ticks: the leader's work resumed within TTL + 2 s after each fault.
    evidence = sorted(t for t in (*snap.cron_fires, *snap.checkpoints) if t >= started)
    bound = ttl + TICK_SLACK
    explained: list[tuple[float, float]] = []
    for i, f in enumerate(faults):
        following = faults[i + 1].start if i + 1 < len(faults) else snap.taken
        reference = f.resume_from or f.start
        window_end = min(max(f.healed, reference) + bound + 5, following)
        delay = tick_pause(evidence, reference, window_end)
        f.ticks_after = delay
        explained.append((f.start, window_end))
        if delay is None:
            anomaly("ticks", f"{f.kind} of {f.target}: no tick evidence after it")
        elif delay > bound:
            anomaly("ticks", f"{f.kind} of {f.target}: ticks resumed after {delay:.1f} s")
        first_ok = record.first_success_after(reference)
        f.requests_after = first_ok - reference if first_ok != float("inf") else None
    for a, b in itertools.pairwise(evidence):
        if b - a > bound and not any(s <= b and a <= e for s, e in explained):
            anomaly("ticks", f"a pause of {b - a:.1f} s without a fault ({a:.0f}-{b:.0f})")
    checked["faults (ticks resumed within TTL + 2 s)"] = len(faults)

    if not snap.ledger_ok:
        anomaly("ledger", snap.ledger_verdict)

    operations: dict[str, dict[str, int]] = {}
    for op in record.ops:
        counts = operations.setdefault(op.kind, {"ok": 0, "failed": 0})
        counts["ok" if op.ok else "failed"] += 1
    return Report(
        title=title,
        ttl=ttl,
        seconds=snap.taken - started,
        faults=faults,
        operations=operations,
        checked=checked,
        waiting=waiting,
        anomalies=anomalies,
        ledger=snap.ledger_verdict,
    )


def lifecycle_problems(events: list[LedgerEvent]) -> list[str]:
    """What is wrong with one process's recorded state changes (oldest first): an assignment
    while assigned, a close or reclaim of a process not running, anything after its end."""
    problems = []
    state = "new"
    for e in events:
        if state in ("closed", "failed", "cancelled") and e.event != "removed":
            problems.append(f"{e.event} after it {state}")
            continue
        if e.event == "submitted":
            if state != "new":
                problems.append("submitted twice")
            state = "waiting"
        elif e.event == "assigned":
            if state != "waiting":
                problems.append(f"assigned while {state}")
            state = "running"
        elif e.event == "reclaimed":
            if state != "running":
                problems.append(f"reclaimed while {state}")
            state = "waiting"
        elif e.event == "closed":
            if state != "running":
                problems.append(f"closed while {state}")
            state = "closed"
        elif e.event in ("failed", "cancelled"):
            state = e.event
    if events and events[0].event != "submitted":
        problems.append(f"its history starts with {events[0].event}")
    return problems


def tick_pause(evidence: list[float], reference: float, until: float) -> float | None:
    """The longest wait for tick evidence between ``reference`` and ``until`` (a pause that
    goes on past ``until`` counts up to it: the next fault's own). None when no evidence came
    after ``reference`` at all."""
    longest = 0.0
    previous = reference
    for t in evidence:
        if t <= reference:
            continue
        longest = max(longest, min(t, until) - previous)
        if t >= until:
            return longest
        previous = t
    return longest if previous > reference else None


def summary(report: Report) -> dict[str, Any]:
    """The counts a closing note gives."""
    return {
        "faults": len(report.faults),
        "operations": sum(n["ok"] + n["failed"] for n in report.operations.values()),
        "anomalies": len(report.anomalies),
    }
