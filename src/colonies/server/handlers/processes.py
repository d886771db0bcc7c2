"""Processes: submit, assign (long poll), close, fail, output, reads, cancel, remove (§6.6), and
the subscriptions to their state changes (§6.18)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from colonies.core import ExecutorState, Process, ProcessState
from colonies.core.events import ProcessEvent
from colonies.core.resources import ResourceError, parse_cpu, parse_mem
from colonies.core.submission import SubmissionError, new_process
from colonies.crypto import new_random_id
from colonies.rpc import RpcError
from colonies.rpc.messages import (
    AssignProcessesMsg,
    AssignProcessMsg,
    CloseAndAssignMsg,
    CloseFailedMsg,
    CloseSuccessfulMsg,
    ColonyStateMsg,
    GetProcessesMsg,
    GetProcessHistMsg,
    ProcessIdMsg,
    SetOutputMsg,
    SubmitFuncSpecMsg,
    SubscribeProcessesMsg,
    SubscribeProcessMsg,
)
from colonies.server.context import Context
from colonies.server.handlers._common import STATES, check_count, check_remove_all_state, found
from colonies.server.registry import Registry, Role
from colonies.server.replay import Nonce, unused
from colonies.server.scopes import (
    by_colonyname,
    closing_scope,
    process_scope,
    submitted_spec_colony,
)
from colonies.server.waiters import Subscription, Waiter
from colonies.store.processes import Claimer

routes = Registry()

SUBMIT = "Failed to submit function spec"
# Seconds before an executor that deferred its first claim checks the database itself.
DEFERRED_RECHECK = 1.0
ASSIGN = "Failed to assign process"


def initiator_name(ctx: Context, action: str) -> str:
    access = ctx.access
    assert access is not None
    if access.executor_name is not None:
        return access.executor_name
    if access.user_name is not None:
        return access.user_name
    raise RpcError(400, "Could not derive InitiatorName")


@routes.handles(
    "submitfuncspecmsg",
    SubmitFuncSpecMsg,
    Role.MEMBER,
    action=SUBMIT,
    scope=submitted_spec_colony,
)
async def submit(ctx: Context, msg: SubmitFuncSpecMsg, nonce: Nonce | None) -> Process:
    assert msg.spec is not None
    spec = msg.spec  # free-form values normalised when decoded (core/wire.py)
    try:
        new = new_process(
            spec,
            processid=new_random_id(),
            initiatorid=ctx.caller,
            initiatorname=initiator_name(ctx, SUBMIT),
            now=ctx.now(),
        )
    except SubmissionError as exc:
        raise RpcError(400, f"{SUBMIT}, {exc}") from None
    process = await ctx.store.submissions.submit(new, nonce)
    ctx.state.metrics.processes_submitted.inc()
    return process


def _assigned(ctx: Context, process: Process) -> Process:
    metrics = ctx.state.metrics
    ctx.state.assigned.remember(process)
    metrics.processes_assigned.inc()
    metrics.process_wait.observe(
        max((process.starttime - process.submissiontime).total_seconds(), 0)
    )
    return process


def _claimed_event(process: Process, executortype: str) -> ProcessEvent:
    """The routing keys of a claimed process, as its waiting event carried them."""
    conditions = process.spec.conditions
    return ProcessEvent(
        ProcessState.WAITING,
        process.processid,
        conditions.colonyname,
        executortype,
        conditions.locationname.lower(),
    )


def _available(text: str, parse: Any, action: str) -> int:
    if not text:
        return -1  # not reported: unlimited
    try:
        return int(parse(text))
    except ResourceError as exc:
        raise RpcError(400, f"{action}, {exc}") from None


def _claimer(
    ctx: Context, colonyname: str, availablecpu: str, availablemem: str, action: str
) -> Claimer:
    """The calling executor as a claim sees it: from its registration, not from the request.
    A member that is no approved executor gets upstream's 500 on assignprocessmsg, and a 400
    on the fast path's messages, which have no upstream answer to keep."""
    access = ctx.access
    assert access is not None
    if access.executor_state != ExecutorState.APPROVED or access.executor_name is None:
        if action == ASSIGN:
            raise RpcError(500, f"{action}, executor not found")
        raise RpcError(400, f"{action}, the caller is not an approved executor of the colony")
    return Claimer(
        colonyname,
        access.executor_type or "",
        access.executor_name,
        (access.executor_location or "").lower(),
        ctx.caller,
        _available(availablecpu, parse_cpu, action),
        _available(availablemem, parse_mem, action),
    )


