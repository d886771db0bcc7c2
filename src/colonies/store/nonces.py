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
    nonce was new (recorded by this statement) or absent (''). Keys must be unique; of items
    that carry the same nonce (the same request twice at once), only the first is admitted."""
    return f"""
items AS (
  SELECT * FROM unnest({keys}::text[], {callers}::text[], {nonces}::text[])
           WITH ORDINALITY AS i(key, caller, nonce, ord)),
fresh AS (
  INSERT INTO request_nonces (caller, nonce, expires)
  SELECT caller, nonce, {expires} FROM items WHERE nonce <> ''
  ON CONFLICT DO NOTHING RETURNING caller, nonce),
admitted AS (
  SELECT key FROM items WHERE nonce = ''
  UNION ALL (SELECT DISTINCT ON (caller, nonce) items.key
               FROM items JOIN fresh USING (caller, nonce)
              ORDER BY caller, nonce, items.ord))"""


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


async def use_nonce(conn: asyncpg.Connection, nonce: Nonce | None) -> None:
    """Record ``nonce`` on ``conn`` (inside the caller's transaction); Replayed if used before."""
    if nonce is None:
        return
    row = await conn.fetchrow(USE_NONCES, [nonce.caller], [nonce.nonce], nonce.expires)
    if row is None:
        raise Replayed
