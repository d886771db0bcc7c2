"""The async SDK: one method per message, typed results (the ``core`` objects).

A client holds a default key; every method takes ``key=`` to sign with another one (the colony
owner's for executor approval, the server owner's for colonies, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, TypeVar

import aiohttp
import msgspec

from colonies.client._base import ClientBase
from colonies.client._colonies import ColonyMethods
from colonies.client._errors import ColoniesError
from colonies.client._members import MemberMethods
from colonies.client._rpc import AsyncRpc
from colonies.client._schedules import ScheduleMethods
from colonies.client._security import SecurityMethods
from colonies.client._transport import Transport
from colonies.client._workflows import WorkflowMethods
from colonies.config import ClientConfig
from colonies.core import (
    Allocations,
    Attribute,
    Blueprint,
    BlueprintDefinition,
    BlueprintHistory,
    Capabilities,
    Cluster,
    Colony,
    Executor,
    File,
    FileData,
    Function,
    FunctionSpec,
    Label,
    Location,
    Log,
    Process,
    ProcessState,
    ServerInfo,
    Snapshot,
    Statistics,
    User,
)
from colonies.core.wire import decode_value
from colonies.crypto import PrivateKey, parse_private_key

T = TypeVar("T")

#: A key for one call: a PrivateKey, its text form, or None for the client's own key.
KeyArg = PrivateKey | str | None


def _builtins(obj: Any) -> Any:
    return msgspec.to_builtins(obj)


class AsyncClient(
    ColonyMethods, MemberMethods, WorkflowMethods, ScheduleMethods, SecurityMethods, ClientBase
):
    def __init__(
        self,
        url: str,
        key: KeyArg = None,
        *,
        ca_file: str = "",
        retry_seconds: float = 15.0,
        session: aiohttp.ClientSession | None = None,
        transport: Transport | None = None,
    ) -> None:
        """``transport``: how requests travel (client/_transport.py); by default HTTP to
        ``url`` (through ``session`` if given, trusting ``ca_file`` for ``https://``)."""
        self.rpc = AsyncRpc(
            url, session, ca_file=ca_file, retry_seconds=retry_seconds, transport=transport
        )
        self.key = parse_private_key(key) if isinstance(key, str) else key

    @classmethod
    def from_env(cls, config: ClientConfig | None = None, **kwargs: Any) -> AsyncClient:
        config = config or ClientConfig.from_env()
        return cls(config.url, config.prvkey or None, ca_file=config.ca_file, **kwargs)

    async def close(self) -> None:
        await self.rpc.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- plumbing -----------------------------------------------------------------------------
    def _key(self, key: KeyArg) -> PrivateKey:
        if isinstance(key, str):
            return parse_private_key(key)
        chosen = key or self.key
        if chosen is None:
            raise ValueError("no private key: pass key= or set COLONIES_PRVKEY")
        return chosen

    async def call(self, payloadtype: str, key: KeyArg = None, **payload: Any) -> Any:
        """Send any message; the reply payload as plain JSON values."""
        return await self.rpc.call(payloadtype, self._key(key), **payload)

    async def _typed(self, tp: type[T], payloadtype: str, key: KeyArg, **payload: Any) -> T:
        return decode_value(await self.call(payloadtype, key, **payload), tp)

    # --- server -------------------------------------------------------------------------------
    async def version(self) -> dict[str, str]:
        reply: dict[str, str] = await self.rpc.call("versionmsg", None)
        return reply

    async def server_info(self) -> ServerInfo:
        return decode_value(await self.rpc.call("getserverinfomsg", None), ServerInfo)

    async def statistics(self, *, key: KeyArg = None) -> Statistics:
        return await self._typed(Statistics, "getstatisticsmsg", key)

    async def cluster(self, *, key: KeyArg = None) -> Cluster:
        return await self._typed(Cluster, "getclustermsg", key)

    async def health(self, timeout: float = 5.0) -> bool:
        """``GET /health`` answered 200 (not an RPC; connection errors propagate)."""
        return await self.rpc.transport.health(timeout)

    # --- colonies -----------------------------------------------------------------------------
    async def add_colony(self, colony: Colony, *, key: KeyArg = None) -> Colony:
        return await self._typed(Colony, "addcolonymsg", key, colony=_builtins(colony))

    async def remove_colony(self, name: str, *, key: KeyArg = None) -> None:
        await self.call("removecolonymsg", key, colonyname=name)

    async def get_colonies(self, *, key: KeyArg = None) -> list[Colony]:
        return await self._typed(list[Colony], "getcoloniesmsg", key)

    async def get_colony(self, name: str, *, key: KeyArg = None) -> Colony:
        return await self._typed(Colony, "getcolonymsg", key, colonyname=name)

    async def colony_statistics(self, name: str, *, key: KeyArg = None) -> Statistics:
        return await self._typed(Statistics, "getcolonystatsmsg", key, colonyname=name)

    # --- executors ----------------------------------------------------------------------------
    async def add_executor(self, executor: Executor, *, key: KeyArg = None) -> Executor:
        return await self._typed(Executor, "addexecutormsg", key, executor=_builtins(executor))

    async def approve_executor(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        await self.call("approveexecutormsg", key, colonyname=colony, executorname=name)

    async def reject_executor(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        await self.call("rejectexecutormsg", key, colonyname=colony, executorname=name)

    async def remove_executor(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        await self.call("removeexecutormsg", key, colonyname=colony, executorname=name)

    async def get_executors(self, colony: str, *, key: KeyArg = None) -> list[Executor]:
        return await self._typed(list[Executor], "getexecutorsmsg", key, colonyname=colony)

    async def get_executor(self, colony: str, name: str, *, key: KeyArg = None) -> Executor:
        return await self._typed(
            Executor, "getexecutormsg", key, colonyname=colony, executorname=name
        )

    async def get_executor_by_id(
        self, colony: str, executorid: str, *, key: KeyArg = None
    ) -> Executor:
        return await self._typed(
            Executor, "getexecutorbyidmsg", key, colonyname=colony, executorid=executorid
        )

    async def update_executor(
        self,
        colony: str,
        name: str,
        capabilities: Capabilities,
        *,
        key: KeyArg = None,
    ) -> None:
        await self.call(
            "updateexecutormsg",
            key,
            colonyname=colony,
            executorname=name,
            capabilities=_builtins(capabilities),
        )

    async def report_allocations(
        self,
        colony: str,
        name: str,
        allocations: Allocations,
        *,
        key: KeyArg = None,
    ) -> None:
        await self.call(
            "reportallocationmsg",
            key,
            colonyname=colony,
            executorname=name,
            allocations=_builtins(allocations),
        )

    # --- users and locations ------------------------------------------------------------------
    async def add_user(self, user: User, *, key: KeyArg = None) -> User:
        return await self._typed(User, "addusermsg", key, user=_builtins(user))

    async def remove_user(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        await self.call("removeusermsg", key, colonyname=colony, name=name)

    async def get_users(self, colony: str, *, key: KeyArg = None) -> list[User]:
        return await self._typed(list[User], "getusersmsg", key, colonyname=colony)

    async def get_user(self, colony: str, name: str, *, key: KeyArg = None) -> User:
        return await self._typed(User, "getusermsg", key, colonyname=colony, name=name)

    async def add_location(self, location: Location, *, key: KeyArg = None) -> Location:
        return await self._typed(Location, "addlocationmsg", key, location=_builtins(location))

    async def remove_location(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        await self.call("removelocationmsg", key, colonyname=colony, name=name)

    async def get_locations(self, colony: str, *, key: KeyArg = None) -> list[Location]:
        return await self._typed(list[Location], "getlocationsmsg", key, colonyname=colony)

    # --- functions ----------------------------------------------------------------------------
    async def add_function(self, function: Function, *, key: KeyArg = None) -> Function:
        return await self._typed(Function, "addfunctionmsg", key, fun=_builtins(function))

    async def get_functions(
        self, colony: str, executor_name: str = "", *, key: KeyArg = None
    ) -> list[Function]:
        return await self._typed(
            list[Function], "getfunctionsmsg", key, colonyname=colony, executorname=executor_name
        )

    async def remove_function(self, functionid: str, *, key: KeyArg = None) -> None:
        await self.call("removefunctionmsg", key, functionid=functionid)

    # --- processes ----------------------------------------------------------------------------
    async def submit(self, spec: FunctionSpec, *, key: KeyArg = None) -> Process:
        return await self._typed(Process, "submitfuncspecmsg", key, spec=_builtins(spec))

    async def assign(
        self,
        colony: str,
        timeout: int = 10,
        *,
        available_cpu: str = "",
        available_mem: str = "",
        key: KeyArg = None,
    ) -> Process | None:
        """Long-poll for work; ``None`` when nothing came within ``timeout`` seconds."""
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

    async def close_successful(
        self,
        processid: str,
        output: list[Any] | None = None,
        *,
        key: KeyArg = None,
    ) -> None:
        await self.call("closesuccessfulmsg", key, processid=processid, out=output or [])

    async def close_failed(self, processid: str, errors: list[str], *, key: KeyArg = None) -> None:
        await self.call("closefailedmsg", key, processid=processid, errors=errors)

    async def set_output(self, processid: str, output: list[Any], *, key: KeyArg = None) -> None:
        await self.call("setoutputmsg", key, processid=processid, out=output)

    async def get_process(self, processid: str, *, key: KeyArg = None) -> Process:
        return await self._typed(Process, "getprocessmsg", key, processid=processid)

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

    async def get_process_history(
        self,
        colony: str,
        seconds: int,
        state: int,
        executorid: str = "",
        *,
        key: KeyArg = None,
    ) -> list[Process]:
        return await self._typed(
            list[Process],
            "getprocesshistmsg",
            key,
            colonyname=colony,
            seconds=seconds,
            state=int(state),
            executorid=executorid,
        )

    async def remove_process(self, processid: str, *, key: KeyArg = None) -> None:
        await self.call("removeprocessmsg", key, processid=processid, all=False)

    async def remove_all_processes(
        self, colony: str, state: int = -1, *, key: KeyArg = None
    ) -> None:
        await self.call("removeallprocessesmsg", key, colonyname=colony, state=int(state))

    async def cancel_process(self, processid: str, *, key: KeyArg = None) -> None:
        await self.call("cancelprocessmsg", key, processid=processid)

    # --- attributes and logs ------------------------------------------------------------------
    async def add_attribute(
        self,
        processid: str,
        name: str,
        value: str,
        attributetype: int = 1,
        *,
        key: KeyArg = None,
    ) -> Attribute:
        attribute = {
            "targetid": processid,
            "key": name,
            "value": value,
            "attributetype": attributetype,
        }
        return await self._typed(Attribute, "addattributemsg", key, attribute=attribute)

    async def get_attribute(self, attributeid: str, *, key: KeyArg = None) -> Attribute:
        return await self._typed(Attribute, "getattributemsg", key, attributeid=attributeid)

    async def add_log(self, processid: str, message: str, *, key: KeyArg = None) -> None:
        await self.call("addlogmsg", key, processid=processid, message=message)

    async def add_executor_log(
        self, colony: str, executor_name: str, message: str, *, key: KeyArg = None
    ) -> None:
        await self.call(
            "addexecutorlogmsg", key, colonyname=colony, executorname=executor_name, message=message
        )

    async def get_logs(
        self,
        colony: str,
        *,
        processid: str = "",
        executor_name: str = "",
        count: int = 100,
        since: int = 0,
        latest: bool = False,
        key: KeyArg = None,
    ) -> list[Log]:
        return await self._typed(
            list[Log],
            "getlogsmsg",
            key,
            colonyname=colony,
            processid=processid,
            executorname=executor_name,
            count=count,
            since=since,
            latest=latest,
        )

    async def search_logs(
        self,
        colony: str,
        text: str,
        days: int = 1,
        count: int = 100,
        *,
        key: KeyArg = None,
    ) -> list[Log]:
        return await self._typed(
            list[Log], "searchlogsmsg", key, colonyname=colony, text=text, days=days, count=count
        )

    # --- files and snapshots ------------------------------------------------------------------
    async def add_file(self, file: File, *, key: KeyArg = None) -> File:
        return await self._typed(File, "addfilemsg", key, file=_builtins(file))

    async def get_file(
        self,
        colony: str,
        *,
        fileid: str = "",
        label: str = "",
        name: str = "",
        latest: bool = True,
        key: KeyArg = None,
    ) -> list[File]:
        return await self._typed(
            list[File],
            "getfilemsg",
            key,
            colonyname=colony,
            fileid=fileid,
            label=label,
            name=name,
            latest=latest,
        )

    async def get_files(self, colony: str, label: str, *, key: KeyArg = None) -> list[FileData]:
        return await self._typed(list[FileData], "getfilesmsg", key, colonyname=colony, label=label)

    async def get_file_labels(
        self,
        colony: str,
        name: str = "",
        exact: bool = False,
        *,
        key: KeyArg = None,
    ) -> list[Label]:
        return await self._typed(
            list[Label], "getfilelabelsmsg", key, colonyname=colony, name=name, exact=exact
        )

    async def remove_file(
        self,
        colony: str,
        *,
        fileid: str = "",
        label: str = "",
        name: str = "",
        key: KeyArg = None,
    ) -> None:
        """Remove one revision (``fileid``) or every revision of (``label``, ``name``): the
        metadata only; :class:`colonies.client.ColonyFS` removes the S3 objects too."""
        await self.call(
            "removefilemsg", key, colonyname=colony, fileid=fileid, label=label, name=name
        )

    async def create_snapshot(
        self, colony: str, label: str, name: str, *, key: KeyArg = None
    ) -> Snapshot:
        return await self._typed(
            Snapshot, "createsnapshotmsg", key, colonyname=colony, label=label, name=name
        )

    async def get_snapshot(
        self, colony: str, *, snapshotid: str = "", name: str = "", key: KeyArg = None
    ) -> Snapshot:
        return await self._typed(
            Snapshot, "getsnapshotmsg", key, colonyname=colony, snapshotid=snapshotid, name=name
        )

    async def get_snapshots(self, colony: str, *, key: KeyArg = None) -> list[Snapshot]:
        return await self._typed(list[Snapshot], "getsnapshotsmsg", key, colonyname=colony)

    async def remove_snapshot(
        self, colony: str, *, snapshotid: str = "", name: str = "", key: KeyArg = None
    ) -> None:
        await self.call(
            "removesnapshotmsg", key, colonyname=colony, snapshotid=snapshotid, name=name
        )

    async def remove_all_snapshots(self, colony: str, *, key: KeyArg = None) -> None:
        await self.call("removeallsnapshotmsg", key, colonyname=colony)

    # --- blueprints ----------------------------------------------------------------------------
    async def add_blueprint_definition(
        self, definition: BlueprintDefinition, *, key: KeyArg = None
    ) -> BlueprintDefinition:
        return await self._typed(
            BlueprintDefinition,
            "addblueprintdefinitionmsg",
            key,
            blueprintdefinition=_builtins(definition),
        )

    async def get_blueprint_definition(
        self, colony: str, name: str, *, key: KeyArg = None
    ) -> BlueprintDefinition:
        return await self._typed(
            BlueprintDefinition, "getblueprintdefinitionmsg", key, colonyname=colony, name=name
        )

    async def get_blueprint_definitions(
        self, colony: str, *, key: KeyArg = None
    ) -> list[BlueprintDefinition]:
        return await self._typed(
            list[BlueprintDefinition], "getblueprintdefinitionsmsg", key, colonyname=colony
        )

    async def remove_blueprint_definition(
        self, colony: str, name: str, *, key: KeyArg = None
    ) -> None:
        await self.call("removeblueprintdefinitionmsg", key, namespace=colony, name=name)

    async def add_blueprint(self, blueprint: Blueprint, *, key: KeyArg = None) -> Blueprint:
        return await self._typed(Blueprint, "addblueprintmsg", key, blueprint=_builtins(blueprint))

    async def get_blueprint(self, colony: str, name: str, *, key: KeyArg = None) -> Blueprint:
        return await self._typed(Blueprint, "getblueprintmsg", key, namespace=colony, name=name)

    async def get_blueprints(
        self, colony: str, kind: str = "", location: str = "", *, key: KeyArg = None
    ) -> list[Blueprint]:
        return await self._typed(
            list[Blueprint],
            "getblueprintsmsg",
            key,
            namespace=colony,
            kind=kind,
            locationname=location,
        )

    async def update_blueprint(
        self, blueprint: Blueprint, force_generation: bool = False, *, key: KeyArg = None
    ) -> Blueprint:
        return await self._typed(
            Blueprint,
            "updateblueprintmsg",
            key,
            blueprint=_builtins(blueprint),
            forcegeneration=force_generation,
        )

    async def remove_blueprint(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        await self.call("removeblueprintmsg", key, namespace=colony, name=name)

    async def update_blueprint_status(
        self, colony: str, name: str, status: dict[str, Any], *, key: KeyArg = None
    ) -> None:
        await self.call(
            "updateblueprintstatusmsg", key, colonyname=colony, blueprintname=name, status=status
        )

    async def reconcile_blueprint(
        self, colony: str, name: str, force: bool = False, *, key: KeyArg = None
    ) -> Process:
        return await self._typed(
            Process, "reconcileblueprintmsg", key, namespace=colony, name=name, force=force
        )

    async def get_blueprint_history(
        self, blueprintid: str, limit: int = 0, *, key: KeyArg = None
    ) -> list[BlueprintHistory]:
        return await self._typed(
            list[BlueprintHistory], "getblueprinthistorymsg", key, blueprintid=blueprintid,
            limit=limit,
        )  # fmt: skip

    # --- subscriptions ------------------------------------------------------------------------
    async def wait(
        self,
        processid: str,
        state: int = ProcessState.SUCCESS,
        timeout: int = 60,
        *,
        key: KeyArg = None,
    ) -> Process | None:
        """Wait over the WebSocket until the process enters ``state``; ``None`` at timeout."""
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
