"""The route table: assembled from the handler modules listed in server/routes.py, printable,
and checked when a route is declared."""

from __future__ import annotations

import io

import pytest

from colonies.rpc.messages import ColonyNameMsg
from colonies.server.registry import Registry, Role
from colonies.server.routes import HANDLER_MODULES, print_route_table, registry, route_table
from colonies.server.scopes import by_colonyname


def test_every_route_comes_from_a_listed_handler_module():
    listed = {module.__name__ for module in HANDLER_MODULES}
    table = route_table()
    assert len(table) == len(registry.routes) == 101
    for payloadtype, role, handler in table:
        module, _, function = handler.rpartition(".")
        assert module in listed, (payloadtype, handler)
        assert registry.routes[payloadtype].handler.__name__ == function
        assert role is registry.routes[payloadtype].role


def test_the_printed_table_names_role_and_handler():
    out = io.StringIO()
    print_route_table(out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["payloadtype", "role", "handler"]
    assert len(lines) == 102
    submit = next(line for line in lines if line.startswith("submitfuncspecmsg "))
    assert submit.split() == ["submitfuncspecmsg", "M", "colonies.server.handlers.processes.submit"]


def test_handlers_that_use_the_nonce_in_their_statement_say_so_in_their_signature():
    uses = sorted(p for p, route in registry.routes.items() if route.uses_nonce)
    assert uses == [
        "assignprocessesmsg",
        "assignprocessmsg",
        "closeandassignmsg",
        "closesuccessfulmsg",
        "submitfuncspecmsg",
    ]
    subscriptions = sorted(p for p, route in registry.routes.items() if route.subscription)
    assert subscriptions == ["subscribechannelmsg", "subscribeprocessesmsg", "subscribeprocessmsg"]


def test_a_route_is_declared_once_and_well_formed():
    routes = Registry()

    @routes.handles("getcolonymsg", ColonyNameMsg, Role.MEMBER, action="a", scope=by_colonyname)
    async def first(ctx, msg):
        return None

    with pytest.raises(ValueError, match="registered twice"):
        Registry.assemble([routes, routes])
    with pytest.raises(ValueError, match="needs a scope"):
        routes.handles("x", ColonyNameMsg, Role.MEMBER, action="a")
    with pytest.raises(ValueError, match=r"\(ctx, msg\) or \(ctx, msg, nonce\)"):

        @routes.handles("y", ColonyNameMsg, Role.SERVER_OWNER, action="a")
        async def odd(ctx, msg, extra):
            return None

    with pytest.raises(ValueError, match="only a signed RPC"):

        @routes.handles("z", ColonyNameMsg, Role.NONE, action="a")
        async def unsigned(ctx, msg, nonce):
            return None
