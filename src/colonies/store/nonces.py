"""Replay protection inside the statement that acts: the hottest requests record their nonce in
the same statement that carries them out, so the replay check costs no round trip of its own.

A request is *admitted* when its (caller, nonce) is new, or when it carries no nonce (an
existing SDK's request, accepted unless the server requires freshness, which the dispatcher
checks before). A pair already recorded is a replay and has no effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from colonies.store.errors import Replayed

USE_NONCES = """
INSERT INTO request_nonces (caller, nonce, expires)
SELECT c, n, $3 FROM unnest($1::text[], $2::text[]) AS t(c, n)
ON CONFLICT DO NOTHING RETURNING caller, nonce
"""


@dataclass(frozen=True, slots=True)
class Nonce:
    """A signed request's nonce, to be recorded until ``expires`` (the freshness window)."""

    caller: str
    nonce: str
    expires: datetime


def admitted_sql(keys: str, callers: str, nonces: str, expires: str) -> str:
    """CTEs ``items(key, caller, nonce)`` and ``admitted(key)``: the keys of the items whose
    nonce was new (recorded by this statement) or absent (''). Keys and nonces must be unique
    within the statement (see :func:`first_uses`)."""
    return f"""
items AS (
  SELECT * FROM unnest({keys}::text[], {callers}::text[], {nonces}::text[])
           AS i(key, caller, nonce)),
fresh AS (
  INSERT INTO request_nonces (caller, nonce, expires)
  SELECT caller, nonce, {expires} FROM items WHERE nonce <> ''
  ON CONFLICT DO NOTHING RETURNING caller, nonce),
admitted AS (
  SELECT key FROM items WHERE nonce = ''
  UNION ALL SELECT items.key FROM items JOIN fresh USING (caller, nonce))"""


def admission_args(
    keys: Sequence[str], nonces: Sequence[Nonce | None]
) -> tuple[list[str], list[str], list[str], datetime | None]:
    """The four arguments of :func:`admitted_sql` for these items."""
    expires = max((n.expires for n in nonces if n is not None), default=None)
    return (
        list(keys),
        [n.caller if n is not None else "" for n in nonces],
        [n.nonce if n is not None else "" for n in nonces],
        expires,
    )


def first_uses(nonces: Sequence[Nonce | None]) -> list[bool]:
    """False for an item whose (caller, nonce) an earlier item of the same batch carries: the
    second of two identical requests sent at once is the replay."""
    seen: set[tuple[str, str]] = set()
    firsts = []
    for n in nonces:
        if n is None:
            firsts.append(True)
            continue
        key = (n.caller, n.nonce)
        firsts.append(key not in seen)
        seen.add(key)
    return firsts


async def use_nonce(conn: asyncpg.Connection, nonce: Nonce | None) -> None:
    """Record ``nonce`` on ``conn`` (inside the caller's transaction); Replayed if used before."""
    if nonce is None:
        return
    row = await conn.fetchrow(USE_NONCES, [nonce.caller], [nonce.nonce], nonce.expires)
    if row is None:
        raise Replayed