@routes.handles(
    "assignprocessmsg",
    AssignProcessMsg,
    Role.MEMBER,
    action=ASSIGN,
    scope=by_colonyname,
)
async def assign(ctx: Context, msg: AssignProcessMsg, nonce: Nonce | None) -> Process:
    if msg.timeout == 0:
        raise RpcError(400, "Invalid timeout value, timeout cannot be zero")
    claimer = _claimer(ctx, msg.colonyname, msg.availablecpu, msg.availablemem, ASSIGN)
    return (await _poll(ctx, claimer, 1, msg.timeout, nonce))[0]


async def _poll(
    ctx: Context, claimer: Claimer, count: int, timeout: int, nonce: Nonce | None
) -> list[Process]:
    """Claim up to ``count`` processes for ``claimer``, waiting up to ``timeout`` seconds for
    one (< 0: one attempt) as assignprocessmsg does (docs/protocol.md §7.5); at least one."""
    access = ctx.access
    assert access is not None
    colonyname, executortype = claimer.colonyname, claimer.executortype
    location, cpu, mem = claimer.location_lc, claimer.available_cpu, claimer.available_mem
    claims = ctx.store.claims
    waiters = ctx.state.waiters
    recheck = ctx.state.assign_recheck_interval
    wait = timeout if ctx.max_wait is None else min(timeout, ctx.max_wait)
    deadline = time.monotonic() + wait

    async def claim() -> tuple[Process, ...]:
        if count > 1:  # the request's nonce is used by its first claim's statement
            return await ctx.store.handovers.claim_up_to(claimer, count, ctx.now(), unused(nonce))
        process = await claims.claim(
            colonyname,
            executortype,
            claimer.executorname,
            location,
            cpu,
            mem,
            ctx.caller,
            ctx.now(),
            unused(nonce),  # the first claim's statement uses the request's nonce
        )
        return () if process is None else (process,)

    paused = access.paused
    if timeout < 0:
        if paused:
            raise RpcError(503, "No processes available: colony assignments are paused")
        taken = await claim()
        if not taken:
            raise RpcError(404, "No process available for assignment")
        _handed_out(ctx, taken, ())
        return [_assigned(ctx, p) for p in taken]

    # An executor without resource limits need not claim at once when every process it could
    # take has been handed to a woken poll already (server/waiters.py); it waits briefly instead.
    unlimited = cpu < 0 and mem < 0
    defer_claim = unlimited and waiters.all_handed(colonyname, executortype, location)
    if paused or defer_claim:  # no claim yet: the nonce is used before waiting
        await ctx.store.nonces.use(nonce)
    ctx.state.metrics.assign_waiting.inc()
    woken: Waiter | None = None  # the previous wait's waiter (its wake-up, if any, is ours)
    waiter: Waiter | None = None
    try:
        tried: frozenset[int] = frozenset()
        while True:
            # A stopping replica answers by the end of its drain: poll again elsewhere.
            if ctx.state.draining and time.monotonic() >= ctx.state.drain_deadline:
                raise RpcError(404, "No process available for assignment")
            deadline = min(deadline, ctx.state.drain_deadline)
            # Register before trying, so a process submitted during the claim still wakes us.
            waiter = waiters.register(colonyname, executortype, location)
            tried_now = tried | {waiter.id}
            try:
                if paused:  # wait for a resume (it wakes every waiter of the colony)
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise RpcError(408, "Assignment timeout: colony assignments are paused")
                    await waiter.wait(min(remaining, recheck))
                    waiters.release(waiter)  # a wake-up while paused: the resume wakes everyone
                    paused = await ctx.store.colonies.is_paused(colonyname)
                    continue
                if not defer_claim:
                    taken = await claim()
                    if taken:
                        # Wake-ups for other processes are passed on to the next waiter.
                        for passed in _handed_out(ctx, taken, (woken, waiter)):
                            waiters.wake_one(passed, tried_now | waiter.tried)
                        return [_assigned(ctx, p) for p in taken]
                    if unlimited:
                        waiters.found_nothing(colonyname, executortype, location)
                    event = waiters.release(woken)
                    if event is not None and await ctx.store.processes.is_waiting(event.processid):
                        waiters.wake_one(event, tried_now)  # it did not fit us; maybe another
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RpcError(404, "No process available for assignment")
                # A slow, jittered safety re-check: a lost notification delays, never strands.
                # After a deferred claim, a quick one (a process aimed at us by name).
                pause = DEFERRED_RECHECK if defer_claim else recheck * random.uniform(0.8, 1.2)
                defer_claim = False
                await waiter.wait(min(remaining, pause))
            finally:
                waiters.unregister(waiter)
            woken, tried = waiter, waiter.tried
    finally:
        # Gone (timed out, cancelled, failed) while holding a wake-up: pass it on.
        for holder in (woken, waiter):
            event = waiters.release(holder)
            if event is not None:
                waiters.wake_one(event)
        ctx.state.metrics.assign_waiting.dec()


