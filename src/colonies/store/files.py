"""ColonyFS metadata: files (with revisions) and snapshots. The bytes live in S3."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from colonies.core import File, FileData, Label, Reference, Snapshot
from colonies.store.errors import Conflict
from colonies.store.statements import Statement

# A new revision of a file: the table hands out its sequence number.
ADD_FILE = Statement("""
INSERT INTO files (fileid, colonyname, label, name, size, checksum, checksumalg, ref, added,
                   creatorid)
VALUES (:fileid, :colonyname, :label, :name, :size, :checksum, :checksumalg, :ref, :added,
        :creatorid)
RETURNING sequencenr
""")

FILE_BY_ID = Statement("""
SELECT fileid, colonyname, label, name, size, sequencenr, checksum, checksumalg, ref, added,
       creatorid
  FROM files
 WHERE colonyname = :colonyname AND fileid = :fileid
""")

# The revisions of a file, newest first; :limit 1 for the newest only, NULL for all.
FILE_REVISIONS = Statement("""
SELECT fileid, colonyname, label, name, size, sequencenr, checksum, checksumalg, ref, added,
       creatorid
  FROM files
 WHERE colonyname = :colonyname AND label = :label AND name = :name
 ORDER BY sequencenr DESC
 LIMIT :limit
""")

# The newest revision of every file under a label.
FILE_NAMES = Statement("""
SELECT DISTINCT ON (name) name, checksum, size, ref->'s3object'->>'object' AS obj
  FROM files
 WHERE colonyname = :colonyname AND label = :label
 ORDER BY name, sequencenr DESC
""")

LABEL = Statement("""
SELECT label, count(DISTINCT name) AS files
  FROM files
 WHERE colonyname = :colonyname AND label = :label
 GROUP BY label
 ORDER BY label
""")

LABELS_UNDER = Statement("""
SELECT label, count(DISTINCT name) AS files
  FROM files
 WHERE colonyname = :colonyname AND starts_with(label, :prefix)
 GROUP BY label
 ORDER BY label
""")

REMOVE_FILE_BY_ID = Statement("""
DELETE FROM files WHERE colonyname = :colonyname AND fileid = :fileid
""")

REMOVE_FILE_BY_NAME = Statement("""
DELETE FROM files WHERE colonyname = :colonyname AND label = :label AND name = :name
""")

# A snapshot freezes the newest revision of every file whose label starts with :label.
ADD_SNAPSHOT = Statement("""
INSERT INTO snapshots (snapshotid, colonyname, label, name, fileids, added)
SELECT :snapshotid, :colonyname, :label, :name,
       coalesce(array_agg(fileid ORDER BY label, name), '{}'), :added
  FROM (SELECT DISTINCT ON (label, name) fileid, label, name FROM files
         WHERE colonyname = :colonyname
           AND (label = :label OR starts_with(label, :label || '/'))
         ORDER BY label, name, sequencenr DESC) newest
RETURNING snapshotid, colonyname, label, name, fileids, added
""")

SNAPSHOT_BY_ID = Statement("""
SELECT snapshotid, colonyname, label, name, fileids, added
  FROM snapshots
 WHERE colonyname = :colonyname AND snapshotid = :snapshotid
""")

SNAPSHOT_BY_NAME = Statement("""
SELECT snapshotid, colonyname, label, name, fileids, added
  FROM snapshots
 WHERE colonyname = :colonyname AND name = :name
""")

SNAPSHOTS = Statement("""
SELECT snapshotid, colonyname, label, name, fileids, added
  FROM snapshots
 WHERE colonyname = :colonyname
 ORDER BY added
