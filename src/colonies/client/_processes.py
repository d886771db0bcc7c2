"""Functions and processes: registering functions, submitting, assigning, closing, waiting and
watching (docs/protocol.md §6.5, §6.6, §6.18, §7.1 to §7.8)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from typing import Any

from colonies.client._base import ClientBase, KeyArg, sends, wire
from colonies.client._errors import ColoniesError, ConnectError, ConnectionLost
from colonies.core import Function, FunctionSpec, Process, ProcessState
from colonies.core.wire import decode_value

# Reconnecting a subscription: the first pause, and the longest, in seconds.
_RECONNECT_FIRST, _RECONNECT_MAX = 0.2, 5.0


class ProcessMethods(ClientBase):
    # --- functions ----------------------------------------------------------------------------
    @sends("addfunctionmsg")
    async def add_function(self, function: Function, *, key: KeyArg = None) -> Function:
        """Advertise a function of an executor (signed by that executor's key)."""
        return await self._typed(Function, "addfunctionmsg", key, fun=wire(function))

    @sends("getfunctionsmsg")
    async def get_functions(
        self, colony: str, executor_name: str = "", *, key: KeyArg = None
    ) -> list[Function]:
        """The colony's functions (of one executor, when named), with call statistics."""
        return await self._typed(
            list[Function], "getfunctionsmsg", key, colonyname=colony, executorname=executor_name
        )

    @sends("removefunctionmsg")
    async def remove_function(self, functionid: str, *, key: KeyArg = None) -> None:
        """Stop advertising a function (the executor that registered it)."""
        await self.call("removefunctionmsg", key, functionid=functionid)

    # --- processes ----------------------------------------------------------------------------
    @sends("submitfuncspecmsg")
    async def submit(self, spec: FunctionSpec, *, key: KeyArg = None) -> Process:
        """Submit a function spec; returns the new process, WAITING."""
        return await self._typed(Process, "submitfuncspecmsg", key, spec=wire(spec))

    @sends("assignprocessmsg")
    async def assign(
        self,
        colony: str,
        timeout: int = 10,
        *,
        available_cpu: str = "",
        available_mem: str = "",
        key: KeyArg = None,
    ) -> Process | None:
        """Long-poll for work as an executor; ``None`` when nothing came within ``timeout``
        seconds. The process is RUNNING and assigned to the caller."""
        try:
            reply = await self.rpc.call(
                "assignprocessmsg",
                self._key(key),
                _timeout=max(timeout, 0) + 30,
                colonyname=colony,
                timeout=timeout,
                availablecpu=available_cpu,
                availablemem=available_mem,
            )
        except ColoniesError as exc:
            if exc.status == 404:
                return None
            raise
        return decode_value(reply, Process)

    @sends("closesuccessfulmsg")
    async def close_successful(
        self,
        processid: str,
        output: list[Any] | None = None,
        *,
        key: KeyArg = None,
    ) -> None:
        """Close a process you run as successful, with its output."""
        await self.call("closesuccessfulmsg", key, processid=processid, out=output or [])

    @sends("closefailedmsg")
    async def close_failed(self, processid: str, errors: list[str], *, key: KeyArg = None) -> None:
        """Close a process you run as failed, with the errors (retried if it has retries left)."""
        await self.call("closefailedmsg", key, processid=processid, errors=errors)

    # --- the executor fast path (a project addition, docs/protocol.md §7.21) ------------------
    @sends("closeandassignmsg")
    async def close_and_assign(
        self,
        processid: str,
        output: list[Any] | None = None,
        *,
        errors: list[str] | None = None,
        count: int = 1,
        timeout: int = 0,
        available_cpu: str = "",
        available_mem: str = "",
        key: KeyArg = None,
    ) -> list[Process]:
        """Close a process of the caller, as successful with ``output`` or, when ``errors`` are
        given, as failed, and claim up to ``count`` more in the same request (waiting up to
        ``timeout`` seconds when none waits; 0: no wait). The processes claimed, RUNNING (maybe
        none). Only for servers whose ``server_info().features`` list ``closeandassignmsg``."""
        reply = await self.rpc.call(
            "closeandassignmsg",
            self._key(key),
            _timeout=max(timeout, 0) + 30,
            processid=processid,
            successful=errors is None,
            out=output or [],
            errors=errors or [],
            count=count,
            timeout=timeout,
            availablecpu=available_cpu,
            availablemem=available_mem,
        )
        return decode_value(reply, list[Process])

    @sends("assignprocessesmsg")
    async def assign_many(
        self,
        colony: str,
        count: int,
        timeout: int = 10,
        *,
        available_cpu: str = "",
        available_mem: str = "",
        key: KeyArg = None,
    ) -> list[Process]:
        """Long-poll for up to ``count`` processes at once (their summed cpu and mem within the
        available ones); ``[]`` when nothing came within ``timeout`` seconds. Only for servers
        whose ``server_info().features`` list ``assignprocessesmsg``."""
        try:
            reply = await self.rpc.call(
                "assignprocessesmsg",
                self._key(key),
                _timeout=max(timeout, 0) + 30,
                colonyname=colony,
                count=count,
                timeout=timeout,
                availablecpu=available_cpu,
                availablemem=available_mem,
            )
        except ColoniesError as exc:
            if exc.status == 404:
                return []
            raise
        return decode_value(reply, list[Process])

    @sends("setoutputmsg")
    async def set_output(self, processid: str, output: list[Any], *, key: KeyArg = None) -> None:
        """Replace the output of a process you run, before closing it."""
        await self.call("setoutputmsg", key, processid=processid, out=output)

    @sends("getprocessmsg")
    async def get_process(self, processid: str, *, key: KeyArg = None) -> Process:
        """One process: spec, state, times, input, output, errors, attributes."""
        return await self._typed(Process, "getprocessmsg", key, processid=processid)

    @sends("getprocessesmsg")
    async def get_processes(
        self,
        colony: str,
        state: int = ProcessState.WAITING,
        count: int = 100,
        *,
        executortype: str = "",
        label: str = "",
        initiator: str = "",
        key: KeyArg = None,
    ) -> list[Process]:
        """The colony's processes in ``state`` (at most ``count``, 100 at most): waiting and
        running ones oldest first, finished ones newest first; optionally of one executor type,
        label or initiator name."""
        return await self._typed(
            list[Process],
            "getprocessesmsg",
            key,
            colonyname=colony,
            count=count,
            state=int(state),
            executortype=executortype,
            label=label,
            initiator=initiator,
        )

    @sends("getprocesshistmsg")
    async def get_process_history(
        self,
        colony: str,
        seconds: int,
        state: int,
        executorid: str = "",
        *,
        key: KeyArg = None,
    ) -> list[Process]:
        """Processes in ``state`` submitted in the last ``seconds`` (only those assigned to
        ``executorid`` when given), oldest first."""
        return await self._typed(
            list[Process],
            "getprocesshistmsg",
            key,
            colonyname=colony,
            seconds=seconds,
            state=int(state),
            executorid=executorid,
        )

    @sends("removeprocessmsg")
    async def remove_process(self, processid: str, *, key: KeyArg = None) -> None:
        """Remove a process that is not running and not part of a workflow."""
        await self.call("removeprocessmsg", key, processid=processid, all=False)

    @sends("removeallprocessesmsg")
    async def remove_all_processes(
        self, colony: str, state: int = ProcessState.NOTSET, *, key: KeyArg = None
    ) -> None:
        """Remove the colony's standalone processes in ``state`` (the default: every state but
        running). Signed by the colony owner."""
        await self.call("removeallprocessesmsg", key, colonyname=colony, state=int(state))

    @sends("cancelprocessmsg")
    async def cancel_process(self, processid: str, *, key: KeyArg = None) -> None:
        """Cancel a waiting or running process."""
        await self.call("cancelprocessmsg", key, processid=processid)

    # --- waiting and watching -----------------------------------------------------------------
    @sends("subscribeprocessmsg")
    async def wait(
        self,
        processid: str,
        state: int = ProcessState.SUCCESS,
        timeout: int = 60,
        *,
        key: KeyArg = None,
    ) -> Process | None:
        """Wait over the WebSocket until the process is in ``state`` (at once if it already
        is); ``None`` at the timeout."""
        process = await self.get_process(processid, key=key)
        payload = {
            "colonyname": process.spec.conditions.colonyname,
            "processid": processid,
            "executortype": process.spec.conditions.executortype,
            "state": int(state),
            "timeout": timeout,
        }
        replies = self.rpc.subscribe("subscribeprocessmsg", self._key(key), **payload)
        async with contextlib.aclosing(replies):
            try:
                reply = await asyncio.wait_for(anext(replies, None), timeout + 5)
            except asyncio.TimeoutError:
                return None
        return None if reply is None else decode_value(reply, Process)  # None: closed at timeout

    @sends("subscribeprocessesmsg")
    async def subscribe_processes(
        self,
        colony: str,
        state: int = ProcessState.WAITING,
        executortype: str = "",
        timeout: float = 60,
        *,
        key: KeyArg = None,
    ) -> AsyncIterator[Process]:
        """Every process of the colony that enters ``state`` (of ``executortype``, when given)
        during the next ``timeout`` seconds, as it happens: ``async for p in
        client.subscribe_processes("dev", ProcessState.SUCCESS): ...``.

        A connection lost on the way (or cut before the time is up) is made again: watching
        changes nothing, so that is safe. A change in the moments without a connection is not
        replayed, so read the processes again after a gap when every change matters.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pause = _RECONNECT_FIRST
        while deadline - loop.time() >= 1:
            replies = self.rpc.subscribe(
                "subscribeprocessesmsg",
                self._key(key),
                colonyname=colony,
                executortype=executortype,
                state=int(state),
                timeout=math.ceil(deadline - loop.time()),
            )
            try:
                async with contextlib.aclosing(replies):
                    async for reply in replies:
                        pause = _RECONNECT_FIRST
                        yield decode_value(reply, Process)
            except (ConnectError, ConnectionLost):
                if deadline - loop.time() < pause + 1:
                    raise
            await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
            pause = min(pause * 2, _RECONNECT_MAX)
