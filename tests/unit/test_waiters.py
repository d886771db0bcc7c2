"""The assign waiters' bookkeeping: who holds which wake-up, and what nobody was woken for."""

from __future__ import annotations

from colonies.core import ProcessState
from colonies.core.events import ProcessEvent
from colonies.server.waiters import AssignWaiters


def event(processid: str, location: str = "") -> ProcessEvent:
    return ProcessEvent(ProcessState.WAITING, processid, "c", "t", location)


def test_unhanded_counts_start_unknown_and_become_known_after_an_empty_claim():
    waiters = AssignWaiters()
    assert not waiters.all_handed("c", "t", "")
    assert not waiters.wake_one(event("p1"))  # nobody waits: unhanded, but the count is unknown
    assert not waiters.all_handed("c", "t", "")
    waiters.found_nothing("c", "t", "")
    assert waiters.all_handed("c", "t", "")
    assert not waiters.wake_one(event("p2"))
    assert not waiters.all_handed("c", "t", "")  # one process nobody was woken for


def test_a_location_only_concerns_executors_there():
    waiters = AssignWaiters()
    waiters.found_nothing("c", "t", "lab")
    waiters.found_nothing("c", "t", "edge")
    waiters.wake_one(event("p1", "edge"))
    assert waiters.all_handed("c", "t", "lab")
    assert not waiters.all_handed("c", "t", "edge")
    waiters.wake_one(event("p2", ""))  # anywhere: concerns everyone
    assert not waiters.all_handed("c", "t", "lab")


def test_wake_all_forgets_the_counts_of_its_colony():
    waiters = AssignWaiters()
    waiters.found_nothing("c", "t", "")
    waiters.found_nothing("d", "t", "")
    waiters.wake_all("c")
    assert not waiters.all_handed("c", "t", "")
    assert waiters.all_handed("d", "t", "")
    waiters.wake_all()
    assert not waiters.all_handed("d", "t", "")


def test_taking_anothers_process_hands_it_ours():
    waiters = AssignWaiters()
    w1 = waiters.register("c", "t", "")
    w2 = waiters.register("c", "t", "")
    assert waiters.wake_one(event("p1")) and waiters.wake_one(event("p2"))
    assert (w1.woken_by.processid, w2.woken_by.processid) == ("p1", "p2")
    # w1 claims p2 (say, it sorts first): w2 now holds p1's wake-up; nothing to pass on.
    assert waiters.claimed((w1,), event("p2")) == []
    assert w2.woken_by.processid == "p1"
    assert waiters.claimed((w2,), event("p1")) == []
    assert waiters.release(w1) is None and waiters.release(w2) is None


def test_a_wake_up_for_a_process_someone_else_took_is_passed_on():
    waiters = AssignWaiters()
    waiters.found_nothing("c", "t", "")
    w1 = waiters.register("c", "t", "")
    assert waiters.wake_one(event("p1"))
    assert not waiters.wake_one(event("p2"))  # no one left to wake: unhanded
    assert not waiters.all_handed("c", "t", "")
    # w1 claims p2, the unhanded one: it passes p1's wake-up on, and the count goes back to 0.
    passed = waiters.claimed((w1,), event("p2"))
    assert [e.processid for e in passed] == ["p1"]
    assert waiters.all_handed("c", "t", "")


def test_release_gives_back_only_a_wake_up_still_held():
    waiters = AssignWaiters()
    w1 = waiters.register("c", "t", "")
    waiters.wake_one(event("p1"))
    held = waiters.release(w1)
    assert held is not None and held.processid == "p1"
    assert waiters.release(w1) is None
    assert waiters.release(None) is None


async def test_another_replicas_process_wakes_a_poll_here_only_if_still_waiting():
    import asyncio

    from colonies.server.waiters import RemoteWakes

    woken: list[str] = []
    remote = RemoteWakes(lambda e: woken.append(e.processid), delay=0.02)
    remote.schedule(event("taken"))
    remote.schedule(event("left"))
    remote.left_waiting("taken")  # its own replica's poll claimed it first
    assert len(remote) == 1
    await asyncio.sleep(0.05)
    assert woken == ["left"] and len(remote) == 0