""")

REMOVE_SNAPSHOT_BY_ID = Statement("""
DELETE FROM snapshots WHERE colonyname = :colonyname AND snapshotid = :snapshotid
""")

REMOVE_SNAPSHOT_BY_NAME = Statement("""
DELETE FROM snapshots WHERE colonyname = :colonyname AND name = :name
""")

REMOVE_SNAPSHOTS = Statement("DELETE FROM snapshots WHERE colonyname = :colonyname")


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
            sequencenr = await ADD_FILE.fetchval(
                self.pool,
                fileid=f.fileid,
                colonyname=f.colonyname,
                label=f.label,
                name=f.name,
                size=f.size,
                checksum=f.checksum,
                checksumalg=f.checksumalg,
                ref=msgspec.to_builtins(f.ref),
                added=f.added,
                creatorid=creatorid,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"File with id {f.fileid} already exists") from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Colony with name {f.colonyname} does not exist") from None
        f.sequencenr = sequencenr
        return f

    async def get_by_id(self, colonyname: str, fileid: str) -> list[tuple[File, str]]:
        rows = await FILE_BY_ID.fetch(self.pool, colonyname=colonyname, fileid=fileid)
        return [_file(r) for r in rows]

    async def get_by_name(
        self, colonyname: str, label: str, name: str, latest: bool
    ) -> list[tuple[File, str]]:
        rows = await FILE_REVISIONS.fetch(
            self.pool, colonyname=colonyname, label=label, name=name, limit=1 if latest else None
        )
        return [_file(r) for r in rows]

    async def list_names(self, colonyname: str, label: str) -> list[FileData]:
        rows = await FILE_NAMES.fetch(self.pool, colonyname=colonyname, label=label)
        return [
            FileData(name=r["name"], checksum=r["checksum"], size=r["size"], s3filename=r["obj"])
            for r in rows
        ]

    async def labels(self, colonyname: str, name: str, exact: bool) -> list[Label]:
        """The label ``name`` (``exact``) or every label that starts with it."""
        if exact:
            rows = await LABEL.fetch(self.pool, colonyname=colonyname, label=name)
        else:
            rows = await LABELS_UNDER.fetch(self.pool, colonyname=colonyname, prefix=name)
        return [Label(name=r["label"], files=r["files"]) for r in rows]

    async def remove_by_id(self, colonyname: str, fileid: str) -> bool:
        status = await REMOVE_FILE_BY_ID.execute(self.pool, colonyname=colonyname, fileid=fileid)
        return status != "DELETE 0"

    async def remove_by_name(self, colonyname: str, label: str, name: str) -> bool:
        status = await REMOVE_FILE_BY_NAME.execute(
            self.pool, colonyname=colonyname, label=label, name=name
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
            row = await ADD_SNAPSHOT.fetchrow(
                self.pool,
                snapshotid=snapshotid,
                colonyname=colonyname,
                label=label,
                name=name,
                added=added,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"Snapshot with name {name} already exists") from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Colony with name {colonyname} does not exist") from None
        assert row is not None  # INSERT ... SELECT of an aggregate: one row
        return _snapshot(row)

    async def get_snapshot(self, colonyname: str, snapshotid: str, name: str) -> Snapshot | None:
        """The snapshot ``snapshotid`` if given, else the one named ``name``."""
        if snapshotid:
            row = await SNAPSHOT_BY_ID.fetchrow(
                self.pool, colonyname=colonyname, snapshotid=snapshotid
            )
        else:
            row = await SNAPSHOT_BY_NAME.fetchrow(self.pool, colonyname=colonyname, name=name)
        return _snapshot(row) if row else None

    async def list_snapshots(self, colonyname: str) -> list[Snapshot]:
        return [_snapshot(r) for r in await SNAPSHOTS.fetch(self.pool, colonyname=colonyname)]

    async def remove_snapshot(self, colonyname: str, snapshotid: str, name: str) -> bool:
        if snapshotid:
            status = await REMOVE_SNAPSHOT_BY_ID.execute(
                self.pool, colonyname=colonyname, snapshotid=snapshotid
            )
        else:
            status = await REMOVE_SNAPSHOT_BY_NAME.execute(
                self.pool, colonyname=colonyname, name=name
            )
        return status != "DELETE 0"

    async def remove_all_snapshots(self, colonyname: str) -> None:
        await REMOVE_SNAPSHOTS.execute(self.pool, colonyname=colonyname)
