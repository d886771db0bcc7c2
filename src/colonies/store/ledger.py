"""The execution ledger: sealing entries into a SHA3-256 hash chain, checkpoints, verification.

Triggers append an entry in the transaction of every process or workflow state change (no lock,
so the claim path only pays one small insert). The leader seals unsealed entries in ``seq``
order: each gets the next chain position, its predecessor's hash, and its own hash over a
canonical encoding. Editing or deleting any sealed row breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from colonies.core.timeutil import to_unix_ns

GENESIS = b"\x00"
SEAL_BATCH = 5000

_UNSEALED = (
    "SELECT seq, ts, kind, objectid, colonyname, event, state, actor FROM ledger "
    "WHERE chain_pos IS NULL ORDER BY seq LIMIT $1"
)
_CHAIN = (
    "SELECT seq, ts, kind, objectid, colonyname, event, state, actor, chain_pos, prevhash, hash "
    "FROM ledger WHERE chain_pos IS NOT NULL AND chain_pos > $1 ORDER BY chain_pos LIMIT $2"
)


def entry_hash(prevhash: bytes, chain_pos: int, row: asyncpg.Record | dict[str, object]) -> bytes:
    """SHA3-256 over the canonical JSON of the entry and its predecessor's hash."""
    ts = row["ts"]
    canonical = json.dumps(
        [
            chain_pos,
            prevhash.hex(),
            row["seq"],
            to_unix_ns(ts) if isinstance(ts, datetime) else ts,
            row["kind"],
            row["objectid"],
            row["colonyname"],
            row["event"],
            row["state"],
            row["actor"],
        ],
        separators=(",", ":"),
    )
    return hashlib.sha3_256(canonical.encode()).digest()


@dataclass(frozen=True)
class Verification:
    entries: int
    broken_at: int | None  # the first chain position whose link does not hold
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


_SEAL = """
UPDATE ledger l SET chain_pos = u.pos, prevhash = u.prev, hash = u.digest
  FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[]) AS u(seq, pos, prev, digest)
 WHERE l.seq = u.seq
"""


async def seal(conn: asyncpg.Connection) -> tuple[int, bytes, int]:
    """Seal unsealed entries on ``conn`` (inside the caller's fenced transaction).

    Returns (how many were sealed, the head hash, the head position)."""
    head = await conn.fetchrow("SELECT chain_pos, hash FROM ledger_head FOR UPDATE")
    position, prev = int(head["chain_pos"]), bytes(head["hash"])
    rows = await conn.fetch(_UNSEALED, SEAL_BATCH)
    if not rows:
        return 0, prev, position
    seqs, positions, prevs, digests = [], [], [], []
    for row in rows:
        position += 1
        digest = entry_hash(prev, position, row)
        seqs.append(row["seq"])
        positions.append(position)
        prevs.append(prev)
        digests.append(digest)
        prev = digest
    await conn.execute(_SEAL, seqs, positions, prevs, digests)  # one statement per batch
    await conn.execute("UPDATE ledger_head SET chain_pos = $1, hash = $2", position, prev)
    return len(rows), prev, position


async def verify(conn: asyncpg.Connection, batch: int = 10_000) -> Verification:
    """Walk the whole chain; report the first position whose link or hash does not hold."""
    prev, expected_pos, count = GENESIS, 1, 0
    after = 0
    while True:
        rows = await conn.fetch(_CHAIN, after, batch)
        if not rows:
            break
        for row in rows:
            pos = int(row["chain_pos"])
            if pos != expected_pos:
                return Verification(count, expected_pos, f"entry {expected_pos} is missing")
            if bytes(row["prevhash"]) != prev:
                return Verification(count, pos, "does not hold its predecessor's hash")
            if entry_hash(prev, pos, row) != bytes(row["hash"]):
                return Verification(count, pos, "its content does not match its hash")
            prev = bytes(row["hash"])
            expected_pos += 1
            count += 1
        after = int(rows[-1]["chain_pos"])
    head = await conn.fetchrow("SELECT chain_pos, hash FROM ledger_head")
    if head is not None and (int(head["chain_pos"]) != count or bytes(head["hash"]) != prev):
        return Verification(count, count + 1, "the chain ends before its recorded head")
    return Verification(count, None)


async def history(conn: asyncpg.Connection, objectid: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT seq, ts, kind, event, state, actor, chain_pos FROM ledger WHERE objectid = $1 "
        "ORDER BY seq",
        objectid,
    )
