"""Users (docs/protocol.md §6.3)."""

from __future__ import annotations

from colonies.core import User
from colonies.rpc.messages import AddUserMsg, ColonyNameMsg, GetUserByIdMsg, NamedInColonyMsg
from colonies.server.context import Context
from colonies.server.handlers._common import found, removed, require_id, require_name
from colonies.server.registry import Registry, Role
from colonies.server.scopes import by_colonyname, colony

routes = Registry()

ADD = "Failed to add user"


@routes.handles(
    "addusermsg",
    AddUserMsg,
    Role.COLONY_OWNER,
    action=ADD,
    scope=colony(lambda m: m.user.colonyname),
    changes_access=True,
)
async def add_user(ctx: Context, msg: AddUserMsg) -> User:
    user = msg.user
    user.userid = require_id(user.userid, ADD, "user id")
    require_name(user.name, ADD, "user name")
    return await ctx.store.users.add(user)


@routes.handles(
    "removeusermsg",
    NamedInColonyMsg,
    Role.COLONY_OWNER,
    action="Failed to remove user",
    scope=by_colonyname,
    changes_access=True,
)
async def remove_user(ctx: Context, msg: NamedInColonyMsg) -> None:
    removed(await ctx.store.users.remove(msg.colonyname, msg.name), f"User with name {msg.name}")


@routes.handles(
    "getusersmsg", ColonyNameMsg, Role.MEMBER_ANY, action="Failed to get users", scope=by_colonyname
)
async def get_users(ctx: Context, msg: ColonyNameMsg) -> list[User]:
    return await ctx.store.users.list(msg.colonyname)


@routes.handles(
    "getusermsg",
    NamedInColonyMsg,
    Role.MEMBER_ANY,
    action="Failed to get user",
    scope=by_colonyname,
)
async def get_user(ctx: Context, msg: NamedInColonyMsg) -> User:
    return found(await ctx.store.users.get(msg.colonyname, msg.name), f"User with name {msg.name}")


@routes.handles(
    "getuserbyidmsg",
    GetUserByIdMsg,
    Role.MEMBER_ANY,
    action="Failed to get user",
    scope=by_colonyname,
)
async def get_user_by_id(ctx: Context, msg: GetUserByIdMsg) -> User:
    user = await ctx.store.users.get_by_id(msg.colonyname, msg.userid)
    return found(user, f"User with id {msg.userid}")
