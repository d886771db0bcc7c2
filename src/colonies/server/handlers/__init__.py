"""Handlers per area; importing this package registers every route."""

from colonies.server.handlers import (  # noqa: F401
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
