"""Handlers per area; importing this package registers every route."""

from colonies.server.handlers import (  # noqa: F401
    colonies,
    executors,
    files,
    functions,
    locations,
    logs,
    processes,
    security,
    server,
    users,
)