def _handed_out(
    ctx: Context, taken: tuple[Process, ...], holders: tuple[Waiter | None, ...]
) -> list[ProcessEvent]:
    """Tell the waiters which processes a claim took (the first with the wake-ups the claiming
    poll holds); the wake-ups to pass on to other polls."""
    waiters = ctx.state.waiters
    passed: list[ProcessEvent] = []
    for process in taken:
        executortype = process.spec.conditions.executortype
        passed += waiters.claimed(holders, _claimed_event(process, executortype))
        holders = ()
    return passed


async def _closing_check(ctx: Context, processid: str, action: str) -> None:
    """Why a guarded close did nothing: gone (404), reassigned (403) or not running (400)."""
    brief = await ctx.store.processes.brief(processid)
    if brief is None:
        raise RpcError(404, f"Process with id {processid} not found")
    if brief.assignedexecutorid != ctx.caller:
        raise RpcError(403, "Access denied, not assigned to this process")
    raise RpcError(400, f"{action}, process is not running")


@routes.handles(
    "closesuccessfulmsg",
    CloseSuccessfulMsg,
    Role.ASSIGNED_EXECUTOR,
    action="Failed to close process as successful",
    scope=closing_scope,
)
async def close_successful(ctx: Context, msg: CloseSuccessfulMsg, nonce: Nonce | None) -> None:
    closed = await ctx.store.closes.close_successful(
        msg.processid,
        ctx.caller,
        msg.out,
        ctx.now(),
        ctx.target.processgraphid,
        nonce,
    )
    if closed is None:
        await _closing_check(ctx, msg.processid, "Failed to close process as successful")
        return
    ctx.state.metrics.observe_closed("successful", closed.ran, closed.funcname)


@routes.handles(
    "closefailedmsg",
    CloseFailedMsg,
    Role.ASSIGNED_EXECUTOR,
    action="Failed to close process as failed",
    scope=closing_scope,
)
async def close_failed(ctx: Context, msg: CloseFailedMsg) -> None:
    closed = await ctx.store.closes.close_failed(
        msg.processid, ctx.caller, msg.errors, ctx.now(), ctx.target.processgraphid
    )
    if closed is None:
        await _closing_check(ctx, msg.processid, "Failed to close process as failed")
        return
    ctx.state.metrics.observe_closed("failed", closed.ran, closed.funcname)


# --- the executor fast path (a project addition, docs/protocol.md §7.21) -----------------------
CLOSE_AND_ASSIGN = "Failed to close and assign"
ASSIGN_MANY = "Failed to assign processes"
# The most processes one request claims.
MAX_CLAIM = 100
# What getserverinfomsg advertises (ServerInfo.features), for clients to use the fast path.
FAST_PATH_FEATURES = ["closeandassignmsg", "assignprocessesmsg"]


def _claim_count(count: int, minimum: int, action: str) -> int:
    if not minimum <= count <= MAX_CLAIM:
        raise RpcError(400, f"{action}, count must be from {minimum} to {MAX_CLAIM}, got {count}")
    return count


