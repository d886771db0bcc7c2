"""Locations (docs/protocol.md §6.4)."""

from __future__ import annotations

from colonies.core import Location
from colonies.crypto import new_random_id
from colonies.rpc.messages import AddLocationMsg, ColonyNameMsg, NamedInColonyMsg
from colonies.server.context import Context
from colonies.server.handlers._common import found, removed, require_name
from colonies.server.registry import Registry, Role
from colonies.server.scopes import by_colonyname, colony

routes = Registry()

ADD = "Failed to add location"


@routes.handles(
    "addlocationmsg",
    AddLocationMsg,
    Role.COLONY_OWNER,
    action=ADD,
    scope=colony(lambda m: m.location.colonyname),
)
async def add_location(ctx: Context, msg: AddLocationMsg) -> Location:
    location = msg.location
    require_name(location.name, ADD, "location name")
    location.locationid = location.locationid or new_random_id()
    return await ctx.store.locations.add(location)


@routes.handles(
    "removelocationmsg",
    NamedInColonyMsg,
    Role.COLONY_OWNER,
    action="Failed to remove location",
    scope=by_colonyname,
)
async def remove_location(ctx: Context, msg: NamedInColonyMsg) -> None:
    ok = await ctx.store.locations.remove(msg.colonyname, msg.name)
    removed(ok, f"Location with name {msg.name}")


@routes.handles(
    "getlocationsmsg",
    ColonyNameMsg,
    Role.MEMBER_ANY,
    action="Failed to get locations",
    scope=by_colonyname,
)
async def get_locations(ctx: Context, msg: ColonyNameMsg) -> list[Location]:
    return await ctx.store.locations.list(msg.colonyname)


@routes.handles(
    "getlocationmsg",
    NamedInColonyMsg,
    Role.MEMBER_ANY,
    action="Failed to get location",
    scope=by_colonyname,
)
async def get_location(ctx: Context, msg: NamedInColonyMsg) -> Location:
    location = await ctx.store.locations.get(msg.colonyname, msg.name)
    return found(location, f"Location with name {msg.name}")
