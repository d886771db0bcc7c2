"""Users of a colony."""

from __future__ import annotations

import asyncpg

from colonies.core import User
from colonies.store.errors import Conflict

_COLUMNS = "colonyname, userid, name, email, phone"


def _user(row: asyncpg.Record) -> User:
    return User(**dict(row))


class UserStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, u: User) -> User:
        try:
            await self.pool.execute(
                f"INSERT INTO users ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5)",
                u.colonyname,
                u.userid,
                u.name,
                u.email,
                u.phone,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"A user with name {u.name} already exists in colony {u.colonyname}"
            ) from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Colony with name {u.colonyname} does not exist") from None
        return u

    async def get(self, colonyname: str, name: str) -> User | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM users WHERE colonyname = $1 AND name = $2", colonyname, name
        )
        return _user(row) if row else None

    async def get_by_id(self, colonyname: str, userid: str) -> User | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM users WHERE colonyname = $1 AND userid = $2 LIMIT 1",
            colonyname,
            userid,
        )
        return _user(row) if row else None

    async def list(self, colonyname: str) -> list[User]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM users WHERE colonyname = $1 ORDER BY name", colonyname
        )
        return [_user(r) for r in rows]

    async def remove(self, colonyname: str, name: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM users WHERE colonyname = $1 AND name = $2", colonyname, name
        )
        return status != "DELETE 0"

    async def change_id(self, colonyname: str, old_id: str, new_id: str) -> bool:
        status = await self.pool.execute(
            "UPDATE users SET userid = $3 WHERE colonyname = $1 AND userid = $2",
            colonyname,
            old_id,
            new_id,
        )
        return status != "UPDATE 0"
