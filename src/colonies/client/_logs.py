"""Logs and attributes: what processes report while they run (docs/protocol.md §6.8, §6.9)."""

from __future__ import annotations

from colonies.client._base import ClientBase, KeyArg, sends
from colonies.core import Attribute, AttributeType, Log


class LogMethods(ClientBase):
    @sends("addattributemsg")
    async def add_attribute(
        self,
        processid: str,
        name: str,
        value: str,
        attributetype: int = AttributeType.OUT,
        *,
        key: KeyArg = None,
    ) -> Attribute:
        """Attach ``name`` = ``value`` to a process you run (the same name and type again
        replaces the value)."""
        attribute = {
            "targetid": processid,
            "key": name,
            "value": value,
            "attributetype": int(attributetype),
        }
        return await self._typed(Attribute, "addattributemsg", key, attribute=attribute)

    @sends("getattributemsg")
    async def get_attribute(self, attributeid: str, *, key: KeyArg = None) -> Attribute:
        """One attribute."""
        return await self._typed(Attribute, "getattributemsg", key, attributeid=attributeid)

    @sends("addlogmsg")
    async def add_log(self, processid: str, message: str, *, key: KeyArg = None) -> None:
        """Add a line to the log of a process you run (while it runs)."""
        await self.call("addlogmsg", key, processid=processid, message=message)

    @sends("addexecutorlogmsg")
    async def add_executor_log(
        self, colony: str, executor_name: str, message: str, *, key: KeyArg = None
    ) -> None:
        """Add a line to the executor's own log, outside any process."""
        await self.call(
            "addexecutorlogmsg", key, colonyname=colony, executorname=executor_name, message=message
        )

    @sends("getlogsmsg")
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
        """Log lines of a process (or of an executor) written after ``since`` (Unix ns): the
        oldest ``count`` (500 at most) in order, or with ``latest`` the newest, newest first."""
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

    @sends("searchlogsmsg")
    async def search_logs(
        self,
        colony: str,
        text: str,
        days: int = 1,
        count: int = 100,
        *,
        key: KeyArg = None,
    ) -> list[Log]:
        """Log lines of the last ``days`` days (30 at most) that contain ``text``, newest
        first."""
        return await self._typed(
            list[Log], "searchlogsmsg", key, colonyname=colony, text=text, days=days, count=count
        )