@routes.handles(
    "closeandassignmsg",
    CloseAndAssignMsg,
    Role.ASSIGNED_EXECUTOR,
    action=CLOSE_AND_ASSIGN,
    scope=closing_scope,
)
async def close_and_assign(
    ctx: Context, msg: CloseAndAssignMsg, nonce: Nonce | None
) -> list[Process]:
    """Close the caller's process and claim up to ``count`` more in one statement; when none
    could be claimed and ``timeout`` > 0, wait for one as assignprocessmsg does. The reply lists
    the processes claimed (none: the close is done all the same)."""
    count = _claim_count(msg.count, 0, CLOSE_AND_ASSIGN)
    brief = ctx.target
    claimer = _claimer(ctx, brief.colonyname, msg.availablecpu, msg.availablemem, CLOSE_AND_ASSIGN)
    access = ctx.access
    assert access is not None
    paused = access.paused  # then the process is closed, and nothing claimed
    unlimited = claimer.available_cpu < 0 and claimer.available_mem < 0
    # As a newly arriving poll (server/waiters.py): when every process this executor could take
    # has been handed to a woken poll already, claiming now would only race that poll.
    handed = unlimited and ctx.state.waiters.all_handed(
        claimer.colonyname, claimer.executortype, claimer.location_lc
    )
    handover = await ctx.store.handovers.close_and_claim(
        msg.processid,
        claimer,
        0 if paused or handed else count,
        successful=msg.successful,
        output=msg.out if msg.successful else [],  # normalised when decoded (core/wire.py)
        errors=msg.errors,
        now=ctx.now(),
        graphid=brief.processgraphid,
        nonce=nonce,
    )
    if not handover.closed:
        await _closing_check(ctx, msg.processid, CLOSE_AND_ASSIGN)
    outcome = "successful" if msg.successful else "failed"
    ctx.state.metrics.observe_closed(outcome, handover.ran, handover.funcname)
    taken = handover.claimed
    if taken or paused or count == 0:
        _handed_out(ctx, taken, ())
        return [_assigned(ctx, p) for p in taken]
    if unlimited and not handed:
        ctx.state.waiters.found_nothing(
            claimer.colonyname, claimer.executortype, claimer.location_lc
        )
    if msg.timeout <= 0:
        if not handed:
            return []
        try:  # it did not look: one attempt, as promised
            return await _poll(ctx, claimer, count, -1, None)
        except RpcError as exc:
            if exc.status == 404:
                return []
            raise
    try:
        return await _poll(ctx, claimer, count, msg.timeout, None)
    except RpcError as exc:
        if exc.status in (
            404,
            408,
            503,
        ):  # nothing to take (or paused meanwhile): closed all the same
            return []
        raise


@routes.handles(
    "assignprocessesmsg",
    AssignProcessesMsg,
    Role.MEMBER,
    action=ASSIGN_MANY,
    scope=by_colonyname,
)
async def assign_processes(
    ctx: Context, msg: AssignProcessesMsg, nonce: Nonce | None
) -> list[Process]:
    """Up to ``count`` processes at once, otherwise as assignprocessmsg (the same timeouts,
    waits and errors)."""
    if msg.timeout == 0:
        raise RpcError(400, "Invalid timeout value, timeout cannot be zero")
    count = _claim_count(msg.count, 1, ASSIGN_MANY)
    claimer = _claimer(ctx, msg.colonyname, msg.availablecpu, msg.availablemem, ASSIGN_MANY)
    return await _poll(ctx, claimer, count, msg.timeout, nonce)


@routes.handles(
    "setoutputmsg",
    SetOutputMsg,
    Role.ASSIGNED_EXECUTOR,
    action="Failed to set output",
    scope=process_scope,
)
async def set_output(ctx: Context, msg: SetOutputMsg) -> None:
    if not msg.out:  # an empty output leaves the stored one as it is, but only while running
        if ctx.target.state != ProcessState.RUNNING:
            raise RpcError(403, "Failed to set output, process is not running")
        return
    if not await ctx.store.closes.set_output(msg.processid, ctx.caller, msg.out):
        raise RpcError(403, "Failed to set output, process is not running")


@routes.handles(
    "getprocessmsg", ProcessIdMsg, Role.MEMBER, action="Failed to get process", scope=process_scope
)
async def get_process(ctx: Context, msg: ProcessIdMsg) -> Process:
    process = await ctx.store.processes.get(msg.processid)
    return found(process, f"Process with id {msg.processid}")


@routes.handles(
    "getprocessesmsg",
    GetProcessesMsg,
    Role.MEMBER,
    action="Failed to get processes",
    scope=by_colonyname,
)
async def get_processes(ctx: Context, msg: GetProcessesMsg) -> list[Process]:
    count = check_count(msg.count)
    if msg.state not in STATES:
        raise RpcError(400, "Failed to get processes, invalid msg.State")
    initiatorid = None
    if not msg.executortype and msg.initiator:
        user = await ctx.store.users.get(msg.colonyname, msg.initiator)
        if user is None:
            raise RpcError(400, f"User {msg.initiator} does not exist")
        initiatorid = user.userid
    return await ctx.store.processes.list(
        msg.colonyname,
        msg.state,
        count,
        executortype=msg.executortype,
        initiatorid=initiatorid,
        label=msg.label,
    )


