"""Functions (docs/protocol.md §6.5)."""

from __future__ import annotations

from colonies.core import Executor, Function
from colonies.crypto import new_random_id
from colonies.rpc.messages import AddFunctionMsg, GetFunctionsMsg, RemoveFunctionMsg
from colonies.server.context import Context
from colonies.server.handlers._common import removed, require_name
from colonies.server.registry import Registry, Role
from colonies.server.scopes import by_colonyname, function_owner, named_executor

routes = Registry()

ADD = "Failed to add function"


@routes.handles(
    "addfunctionmsg",
    AddFunctionMsg,
    Role.MEMBER_SELF,
    action=ADD,
    scope=named_executor(lambda m: (m.fun.colonyname, m.fun.executorname)),
)
async def add_function(ctx: Context, msg: AddFunctionMsg) -> Function:
    executor: Executor = ctx.target
    function = msg.fun
    require_name(function.funcname, ADD, "function name")
    function.functionid = function.functionid or new_random_id()
    function.executortype = executor.executortype
    function.locationname = executor.locationname
    return await ctx.store.functions.add(function)


@routes.handles(
    "getfunctionsmsg",
    GetFunctionsMsg,
    Role.MEMBER,
    action="Failed to get functions",
    scope=by_colonyname,
)
async def get_functions(ctx: Context, msg: GetFunctionsMsg) -> list[Function]:
    return await ctx.store.functions.list(msg.colonyname, msg.executorname)


@routes.handles(
    "removefunctionmsg",
    RemoveFunctionMsg,
    Role.SELF,
    action="Failed to remove function",
    scope=function_owner,
)
async def remove_function(ctx: Context, msg: RemoveFunctionMsg) -> None:
    removed(await ctx.store.functions.remove(msg.functionid), f"Function with id {msg.functionid}")
