"""Every route of the server: the handler modules, assembled into one registry here.

Each module of server/handlers/ declares its routes in its own ``routes``; this list is the only
place that gathers them, so a payloadtype's handler is found by reading (or by printing the
table: ``python -m colonies.server.routes``).
"""

from __future__ import annotations

import sys
from typing import TextIO

from colonies.server.handlers import (
    blueprints,
    channels,
    colonies,
    executors,
    files,
    functions,
    locations,
    logs,
    pause,
    processes,
    schedules,
    security,
    server,
    users,
    workflows,
)
from colonies.server.registry import Registry, Role

HANDLER_MODULES = (
    server,
    colonies,
    executors,
    users,
    locations,
    functions,
    processes,
    workflows,
    logs,
    schedules,
    files,
    security,
    blueprints,
    channels,
    pause,
)

registry = Registry.assemble(module.routes for module in HANDLER_MODULES)


def route_table(routes: Registry = registry) -> list[tuple[str, Role, str]]:
    """(payloadtype, role, handler) of every route by payloadtype; the handler as
    ``module.function``."""
    return [
        (payloadtype, route.role, f"{route.handler.__module__}.{route.handler.__name__}")
        for payloadtype, route in sorted(routes.routes.items())
    ]


def print_route_table(out: TextIO = sys.stdout, routes: Registry = registry) -> None:
    rows = [(p, role.value, handler) for p, role, handler in route_table(routes)]
    header = ("payloadtype", "role", "handler")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(2)]
    for payloadtype, role, module in [header, *rows]:
        out.write(f"{payloadtype:<{widths[0]}}  {role:<{widths[1]}}  {module}\n")


if __name__ == "__main__":
    print_route_table()
