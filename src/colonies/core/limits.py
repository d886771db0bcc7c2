"""Request limits: how long, how large and how deep a request's values may be. No I/O.

The limits are declared on the wire objects' fields (core/objects.py, rpc/messages.py) with
the type aliases below, and checked once, when a request's payload is decoded
(``core.wire.decode(..., limits=True)``, called by the pipeline's decode step): every transport
gets them, and a handler never sees a value beyond them. docs/limits.md states them for users.

They are declared as ``msgspec.Meta(extra=...)`` rather than msgspec's own ``max_length``/``le``
constraints on purpose: msgspec would then enforce them on every conversion, also when the
store reads back a row written before a limit existed, or when the client reads a reply. A
request must be within the limits; what is stored already stays readable.

Fields without a declaration still have limits, by their type: every string at most
:data:`MAX_TEXT` characters, every integer 64 bits, and no string anywhere (free-form values
included) may hold U+0000, which PostgreSQL cannot store. Free-form values (process arguments
and outputs, blueprint specs) may nest :data:`MAX_DEPTH` levels deep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec

from colonies.core.scheduling import MAX_PRIORITY, MIN_PRIORITY

__all__ = [
    "CRON_HORIZON_SECONDS",
    "MAX_CRON_EXPRESSION",
    "MAX_DEPTH",
    "MAX_NAME",
    "MAX_PATH",
    "MAX_SECONDS",
    "MAX_TEXT",
    "MAX_WORKFLOW_NODES",
    "CronExpression",
    "CronSeconds",
    "Int32",
    "Limit",
    "Name",
    "Path",
    "Priority",
    "Seconds",
    "limit",
    "limit_of",
]

MAX_NAME = 256  # characters: names, types and IDs
MAX_PATH = 1024  # characters: file labels and names, directories, object keys
MAX_TEXT = 1024 * 1024  # characters: any other string (log lines, errors, workflow specs ...)
MAX_DEPTH = 64  # levels of nesting inside a free-form value
MAX_CRON_EXPRESSION = 1024  # characters
MAX_WORKFLOW_NODES = 1000  # function specs in one workflow
# Durations in seconds: what a 32-bit integer holds (about 68 years), as the database stores.
MAX_SECONDS = 2**31 - 1
# A cron must fire within this horizon: an interval at most this long, an expression whose
# next activation is at most this far ahead (leap days included).
CRON_HORIZON_SECONDS = 5 * 366 * 86_400

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Limit:
    """Bounds of one field: ``max_length`` for a string (characters), a list or a map (items);
    ``ge``/``le`` for an integer."""

    max_length: int | None = None
    ge: int | None = None
    le: int | None = None


_KEY = "colonies.limit"


def limit(
    max_length: int | None = None, ge: int | None = None, le: int | None = None
) -> msgspec.Meta:
    """A field's limit, for ``Annotated[<type>, limit(...)]``."""
    return msgspec.Meta(extra={_KEY: Limit(max_length, ge, le)})


def limit_of(extra: dict[str, object] | None) -> Limit | None:
    """The limit declared in a ``msgspec.Meta``'s ``extra``, if any."""
    found = (extra or {}).get(_KEY)
    return found if isinstance(found, Limit) else None


Name = Annotated[str, limit(max_length=MAX_NAME)]
Path = Annotated[str, limit(max_length=MAX_PATH)]
CronExpression = Annotated[str, limit(max_length=MAX_CRON_EXPRESSION)]
Int32 = Annotated[int, limit(ge=_INT32_MIN, le=_INT32_MAX)]
# Negative durations keep their meaning ("no limit", "do not wait").
Seconds = Annotated[int, limit(ge=_INT32_MIN, le=MAX_SECONDS)]
# -1 (or any negative: use the expression) up to the horizon.
CronSeconds = Annotated[int, limit(ge=_INT32_MIN, le=CRON_HORIZON_SECONDS)]
Priority = Annotated[int, limit(ge=MIN_PRIORITY, le=MAX_PRIORITY)]
