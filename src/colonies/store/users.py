"""Users of a colony."""

from __future__ import annotations

import asyncpg

from colonies.core import User
from colonies.store.errors import Conflict
from colonies.store.statements import Statement

# A user's ID is unique in its colony (migration 012): the index that says so.
ID_INDEX = "users_by_id"

ADD = Statement("""
INSERT INTO users (colonyname, userid, name, email, phone)
VALUES (:colonyname, :userid, :name, :email, :phone)
""")

GET = Statement("""
SELECT colonyname, userid, name, email, phone FROM users
 WHERE colonyname = :colonyname AND name = :name
""")

GET_BY_ID = Statement("""
SELECT colonyname, userid, name, email, phone FROM users
 WHERE colonyname = :colonyname AND userid = :userid
""")

LIST = Statement("""
SELECT colonyname, userid, name, email, phone FROM users
 WHERE colonyname = :colonyname
 ORDER BY name
""")

REMOVE = Statement("DELETE FROM users WHERE colonyname = :colonyname AND name = :name")

CHANGE_ID = Statement("""
UPDATE users SET userid = :new_id WHERE colonyname = :colonyname AND userid = :old_id
""")


def _user(row: asyncpg.Record) -> User:
    return User(**dict(row))


class UserStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, u: User) -> User:
        try:
            await ADD.execute(
                self.pool,
                colonyname=u.colonyname,
                userid=u.userid,
                name=u.name,
                email=u.email,
                phone=u.phone,
            )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == ID_INDEX:
                raise Conflict(
                    f"A user with id {u.userid} already exists in colony {u.colonyname}"
                ) from None
            raise Conflict(
                f"A user with name {u.name} already exists in colony {u.colonyname}"
            ) from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Colony with name {u.colonyname} does not exist") from None
        return u

    async def get(self, colonyname: str, name: str) -> User | None:
        row = await GET.fetchrow(self.pool, colonyname=colonyname, name=name)
        return _user(row) if row else None

    async def get_by_id(self, colonyname: str, userid: str) -> User | None:
        row = await GET_BY_ID.fetchrow(self.pool, colonyname=colonyname, userid=userid)
        return _user(row) if row else None

    async def list(self, colonyname: str) -> list[User]:
        return [_user(r) for r in await LIST.fetch(self.pool, colonyname=colonyname)]

    async def remove(self, colonyname: str, name: str) -> bool:
        return await REMOVE.execute(self.pool, colonyname=colonyname, name=name) != "DELETE 0"

    async def change_id(self, colonyname: str, old_id: str, new_id: str) -> bool:
        try:
            status = await CHANGE_ID.execute(
                self.pool, colonyname=colonyname, old_id=old_id, new_id=new_id
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"A user with id {new_id} already exists in colony {colonyname}"
            ) from None
        return status != "UPDATE 0"