@routes.handles(
    "getprocesshistmsg",
    GetProcessHistMsg,
    Role.MEMBER,
    action="Failed to get process history",
    scope=by_colonyname,
)
async def get_process_history(ctx: Context, msg: GetProcessHistMsg) -> list[Process]:
    if msg.seconds < 0:
        raise RpcError(400, "Failed to get process history, seconds must not be negative")
    return await ctx.store.processes.history(
        msg.colonyname, msg.executorid, msg.seconds, msg.state, ctx.now()
    )


@routes.handles(
    "removeprocessmsg",
    ProcessIdMsg,
    Role.MEMBER,
    action="Failed to remove process",
    scope=process_scope,
)
async def remove_process(ctx: Context, msg: ProcessIdMsg) -> None:
    brief = ctx.target
    if brief.processgraphid:
        raise RpcError(
            400,
            "Failed to remove, cannot remove a process part of a workflow, "
            "delete the entire workflow instead",
        )
    if brief.state == ProcessState.RUNNING:
        raise RpcError(400, "Failed to remove process, cannot remove a running process")
    if not await ctx.store.closes.remove(msg.processid):
        raise RpcError(400, "Failed to remove process, it changed state meanwhile")


@routes.handles(
    "removeallprocessesmsg",
    ColonyStateMsg,
    Role.COLONY_OWNER,
    action="Failed to remove all processes",
    scope=by_colonyname,
)
async def remove_all_processes(ctx: Context, msg: ColonyStateMsg) -> None:
    state = check_remove_all_state(msg.state, "processes")
    await ctx.store.closes.remove_all(msg.colonyname, state)


@routes.handles(
    "cancelprocessmsg",
    ProcessIdMsg,
    Role.MEMBER,
    action="Failed to cancel process",
    scope=process_scope,
)
async def cancel_process(ctx: Context, msg: ProcessIdMsg) -> None:
    brief = ctx.target
    if brief.processgraphid:
        raise RpcError(
            400,
            "Failed to cancel, cannot cancel a process part of a workflow, "
            "cancel the entire workflow instead",
        )
    if brief.state not in (ProcessState.WAITING, ProcessState.RUNNING):
        raise RpcError(400, "Failed to cancel process, process is not waiting or running")
    if not await ctx.store.closes.cancel(msg.processid, ctx.now()):
        raise RpcError(400, "Failed to cancel process, process is not waiting or running")


# --- subscriptions (docs/protocol.md §6.18) ---------------------------------------------------
PUSH_TYPE = "subscribeprocessmsg"  # also for subscribeprocessesmsg pushes (§6.18)


async def _events(ctx: Context, sub: Subscription, timeout: float) -> AsyncIterator[Process]:
    """Yield the Process of each matching event until ``timeout`` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        try:
            event = await asyncio.wait_for(sub.queue.get(), remaining)
        except asyncio.TimeoutError:
            return
        # The event matched; the process may have moved on since (a fast close): deliver it
        # anyway rather than lose the event.
        process = await ctx.store.processes.get(event.processid)
        if process is not None:
            yield process


@routes.handles(
    "subscribeprocessmsg",
    SubscribeProcessMsg,
    Role.MEMBER,
    action="Failed to subscribe to process",
    scope=process_scope,
    subscription=True,
)
async def subscribe_process(ctx: Context, msg: SubscribeProcessMsg) -> None:
    """The process once it is in ``msg.state`` (at once if it is already), then the end."""
    subscriptions = ctx.state.subscriptions
    sub = Subscription(msg.state, processid=msg.processid)
    subscriptions.add(sub)  # before looking, so a change in between is not missed
    try:
        process = await ctx.store.processes.get(msg.processid)
        if process is not None and process.state == msg.state:
            await ctx.push(PUSH_TYPE, process)
            return
        async for process in _events(ctx, sub, msg.timeout):
            await ctx.push(PUSH_TYPE, process)
            return
    finally:
        subscriptions.remove(sub)


@routes.handles(
    "subscribeprocessesmsg",
    SubscribeProcessesMsg,
    Role.MEMBER,
    action="Failed to subscribe to processes",
    scope=by_colonyname,
    subscription=True,
)
async def subscribe_processes(ctx: Context, msg: SubscribeProcessesMsg) -> None:
    """Each process of the colony and executor type that enters ``msg.state``, until the
    timeout."""
    subscriptions = ctx.state.subscriptions
    sub = Subscription(msg.state, colonyname=msg.colonyname, executortype=msg.executortype)
    subscriptions.add(sub)
    try:
        async for process in _events(ctx, sub, msg.timeout):
            await ctx.push(PUSH_TYPE, process)
    finally:
        subscriptions.remove(sub)
