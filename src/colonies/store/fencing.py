"""The leader term: the one module that writes and checks it (fencing).

An election cannot promise that a deposed leader stops at once (a paused process wakes up
still believing it leads). So the leader's every tick writes inside a transaction that first
raises the stored term to its own, or finds a newer one and refuses to act (:class:`StaleTerm`).
Terms only grow: the etcd election's term is the create revision of its leader key, the
advisory-lock election's is the stored term plus one (:func:`begin_term`).
"""

from __future__ import annotations

import asyncpg

# The term row holds the current term, and its holder's name for the advisory-lock election's
# cluster view (the etcd election keeps the leader's name in etcd instead).
_FENCE = "UPDATE leader_term SET term = $1 WHERE term <= $1 RETURNING term"
_BEGIN_TERM = "UPDATE leader_term SET term = term + 1, holder = $1, since = now() RETURNING term"


class StaleTerm(Exception):
    """A newer leader has ticked: this replica must not act."""


async def fence(conn: asyncpg.Connection, term: int) -> None:
    """Inside the tick's transaction: hold the term row and require ours to be current."""
    if await conn.fetchval(_FENCE, term) is None:
        raise StaleTerm(f"term {term} is stale")


async def begin_term(conn: asyncpg.Connection, holder: str) -> int:
    """A new term for ``holder``, above every term so far (the advisory-lock election)."""
    term: int = await conn.fetchval(_BEGIN_TERM, holder)
    return term


async def current_term(pool: asyncpg.Pool) -> int:
    term: int = await pool.fetchval("SELECT term FROM leader_term")
    return term


async def term_holder(pool: asyncpg.Pool) -> str:
    """The name stored with the term by the advisory-lock election."""
    name: str = await pool.fetchval("SELECT holder FROM leader_term")
    return name
