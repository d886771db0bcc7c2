"""In-memory waiters of one replica: assign long polls and WebSocket process subscriptions.

Each new waiting process wakes exactly one matching long poll, the longest-waiting first
(docs/protocol.md §7.6); a woken poll that claims nothing passes the wake-up on. Every matching
WebSocket subscriber receives every event.

The waiters also count the waiting processes nobody was woken for ("unhanded"), by colony,
executor type and process location. While that count is known to be zero, every waiting process
a newly arriving executor could claim has been handed to a woken poll already, so the newcomer
waits instead of racing it to the row (which costs the woken poll a failed claim and a check).
The count is unknown at start-up and after events may have been missed (a reconnect, a resume);
a claim that finds nothing for an executor without resource limits makes it known (zero).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator

from colonies.core.events import ProcessEvent

_ids = itertools.count(1)


class Waiter:
    __slots__ = ("colonyname", "event", "executortype", "id", "location", "tried", "woken_by")

    def __init__(self, colonyname: str, executortype: str, location: str) -> None:
        self.id = next(_ids)
        self.colonyname = colonyname
        self.executortype = executortype
        self.location = location
        self.event = asyncio.Event()
        self.woken_by: ProcessEvent | None = None
        self.tried: frozenset[int] = frozenset()

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True


class AssignWaiters:
    def __init__(self) -> None:
        # (colony, executortype) -> waiters in arrival order
        self._queues: dict[tuple[str, str], OrderedDict[int, Waiter]] = {}
        # (colony, executortype, process location) -> unhanded waiting processes; absent: unknown
        self._unhanded: dict[tuple[str, str, str], int] = {}
        # processid -> the woken poll that holds its wake-up and has not finished its claim
        self._handed: dict[str, Waiter] = {}

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def register(self, colonyname: str, executortype: str, location: str) -> Waiter:
        waiter = Waiter(colonyname, executortype, location)
        self._queues.setdefault((colonyname, executortype), OrderedDict())[waiter.id] = waiter
        return waiter

    def unregister(self, waiter: Waiter) -> None:
        key = (waiter.colonyname, waiter.executortype)
        queue = self._queues.get(key)
        if queue is not None:
            queue.pop(waiter.id, None)
            if not queue:
                del self._queues[key]

    def wake_one(self, event: ProcessEvent, tried: frozenset[int] = frozenset()) -> bool:
        """Wake the longest-waiting matching waiter not in ``tried``; False when none."""
        queue = self._queues.get((event.colonyname, event.executortype))
        for waiter in queue.values() if queue else ():
            if waiter.id in tried or waiter.event.is_set():
                continue
            if event.location and event.location != waiter.location:
                continue
            waiter.woken_by = event
            waiter.tried = tried | {waiter.id}
            self._handed[event.processid] = waiter
            waiter.event.set()
            self.unregister(waiter)
            return True
        self._count_unhanded(event)
        return False

    def _count_unhanded(self, event: ProcessEvent) -> None:
        key = (event.colonyname, event.executortype, event.location)
        if key in self._unhanded:  # an unknown count stays unknown
            self._unhanded[key] += 1

    def all_handed(self, colonyname: str, executortype: str, location: str) -> bool:
        """True when no waiting process an executor at ``location`` could claim is unhanded."""
        counts = self._unhanded
        return counts.get((colonyname, executortype, "")) == 0 and (
            not location or counts.get((colonyname, executortype, location)) == 0
        )

    def release(self, holder: Waiter | None) -> ProcessEvent | None:
        """The wake-up ``holder`` still holds, now let go of (None when it holds none)."""
        event = holder.woken_by if holder is not None else None
        if event is None or self._handed.get(event.processid) is not holder:
            return None
        del self._handed[event.processid]
        return event

    def claimed(
        self, holders: tuple[Waiter | None, ...], process: ProcessEvent
    ) -> list[ProcessEvent]:
        """A poll holding the wake-ups of ``holders`` claimed ``process``; the wake-ups it must
        pass on. Taking a process another woken poll was sent for hands that poll one of ours
        instead: it will claim the next process anyway, so no one is woken for nothing."""
        held = [e for e in map(self.release, holders) if e is not None]
        if any(e.processid == process.processid for e in held):
            return [e for e in held if e.processid != process.processid]
        other = self._handed.pop(process.processid, None)
        if other is None:  # most likely one nobody was woken for
            key = (process.colonyname, process.executortype, process.location)
            if self._unhanded.get(key, 0) > 0:
                self._unhanded[key] -= 1
            return held
        other.woken_by = held.pop() if held else None
        if other.woken_by is not None:
            self._handed[other.woken_by.processid] = other
        return held

    def found_nothing(self, colonyname: str, executortype: str, location: str) -> None:
        """An executor without resource limits claimed nothing: no process it could claim waits
        (only ones aimed at other executors by name, which their polls find on a re-check)."""
        self._unhanded[(colonyname, executortype, "")] = 0
        self._unhanded[(colonyname, executortype, location)] = 0

    def wake_all(self, colonyname: str | None = None) -> int:
        """Wake every waiter (of one colony): after a lost event connection, or a resume.
        Events may have gone unheard or unanswered, so the unhanded counts become unknown."""
        for count in [k for k in self._unhanded if colonyname is None or k[0] == colonyname]:
            del self._unhanded[count]
        woken = 0
        for queue in list(self._queues):
            if colonyname is not None and queue[0] != colonyname:
                continue
            for waiter in list(self._queues.get(queue, {}).values()):
                waiter.event.set()
                self.unregister(waiter)
                woken += 1
        return woken


class RemoteWakes:
    """Waiting processes announced by another replica wake a poll here only after a short
    delay, and not at all if the process is taken meanwhile: each replica hears every event,
    and the submitting replica's own polls usually take the process first. Without the delay
    every replica would wake a poll for every process and all but one would claim in vain."""

    def __init__(self, wake: Callable[[ProcessEvent], object], delay: float = 0.03) -> None:
        self.wake = wake
        self.delay = delay
        self._pending: dict[str, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def schedule(self, event: ProcessEvent) -> None:
        def fire() -> None:
            self._pending.pop(event.processid, None)
            self.wake(event)

        old = self._pending.pop(event.processid, None)
        if old is not None:
            old.cancel()
        self._pending[event.processid] = asyncio.get_running_loop().call_later(self.delay, fire)

    def left_waiting(self, processid: str) -> None:
        """The process was claimed (or ended): no poll here needs waking for it."""
        handle = self._pending.pop(processid, None)
        if handle is not None:
            handle.cancel()


class Subscription:
    """One WebSocket subscription: matching events are queued for its sender task."""

    __slots__ = ("colonyname", "executortype", "processid", "queue", "state")

    def __init__(
        self, state: int, *, processid: str = "", colonyname: str = "", executortype: str = ""
    ) -> None:
        self.state = state
        self.processid = processid
        self.colonyname = colonyname
        self.executortype = executortype
        self.queue: asyncio.Queue[ProcessEvent] = asyncio.Queue()

    def matches(self, event: ProcessEvent) -> bool:
        if event.state != self.state:
            return False
        if self.processid:
            return event.processid == self.processid
        return event.colonyname == self.colonyname and (
            not self.executortype or event.executortype == self.executortype
        )


class Subscriptions:
    def __init__(self) -> None:
        self._by_process: dict[str, set[Subscription]] = {}
        self._by_colony: dict[str, set[Subscription]] = {}

    def __len__(self) -> int:
        return sum(len(s) for s in self._by_process.values()) + sum(
            len(s) for s in self._by_colony.values()
        )

    def _index(self, sub: Subscription) -> dict[str, set[Subscription]]:
        return self._by_process if sub.processid else self._by_colony

    def _key(self, sub: Subscription) -> str:
        return sub.processid or sub.colonyname

    def add(self, sub: Subscription) -> None:
        self._index(sub).setdefault(self._key(sub), set()).add(sub)

    def remove(self, sub: Subscription) -> None:
        index, key = self._index(sub), self._key(sub)
        subs = index.get(key)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del index[key]

    def _candidates(self, event: ProcessEvent) -> Iterator[Subscription]:
        yield from self._by_process.get(event.processid, ())
        yield from self._by_colony.get(event.colonyname, ())

    def publish(self, event: ProcessEvent) -> None:
        for sub in self._candidates(event):
            if sub.matches(event):
                sub.queue.put_nowait(event)


class ChannelSubscriptions:
    """Channel subscribers of this replica: each gets a wake-up per append."""

    def __init__(self) -> None:
        self._by_channel: dict[str, set[asyncio.Event]] = {}

    def add(self, channelid: str) -> asyncio.Event:
        event = asyncio.Event()
        self._by_channel.setdefault(channelid, set()).add(event)
        return event

    def remove(self, channelid: str, event: asyncio.Event) -> None:
        events = self._by_channel.get(channelid)
        if events is not None:
            events.discard(event)
            if not events:
                del self._by_channel[channelid]

    def publish(self, channelid: str) -> None:
        for event in self._by_channel.get(channelid, ()):
            event.set()
