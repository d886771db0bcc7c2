"""Files and snapshots: the metadata of ColonyFS (docs/protocol.md §6.12, §6.13, §7.13). The
bytes are in S3: :class:`colonies.client.ColonyFS` moves them and calls these."""

from __future__ import annotations

from colonies.client._base import ClientBase, KeyArg, sends, wire
from colonies.core import File, FileData, Label, Snapshot


class FileMethods(ClientBase):
    @sends("addfilemsg")
    async def add_file(self, file: File, *, key: KeyArg = None) -> File:
        """Record a file revision (its bytes already in S3); its ID and sequence number are
        set by the server."""
        return await self._typed(File, "addfilemsg", key, file=wire(file))

    @sends("getfilemsg")
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
        """A revision by ``fileid``, or the revisions of (``label``, ``name``): only the newest
        with ``latest``, else all, newest first."""
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

    @sends("getfilesmsg")
    async def get_files(self, colony: str, label: str, *, key: KeyArg = None) -> list[FileData]:
        """One entry per file name in exactly ``label`` (its newest revision)."""
        return await self._typed(list[FileData], "getfilesmsg", key, colonyname=colony, label=label)

    @sends("getfilelabelsmsg")
    async def get_file_labels(
        self,
        colony: str,
        name: str = "",
        exact: bool = False,
        *,
        key: KeyArg = None,
    ) -> list[Label]:
        """Labels equal to ``name`` (``exact``) or starting with it, with their file counts."""
        return await self._typed(
            list[Label], "getfilelabelsmsg", key, colonyname=colony, name=name, exact=exact
        )

    @sends("removefilemsg")
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

    @sends("createsnapshotmsg")
    async def create_snapshot(
        self, colony: str, label: str, name: str, *, key: KeyArg = None
    ) -> Snapshot:
        """Freeze the newest revision of every file under ``label`` (and the labels below it)
        as the snapshot ``name``."""
        return await self._typed(
            Snapshot, "createsnapshotmsg", key, colonyname=colony, label=label, name=name
        )

    @sends("getsnapshotmsg")
    async def get_snapshot(
        self, colony: str, *, snapshotid: str = "", name: str = "", key: KeyArg = None
    ) -> Snapshot:
        """One snapshot, by ID or by name."""
        return await self._typed(
            Snapshot, "getsnapshotmsg", key, colonyname=colony, snapshotid=snapshotid, name=name
        )

    @sends("getsnapshotsmsg")
    async def get_snapshots(self, colony: str, *, key: KeyArg = None) -> list[Snapshot]:
        """The colony's snapshots, oldest first."""
        return await self._typed(list[Snapshot], "getsnapshotsmsg", key, colonyname=colony)

    @sends("removesnapshotmsg")
    async def remove_snapshot(
        self, colony: str, *, snapshotid: str = "", name: str = "", key: KeyArg = None
    ) -> None:
        """Remove a snapshot, by ID or by name (the files stay)."""
        await self.call(
            "removesnapshotmsg", key, colonyname=colony, snapshotid=snapshotid, name=name
        )

    @sends("removeallsnapshotmsg")
    async def remove_all_snapshots(self, colony: str, *, key: KeyArg = None) -> None:
        """Remove every snapshot of the colony (the files stay)."""
        await self.call("removeallsnapshotmsg", key, colonyname=colony)
