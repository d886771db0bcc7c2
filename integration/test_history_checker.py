"""The history checker (integration/_history.py) on made-up histories: a clean one passes, and
each kind of anomaly the drills and the soak rely on it to find is reported. No fleet needed."""

from __future__ import annotations

import pytest

from integration._history import (
    Fault,
    LedgerEvent,
    ProcessRow,
    Snapshot,
    check,
    lifecycle_problems,
    tick_pause,
)
from integration._load import Assignment, LoadRecord

T0 = 1_000_000.0
TTL = 3.0


def ledger(*events: str, at: float = T0 + 1) -> list[LedgerEvent]:
    return [LedgerEvent(e, "x0" if e in ("assigned", "closed") else "", at) for e in events]


def clean() -> tuple[LoadRecord, Snapshot]:
    """Two submissions (one acknowledged, one not), a workflow, two packs, a cron firing every
    second with checkpoints, a fault whose pause stayed within the bound."""
    record = LoadRecord()
    record.tried("submit", "tok-a")
    record.tried("submit", "tok-lost")
    record.processes["tok-a"] = "p-a"
    record.tried("workflow", "tok-w")
    record.workflows["tok-w"] = "g-w"
    for token in ("arg-1", "arg-2"):
        record.tried("pack", token)
        record.packs.add(token)
    snap = Snapshot(taken=T0 + 30, ledger_ok=True, ledger_verdict="ledger intact: 9 entries")
    rows = [
        ProcessRow("p-a", 2, "tok-a", "work", "", ()),
        ProcessRow("p-lost", 2, "tok-lost", "work", "", ()),  # its reply was lost: fine
        ProcessRow("p-w1", 2, "tok-w", "step", "g-w", ()),
        ProcessRow("p-w2", 2, "tok-w", "step", "g-w", ()),
        ProcessRow("p-g", 2, "", "gen", "g-g", ("arg-1",)),
    ]
    for row in rows:
        snap.processes[row.processid] = row
        snap.ledger[row.processid] = ledger("submitted", "assigned", "closed")
        record.assignments.append(Assignment(row.processid, 0, "x0", T0 + 1))
        record.closed.append((row.processid, "x0"))
    snap.graph_states = {"g-w": 2, "g-g": 2}
    snap.pending_args = ["arg-2"]
    snap.cron_fires = [T0 + s + 0.1 for s in range(30) if not 10 <= s < 14]  # a 4 s pause
    snap.checkpoints = list(snap.cron_fires)
    return record, snap


def run(record: LoadRecord, snap: Snapshot, faults: list[Fault] | None = None):  # type: ignore[no-untyped-def]
    if faults is None:
        faults = [Fault("replica-sigkill", "replica-0", True, T0 + 10.0, T0 + 11.0)]
    return check(record, snap, faults, ttl=TTL, started=T0)


def test_a_clean_history_passes() -> None:
    report = run(*clean())
    assert report.ok, report.anomalies
    assert report.checked["acknowledged submissions"] == 1
    assert report.faults[0].ticks_after == pytest.approx(4.1)
    assert any("queued" in w for w in report.waiting)
    assert "0 anomalies" in report.text()


def kinds(record: LoadRecord, snap: Snapshot, faults: list[Fault] | None = None) -> set[str]:
    return {a.check for a in run(record, snap, faults).anomalies}


def test_a_process_handed_to_two_executors_in_one_attempt() -> None:
    record, snap = clean()
    record.assignments.append(Assignment("p-a", 0, "x1", T0 + 2))
    assert kinds(record, snap) == {"one executor per attempt"}


def test_a_second_attempt_after_a_reclaim_is_fine() -> None:
    record, snap = clean()
    record.assignments.append(Assignment("p-a", 1, "x1", T0 + 6))
    snap.ledger["p-a"] = ledger("submitted", "assigned", "reclaimed", "assigned", "closed")
    assert kinds(record, snap) == set()


def test_closed_twice() -> None:
    record, snap = clean()
    snap.ledger["p-a"] = ledger("submitted", "assigned", "closed", "closed")
    assert kinds(record, snap) == {"lifecycle", "exactly once"}
    record, snap = clean()
    record.closed.append(("p-a", "x1"))
    assert kinds(record, snap) == {"closed once"}


