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
from colonies.store.statements import Statement

GENESIS = b"\x00"
SEAL_BATCH = 5000

UNSEALED = Statement("""
SELECT seq, ts, kind, objectid, colonyname, event, state, actor
  FROM ledger
 WHERE chain_pos IS NULL
 ORDER BY seq
 LIMIT :count
""")

# The sealed entries after a chain position, in chain order.
CHAIN = Statement("""
SELECT seq, ts, kind, objectid, colonyname, event, state, actor, chain_pos, prevhash, hash
  FROM ledger
 WHERE chain_pos IS NOT NULL AND chain_pos > :after
 ORDER BY chain_pos
 LIMIT :count
""")


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


# One statement per batch: each entry's chain position, predecessor's hash and own hash.
SEAL = Statement("""
UPDATE ledger l SET chain_pos = u.pos, prevhash = u.prev, hash = u.digest
  FROM unnest(:seqs::bigint[], :positions::bigint[], :prevhashes::bytea[], :hashes::bytea[])
       AS u(seq, pos, prev, digest)
 WHERE l.seq = u.seq
""")

LOCK_HEAD = Statement("SELECT chain_pos, hash FROM ledger_head FOR UPDATE")

HEAD = Statement("SELECT chain_pos, hash FROM ledger_head")

MOVE_HEAD = Statement("UPDATE ledger_head SET chain_pos = :chain_pos, hash = :hash")

# The newest checkpoint: what an operator copies elsewhere (colonies ledger head).
LATEST_CHECKPOINT = Statement("""
SELECT chain_pos, hash, ts, signer, signature
  FROM ledger_checkpoints
 ORDER BY chain_pos DESC
 LIMIT 1
""")

# The sealed entry at one chain position.
ENTRY_AT = Statement("SELECT hash FROM ledger WHERE chain_pos = :chain_pos")

# Every entry of one process or workflow, oldest first.
HISTORY = Statement("""
SELECT seq, ts, kind, event, state, actor, chain_pos
  FROM ledger
 WHERE objectid = :objectid
 ORDER BY seq
""")


async def seal(conn: asyncpg.Connection) -> tuple[int, bytes, int]:
    """Seal unsealed entries on ``conn`` (inside the caller's fenced transaction).

    Returns (how many were sealed, the head hash, the head position)."""
    head = await LOCK_HEAD.fetchrow(conn)
    assert head is not None  # one row, from the migration
    position, prev = int(head["chain_pos"]), bytes(head["hash"])
    rows = await UNSEALED.fetch(conn, count=SEAL_BATCH)
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
    await SEAL.execute(conn, seqs=seqs, positions=positions, prevhashes=prevs, hashes=digests)
    await MOVE_HEAD.execute(conn, chain_pos=position, hash=prev)
    return len(rows), prev, position


async def verify(conn: asyncpg.Connection, batch: int = 10_000) -> Verification:
    """Walk the whole chain; report the first position whose link or hash does not hold.

    The chain and its head are read in one snapshot: a leader sealing meanwhile would
    otherwise move the head past the entries already walked."""
    if conn.is_in_transaction():
        return await _verify(conn, batch)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _verify(conn, batch)


async def _verify(conn: asyncpg.Connection, batch: int) -> Verification:
    prev, expected_pos, count = GENESIS, 1, 0
    after = 0
    while True:
        rows = await CHAIN.fetch(conn, after=after, count=batch)
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
    head = await HEAD.fetchrow(conn)
    if head is not None and (int(head["chain_pos"]) != count or bytes(head["hash"]) != prev):
        return Verification(count, count + 1, "the chain ends before its recorded head")
    return Verification(count, None)


@dataclass(frozen=True)
class Checkpoint:
    """A chain position and the hash of its entry, as copied elsewhere: ``<position>:<hex>``."""

    chain_pos: int
    hash: bytes

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        position, _, digest = text.strip().partition(":")
        try:
            checkpoint = cls(int(position), bytes.fromhex(digest))
        except ValueError:
            checkpoint = cls(0, b"")
        if checkpoint.chain_pos <= 0 or len(checkpoint.hash) != 32:
            raise ValueError(f"a checkpoint is <position>:<64 hex digits>, not {text!r}")
        return checkpoint

    def __str__(self) -> str:
        return f"{self.chain_pos}:{self.hash.hex()}"


async def latest_checkpoint(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await LATEST_CHECKPOINT.fetchrow(conn)


async def check_checkpoint(conn: asyncpg.Connection, checkpoint: Checkpoint) -> str | None:
    """None when the chain still holds ``checkpoint``; else what became of it. A database
    restored from a backup older than the checkpoint ends before it, or (once the leader has
    sealed new entries over the lost ones) holds another entry at its position."""
    head = await HEAD.fetchrow(conn)
    head_pos = int(head["chain_pos"]) if head is not None else 0
    if head_pos < checkpoint.chain_pos:
        return (
            f"the chain ends at entry {head_pos}, before the checkpoint at entry "
            f"{checkpoint.chain_pos}: entries {head_pos + 1} to {checkpoint.chain_pos} (at "
            "least) are gone, as after a restore from an older backup"
        )
    found = await ENTRY_AT.fetchval(conn, chain_pos=checkpoint.chain_pos)
    if found is None or bytes(found) != checkpoint.hash:
        return (
            f"entry {checkpoint.chain_pos} is not the checkpoint's: the chain was rewritten "
            "from there or before, or restored from an older backup and sealed anew"
        )
    return None


async def history(conn: asyncpg.Connection, objectid: str) -> list[asyncpg.Record]:
    return await HISTORY.fetch(conn, objectid=objectid)
