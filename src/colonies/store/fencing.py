"""The leader term: the one module that writes and checks it (fencing).

An election cannot promise that a deposed leader stops at once (a paused process wakes up
still believing it leads). So the leader's every tick writes inside a transaction that first
raises the stored term to its own, or finds a newer one and refuses to act (:class:`StaleTerm`).
Terms only grow: the etcd election's term is the create revision of its leader key, the
advisory-lock election's is the stored term plus one (:func:`begin_term`).
"""

from __future__ import annotations

import asyncpg

from colonies.store.statements import Statement

# The term row holds the current term, and its holder's name for the advisory-lock election's
# cluster view (the etcd election keeps the leader's name in etcd instead).
RAISE_TERM = Statement("""
UPDATE leader_term SET term = :term WHERE term <= :term RETURNING term
""")
BEGIN_TERM = Statement("""
UPDATE leader_term SET term = term + 1, holder = :holder, since = now() RETURNING term
""")
CURRENT_TERM = Statement("SELECT term FROM leader_term")
TERM_HOLDER = Statement("SELECT holder FROM leader_term")


class StaleTerm(Exception):
    """A newer leader has ticked: this replica must not act."""


async def fence(conn: asyncpg.Connection, term: int) -> None:
    """Inside the tick's transaction: hold the term row and require ours to be current."""
    if await RAISE_TERM.fetchval(conn, term=term) is None:
        raise StaleTerm(f"term {term} is stale")


async def begin_term(conn: asyncpg.Connection, holder: str) -> int:
    """A new term for ``holder``, above every term so far (the advisory-lock election)."""
    term: int = await BEGIN_TERM.fetchval(conn, holder=holder)
    return term


async def current_term(pool: asyncpg.Pool) -> int:
    term: int = await CURRENT_TERM.fetchval(pool)
    return term


async def term_holder(pool: asyncpg.Pool) -> str:
    """The name stored with the term by the advisory-lock election."""
    name: str = await TERM_HOLDER.fetchval(pool)
    return name