def test_an_acknowledged_submission_missing_or_doubled() -> None:
    record, snap = clean()
    del snap.processes["p-a"]
    assert kinds(record, snap) == {"submissions"}
    record, snap = clean()
    snap.processes["p-a2"] = ProcessRow("p-a2", 2, "tok-a", "work", "", ())
    snap.ledger["p-a2"] = ledger("submitted", "assigned", "closed")
    assert kinds(record, snap) == {"submissions"}


def test_an_unacknowledged_submission_twice_or_one_nobody_asked_for() -> None:
    record, snap = clean()
    snap.processes["p-lost2"] = ProcessRow("p-lost2", 2, "tok-lost", "work", "", ())
    snap.ledger["p-lost2"] = ledger("submitted", "assigned", "closed")
    assert kinds(record, snap) == {"submissions"}
    record, snap = clean()
    snap.processes["p-x"] = ProcessRow("p-x", 2, "tok-x", "work", "", ())
    snap.ledger["p-x"] = ledger("submitted", "assigned", "closed")
    assert kinds(record, snap) == {"submissions"}


def test_a_workflow_missing_a_member() -> None:
    record, snap = clean()
    del snap.processes["p-w2"]
    assert kinds(record, snap) == {"workflows"}


def test_a_packed_argument_generated_twice_or_lost() -> None:
    record, snap = clean()
    snap.pending_args.append("arg-1")
    assert kinds(record, snap) == {"generator"}
    record, snap = clean()
    snap.pending_args = []
    assert kinds(record, snap) == {"generator"}


def test_a_cron_slot_fired_twice() -> None:
    record, snap = clean()
    snap.cron_fires.append(T0 + 20.6)
    assert kinds(record, snap) == {"cron"}


def test_ticks_resuming_too_late_after_a_fault_or_pausing_without_one() -> None:
    record, snap = clean()
    snap.cron_fires = [t for t in snap.cron_fires if not T0 + 14 <= t < T0 + 16]
    snap.checkpoints = list(snap.cron_fires)
    report = run(record, snap)
    assert {a.check for a in report.anomalies} == {"ticks"}
    assert report.faults[0].ticks_after == pytest.approx(6.1)
    assert kinds(record, snap, faults=[]) == {"ticks"}  # the same pause, unexplained


def test_ticks_measured_from_postgres_coming_back() -> None:
    record, snap = clean()
    restart = Fault("postgres-restart", "postgres", False, T0 + 6, T0 + 10, resume_from=T0 + 10)
    report = run(record, snap, [restart])
    assert report.ok and report.faults[0].ticks_after == pytest.approx(4.1)


def test_a_stranded_process_and_one_still_in_progress() -> None:
    record, snap = clean()
    snap.processes["p-a"] = ProcessRow("p-a", 0, "tok-a", "work", "", ())
    snap.ledger["p-a"] = ledger("submitted", at=T0 + 1)
    assert kinds(record, snap) == {"stranded"}
    snap.ledger["p-a"] = ledger("submitted", at=T0 + 28)
    report = run(record, snap)
    assert report.ok and any("p-a (work) waiting" in w for w in report.waiting)


def test_a_broken_ledger() -> None:
    record, snap = clean()
    snap.ledger_ok, snap.ledger_verdict = False, "ledger broken at entry 7: ..."
    assert kinds(record, snap) == {"ledger"}


def test_lifecycle_rules() -> None:
    assert lifecycle_problems(ledger("submitted", "assigned", "reclaimed", "assigned")) == []
    assert lifecycle_problems(ledger("submitted", "assigned", "assigned")) == [
        "assigned while running"
    ]
    assert lifecycle_problems(ledger("submitted", "closed")) == ["closed while waiting"]
    assert lifecycle_problems(ledger("assigned")) == [
        "assigned while new",
        "its history starts with assigned",
    ]


def test_tick_pause() -> None:
    evidence = [1.0, 2.0, 3.0, 8.0, 9.0]
    assert tick_pause(evidence, 3.5, 20.0) == pytest.approx(4.5)
    assert tick_pause(evidence, 3.5, 6.0) == pytest.approx(2.5)  # the rest is the next fault's
    assert tick_pause(evidence, 9.5, 20.0) is None
    assert tick_pause(evidence, 0.5, 20.0) == pytest.approx(5.0)
