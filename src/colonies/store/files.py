"""ColonyFS metadata: files (with revisions) and snapshots. The bytes live in S3."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from colonies.core import File, FileData, Label, Reference, Snapshot
from colonies.store.errors import Conflict

_FILE_COLUMNS = (
    "fileid, colonyname, label, name, size, sequencenr, checksum, checksumalg, ref, added, "
    "creatorid"
)
_SNAPSHOT_COLUMNS = "snapshotid, colonyname, label, name, fileids, added"


def _file(row: asyncpg.Record) -> tuple[File, str]:
    """The File and its creator's ID (kept off the wire shape, §7.13)."""
    f = File(
        fileid=row["fileid"],
        colonyname=row["colonyname"],
        label=row["label"],
        name=row["name"],
        size=row["size"],
        sequencenr=row["sequencenr"],
        checksum=row["checksum"],
        checksumalg=row["checksumalg"],
        ref=msgspec.convert(row["ref"], Reference),
        added=row["added"],
    )
    return f, row["creatorid"]


def _snapshot(row: asyncpg.Record) -> Snapshot:
    return Snapshot(**dict(row))


class FileStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, f: File, creatorid: str) -> File:
        try:
            row = await self.pool.fetchrow(
                "INSERT INTO files (fileid, colonyname, label, name, size, checksum, checksumalg, "
                "ref, added, creatorid) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) "
                "RETURNING sequencenr",
                f.fileid,
                f.colonyname,
                f.label,
                f.name,
                f.size,
                f.checksum,
                f.checksumalg,
                msgspec.to_builtins(f.ref),
                f.added,
                creatorid,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"File with id {f.fileid} already exists") from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Colony with name {f.colonyname} does not exist") from None
        f.sequencenr = row["sequencenr"]
        return f

    async def get_by_id(self, colonyname: str, fileid: str) -> list[tuple[File, str]]:
        rows = await self.pool.fetch(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE colonyname = $1 AND fileid = $2",
            colonyname,
            fileid,
        )
        return [_file(r) for r in rows]

    async def get_by_name(
        self, colonyname: str, label: str, name: str, latest: bool
    ) -> list[tuple[File, str]]:
        rows = await self.pool.fetch(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE colonyname = $1 AND label = $2 AND name = $3 "
            "ORDER BY sequencenr DESC" + (" LIMIT 1" if latest else ""),
            colonyname,
            label,
            name,
        )
        return [_file(r) for r in rows]

    async def list_names(self, colonyname: str, label: str) -> list[FileData]:
        rows = await self.pool.fetch(
            "SELECT DISTINCT ON (name) name, checksum, size, ref->'s3object'->>'object' AS obj "
            "FROM files WHERE colonyname = $1 AND label = $2 ORDER BY name, sequencenr DESC",
            colonyname,
            label,
        )
        return [
            FileData(name=r["name"], checksum=r["checksum"], size=r["size"], s3filename=r["obj"])
            for r in rows
        ]

    async def labels(self, colonyname: str, name: str, exact: bool) -> list[Label]:
        if exact:
            where, arg = "label = $2", name
        else:
            where, arg = "starts_with(label, $2)", name
        rows = await self.pool.fetch(
            f"SELECT label, count(DISTINCT name) AS files FROM files "
            f"WHERE colonyname = $1 AND {where} GROUP BY label ORDER BY label",
            colonyname,
            arg,
        )
        return [Label(name=r["label"], files=r["files"]) for r in rows]

    async def remove_by_id(self, colonyname: str, fileid: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM files WHERE colonyname = $1 AND fileid = $2", colonyname, fileid
        )
        return status != "DELETE 0"

    async def remove_by_name(self, colonyname: str, label: str, name: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM files WHERE colonyname = $1 AND label = $2 AND name = $3",
            colonyname,
            label,
            name,
        )
        return status != "DELETE 0"

    # --- snapshots ----------------------------------------------------------------------------
    async def create_snapshot(
        self, snapshotid: str, colonyname: str, label: str, name: str, added: datetime
    ) -> Snapshot:
        """Freeze the newest revision of every file in ``label`` and the labels below it.

        A trailing ``/`` is dropped (upstream's CLI sends ``/data/``); ``/data`` takes ``/data``
        and ``/data/...`` but not ``/data2``, as upstream's server does.
        """
        label = label.rstrip("/")
        try:
            row = await self.pool.fetchrow(
                f"""
                INSERT INTO snapshots ({_SNAPSHOT_COLUMNS})
                SELECT $1, $2, $3, $4,
                       coalesce(array_agg(fileid ORDER BY label, name), '{{}}'), $5
                  FROM (SELECT DISTINCT ON (label, name) fileid, label, name FROM files
                         WHERE colonyname = $2
                           AND (label = $3 OR starts_with(label, $3 || '/'))
                         ORDER BY label, name, sequencenr DESC) newest
                RETURNING {_SNAPSHOT_COLUMNS}""",
                snapshotid,
                colonyname,
                label,
                name,
                added,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"Snapshot with name {name} already exists") from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Colony with name {colonyname} does not exist") from None
        return _snapshot(row)

    async def get_snapshot(self, colonyname: str, snapshotid: str, name: str) -> Snapshot | None:
        if snapshotid:
            where, arg = "snapshotid = $2", snapshotid
        else:
            where, arg = "name = $2", name
        row = await self.pool.fetchrow(
            f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE colonyname = $1 AND {where}",
            colonyname,
            arg,
        )
        return _snapshot(row) if row else None

    async def list_snapshots(self, colonyname: str) -> list[Snapshot]:
        rows = await self.pool.fetch(
            f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE colonyname = $1 ORDER BY added",
            colonyname,
        )
        return [_snapshot(r) for r in rows]

    async def remove_snapshot(self, colonyname: str, snapshotid: str, name: str) -> bool:
        if snapshotid:
            where, arg = "snapshotid = $2", snapshotid
        else:
            where, arg = "name = $2", name
        status = await self.pool.execute(
            f"DELETE FROM snapshots WHERE colonyname = $1 AND {where}", colonyname, arg
        )
        return status != "DELETE 0"

    async def remove_all_snapshots(self, colonyname: str) -> None:
        await self.pool.execute("DELETE FROM snapshots WHERE colonyname = $1", colonyname)
