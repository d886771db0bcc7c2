"""Attributes of a process: added (or updated) by its executor or with its submission, read by
ID. A process's reads gather its attributes themselves (store/processes/reads.py)."""

from __future__ import annotations

from typing import Any

import asyncpg

from colonies.core import Attribute
from colonies.store.statements import Statement

# An attribute's ID is derived from its target, key and type: adding it again updates its value.
ADD_ATTRIBUTE = Statement("""
INSERT INTO attributes (attributeid, targetid, targetcolonyname, targetprocessgraphid,
                        attributetype, key, value)
VALUES (:attributeid, :targetid, :targetcolonyname, :targetprocessgraphid,
        :attributetype, :key, :value)
ON CONFLICT (attributeid) DO UPDATE SET value = EXCLUDED.value
""")

# The attribute with its process's current state.
GET_ATTRIBUTE = Statement("""
SELECT a.attributeid, a.targetid, a.targetcolonyname, a.targetprocessgraphid, p.state,
       a.attributetype, a.key, a.value
  FROM attributes a JOIN processes p ON p.processid = a.targetid
 WHERE a.attributeid = :attributeid
""")


def attribute_values(a: Attribute) -> dict[str, Any]:
    """ADD_ATTRIBUTE's parameters for ``a``."""
    return {
        "attributeid": a.attributeid,
        "targetid": a.targetid,
        "targetcolonyname": a.targetcolonyname,
        "targetprocessgraphid": a.targetprocessgraphid,
        "attributetype": a.attributetype,
        "key": a.key,
        "value": a.value,
    }


class Attributes:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, a: Attribute) -> None:
        await ADD_ATTRIBUTE.execute(self.pool, **attribute_values(a))

    async def get(self, attributeid: str) -> Attribute | None:
        row = await GET_ATTRIBUTE.fetchrow(self.pool, attributeid=attributeid)
        return Attribute(**dict(row)) if row else None
