"""Request nonces in PostgreSQL: each is used once (server/replay.py states the rule).

One verb from the dispatcher down to the SQL: a request *uses* its nonce. The first use
records it in ``request_nonces`` until it expires; a later use finds it there and makes the
request a replay (:class:`Replayed`), which acts on nothing. A request without a nonce (an
existing SDK's, accepted unless the server requires freshness) uses none and is *admitted*
like one whose use succeeded.

A nonce is used in one of two ways:
- on its own, before the request acts (:meth:`NonceStore.use`; the uses of requests that
  arrive together share one statement);
- inside the statement that carries the request out, which then costs no round trip of its
  own: :func:`use_nonce` in a transaction, or :func:`nonce_use_sql` in a single statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from colonies.store.batching import Batcher
from colonies.store.errors import Replayed
from colonies.store.statements import Statement

# Record the nonces not used before; the (caller, nonce) pairs returned are their first uses.
USE_NONCES = Statement("""
INSERT INTO request_nonces (caller, nonce, expires)
SELECT c, n, :expires FROM unnest(:callers::text[], :nonces::text[]) AS t(c, n)
ON CONFLICT DO NOTHING RETURNING caller, nonce
""")


@dataclass(slots=True)
class Nonce:
    """A signed request's nonce, recorded until ``expires`` (the end of its freshness window).

    A request uses its nonce once: ``used`` is set when a statement carrying it is sent (or it
    is used on its own), and the request's later statements carry none (:func:`unused`).
    """

    caller: str
    nonce: str
    expires: datetime
    used: bool = field(default=False, compare=False)


def unused(nonce: Nonce | None) -> Nonce | None:
    """``nonce``, or None when its request has used it already."""
    return nonce if nonce is not None and not nonce.used else None


def nonce_use_sql(keys: str, callers: str, nonces: str, expires: str) -> str:
    """CTEs ``items(key, caller, nonce)`` and ``admitted(key)``: use the items' nonces; the
    keys of the items whose nonce was new (used by this statement) or absent (''). Keys must
    be unique; of items that carry the same nonce (the same request twice at once), only the
    first is admitted."""
    return f"""
items AS (
  SELECT * FROM unnest({keys}::text[], {callers}::text[], {nonces}::text[])
           WITH ORDINALITY AS i(key, caller, nonce, ord)),
used_now AS (
  INSERT INTO request_nonces (caller, nonce, expires)
  SELECT caller, nonce, {expires} FROM items WHERE nonce <> ''
  ON CONFLICT DO NOTHING RETURNING caller, nonce),
admitted AS (
  SELECT key FROM items WHERE nonce = ''
  UNION ALL (SELECT DISTINCT ON (caller, nonce) items.key
               FROM items JOIN used_now USING (caller, nonce)
              ORDER BY caller, nonce, items.ord))"""


def nonce_use_args(
    keys: Sequence[str], nonces: Sequence[Nonce | None]
) -> tuple[list[str], list[str], list[str], datetime | None]:
    """The four arguments of :func:`nonce_use_sql` for these items (their nonces are used)."""
    expires = max((n.expires for n in nonces if n is not None), default=None)
    for nonce in nonces:
        if nonce is not None:
            nonce.used = True
    return (
        list(keys),
        [n.caller if n is not None else "" for n in nonces],
        [n.nonce if n is not None else "" for n in nonces],
        expires,
    )


async def use_nonce(conn: asyncpg.Connection, nonce: Nonce | None) -> None:
    """Use ``nonce`` on ``conn`` (inside the caller's transaction); Replayed if used before."""
    if nonce is None:
        return
    nonce.used = True
    row = await USE_NONCES.fetchrow(
        conn, callers=[nonce.caller], nonces=[nonce.nonce], expires=nonce.expires
    )
    if row is None:
        raise Replayed


class NonceStore:
    """Nonces used on their own, the uses of requests that arrive together in one statement."""

    def __init__(self, pool: asyncpg.Pool, max_batch: int = 256) -> None:
        self.pool = pool
        self._use = Batcher(self._use_batch, max_batch)

    async def use(self, nonce: Nonce | None) -> None:
        """Use ``nonce`` unless its request has (nothing to do then); Replayed when another
        request used it before, also in the same batch."""
        if nonce is None or nonce.used:
            return
        nonce.used = True
        if not await self._use(nonce):
            raise Replayed

    async def _use_batch(self, nonces: list[Nonce]) -> list[bool]:
        return await self.use_many(nonces)

    async def use_many(self, nonces: list[Nonce]) -> list[bool]:
        """Use these nonces in one statement; for each, whether its use was the first (the
        same nonce twice in the list: the second is a replay)."""
        keys = [(n.caller, n.nonce) for n in nonces]
        distinct = list(dict.fromkeys(keys))
        rows = await USE_NONCES.fetch(
            self.pool,
            callers=[caller for caller, _ in distinct],
            nonces=[nonce for _, nonce in distinct],
            expires=max(n.expires for n in nonces),
        )
        first_uses = {(r["caller"], r["nonce"]) for r in rows}
        results = []
        for key in keys:
            results.append(key in first_uses)
            first_uses.discard(key)
        return results
