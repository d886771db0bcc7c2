"""Generators and crons (docs/protocol.md §6.10, §6.11, §7.10, §7.11)."""

from __future__ import annotations

from colonies.core import Cron, Generator
from colonies.core.cron import CronError, validate_cron
from colonies.core.graphs import GraphError, check_stored_workflow
from colonies.core.submission import SubmissionError
from colonies.core.wire import DecodeError, LimitError
from colonies.crypto import new_random_id
from colonies.rpc import RpcError
from colonies.rpc.messages import (
    AddCronMsg,
    AddGeneratorMsg,
    ColonyCountMsg,
    CronIdMsg,
    GeneratorIdMsg,
    PackGeneratorMsg,
    ResolveGeneratorMsg,
)
from colonies.server.context import Context
from colonies.server.handlers._common import check_count, found, removed, require_name
from colonies.server.handlers.processes import initiator_name
from colonies.server.registry import Registry, Role
from colonies.server.scopes import by_colonyname, colony, cron_scope, generator_scope

routes = Registry()

ADD_GENERATOR = "Failed to add generator"
ADD_CRON = "Failed to add cron"


def check_workflow(text: str, colonyname: str, action: str) -> None:
    """A cron's or generator's workflow spec must submit when it fires: it is checked now as
    a submitted workflow would be (core/graphs.py), so that it fails here, not every tick."""
    try:
        check_stored_workflow(text, colonyname)
    except LimitError as exc:
        raise RpcError(400, f"{action}, workflow spec: {exc}") from None
    except DecodeError as exc:
        raise RpcError(400, f"{action}, invalid workflow spec: {exc}") from None
    except (GraphError, SubmissionError) as exc:
        raise RpcError(400, f"{action}, workflow spec: {exc}") from None


# --- generators -------------------------------------------------------------------------------
@routes.handles(
    "addgeneratormsg",
    AddGeneratorMsg,
    Role.MEMBER,
    action=ADD_GENERATOR,
    scope=colony(lambda m: m.generator.colonyname),
)
async def add_generator(ctx: Context, msg: AddGeneratorMsg) -> Generator:
    g = msg.generator
    require_name(g.name, ADD_GENERATOR, "generator name")
    check_workflow(g.workflowspec, g.colonyname, ADD_GENERATOR)
    if g.trigger < 1:
        raise RpcError(400, f"{ADD_GENERATOR}, trigger must be at least 1")
    g.generatorid = new_random_id()
    g.initiatorid = ctx.caller
    g.initiatorname = initiator_name(ctx, ADD_GENERATOR)
    return await ctx.store.schedules.add_generator(g)


@routes.handles(
    "getgeneratormsg",
    GeneratorIdMsg,
    Role.MEMBER,
    action="Failed to get generator",
    scope=generator_scope,
)
async def get_generator(ctx: Context, msg: GeneratorIdMsg) -> Generator:
    generator: Generator = ctx.target
    return generator


@routes.handles(
    "resolvegeneratormsg",
    ResolveGeneratorMsg,
    Role.MEMBER,
    action="Failed to resolve generator",
    scope=by_colonyname,
)
async def resolve_generator(ctx: Context, msg: ResolveGeneratorMsg) -> Generator:
    generator = await ctx.store.schedules.resolve_generator(msg.colonyname, msg.generatorname)
    return found(generator, f"Generator with name {msg.generatorname}")


@routes.handles(
    "getgeneratorsmsg",
    ColonyCountMsg,
    Role.MEMBER,
    action="Failed to get generators",
    scope=by_colonyname,
)
async def get_generators(ctx: Context, msg: ColonyCountMsg) -> list[Generator]:
    return await ctx.store.schedules.list_generators(msg.colonyname, check_count(msg.count))


@routes.handles(
    "packgeneratormsg",
    PackGeneratorMsg,
    Role.MEMBER,
    action="Failed to pack generator",
    scope=generator_scope,
)
async def pack_generator(ctx: Context, msg: PackGeneratorMsg) -> None:
    if not await ctx.store.schedules.pack(msg.generatorid, msg.arg, ctx.now()):
        raise RpcError(404, f"Generator with id {msg.generatorid} not found")


@routes.handles(
    "removegeneratormsg",
    GeneratorIdMsg,
    Role.MEMBER,
    action="Failed to remove generator",
    scope=generator_scope,
)
async def remove_generator(ctx: Context, msg: GeneratorIdMsg) -> None:
    removed(await ctx.store.schedules.remove_generator(msg.generatorid), "Generator")


# --- crons ------------------------------------------------------------------------------------
@routes.handles(
    "addcronmsg",
    AddCronMsg,
    Role.MEMBER,
    action=ADD_CRON,
    scope=colony(lambda m: m.cron.colonyname),
)
async def add_cron(ctx: Context, msg: AddCronMsg) -> Cron:
    c = msg.cron
    require_name(c.name, ADD_CRON, "cron name")
    check_workflow(c.workflowspec, c.colonyname, ADD_CRON)
    if c.random:
        raise RpcError(400, f"{ADD_CRON}, random crons are not supported")
    if c.interval == 0:
        raise RpcError(400, f"{ADD_CRON}, interval must be -1 (use the expression) or > 0")
    if c.interval < 0:  # the expression; the interval's upper bound is its declared limit
        c.interval = -1
        try:
            validate_cron(c.cronexpression, ctx.now(), ctx.state.timezone)
        except CronError as exc:
            raise RpcError(400, f"{ADD_CRON}, invalid cron expression: {exc}") from None
    c.cronid = new_random_id()
    c.initiatorid = ctx.caller
    c.initiatorname = initiator_name(ctx, ADD_CRON)
    return await ctx.store.schedules.add_cron(c)


@routes.handles("getcronmsg", CronIdMsg, Role.MEMBER, action="Failed to get cron", scope=cron_scope)
async def get_cron(ctx: Context, msg: CronIdMsg) -> Cron:
    cron: Cron = ctx.target
    return cron


@routes.handles(
    "getcronsmsg", ColonyCountMsg, Role.MEMBER, action="Failed to get crons", scope=by_colonyname
)
async def get_crons(ctx: Context, msg: ColonyCountMsg) -> list[Cron]:
    return await ctx.store.schedules.list_crons(msg.colonyname, check_count(msg.count))


@routes.handles("runcronmsg", CronIdMsg, Role.MEMBER, action="Failed to run cron", scope=cron_scope)
async def run_cron(ctx: Context, msg: CronIdMsg) -> Cron:
    try:
        cron = await ctx.store.schedules.run_cron(msg.cronid, ctx.now())
    except (DecodeError, GraphError, SubmissionError, CronError) as exc:  # stored before checks
        raise RpcError(400, f"Failed to run cron, {exc}") from None
    return found(cron, f"Cron with id {msg.cronid}")


@routes.handles(
    "removecronmsg", CronIdMsg, Role.MEMBER, action="Failed to remove cron", scope=cron_scope
)
async def remove_cron(ctx: Context, msg: CronIdMsg) -> None:
    removed(await ctx.store.schedules.remove_cron(msg.cronid), "Cron")
