"""SQL statements with named parameters, each a module-level constant readable whole.

Every statement of the store is one :class:`Statement` constant in the module that runs it,
written with ``:name`` parameters; the constant turns them into asyncpg's ``$1..$n`` once, at
import, and each call passes its values by name. Fragments that several statements must share
word for word are functions assembled in at import: the replay admission (``store/nonces.py``),
the event encoders (``store/events.py``), a process's columns (``process_columns``), a claim's
SET list (``claimed_set``), the function statistics of a close (``FUNCTION_STATS_SET``) and a
handover's candidates (``fitting``). ``python -m colonies.store [NAME ...]`` prints any
statement whole, as PostgreSQL receives it, and a test prepares every one of them against the
migrated schema.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

import asyncpg

# What the parameter scan skips (string literals, comments, ``::`` casts) and what it takes.
_TOKENS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/|::|:([a-z_][a-z0-9_]*)", re.DOTALL)

# A pool or one of its connections: both run statements the same way.
Database: TypeAlias = asyncpg.Pool | asyncpg.Connection


class Statement:
    """One SQL statement; ``text`` as written (``:name`` parameters), ``sql`` as asyncpg takes
    it (``$n``), ``params`` the names in ``$n`` order."""

    __slots__ = ("params", "sql", "text")

    def __init__(self, text: str) -> None:
        params: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:  # a literal, a comment or a cast: left as it is
                return match.group(0)
            if name not in params:
                params.append(name)
            return f"${params.index(name) + 1}"

        self.text = text.strip()
        self.sql = _TOKENS.sub(number, self.text)
        self.params = tuple(params)

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        """The values in ``$n`` order; every parameter must be given, and nothing else."""
        if len(values) != len(self.params) or not all(p in values for p in self.params):
            raise TypeError(
                f"statement parameters are {', '.join(self.params) or 'none'}; "
                f"given {', '.join(values) or 'none'}"
            )
        return [values[p] for p in self.params]

    async def execute(self, db: Database, /, **values: Any) -> str:
        """The command's status, such as ``UPDATE 1``."""
        status: str = await db.execute(self.sql, *self.args(values))
        return status

    async def executemany(self, db: Database, rows: Iterable[Mapping[str, Any]], /) -> None:
        await db.executemany(self.sql, [self.args(row) for row in rows])

    async def fetch(self, db: Database, /, **values: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await db.fetch(self.sql, *self.args(values))
        return rows

    async def fetchrow(self, db: Database, /, **values: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await db.fetchrow(self.sql, *self.args(values))
        return row

    async def fetchval(self, db: Database, /, **values: Any) -> Any:
        return await db.fetchval(self.sql, *self.args(values))

    def __repr__(self) -> str:
        return f"Statement({self.text!r})"


def every_statement() -> dict[str, Statement]:
    """Every statement of the store by name (``processes.claims.CLAIM_ONE``): the module-level
    constants of every module of ``colonies.store``. A statement has one name: a module uses
    another's statements through that module, never by importing the constant."""
    import colonies.store

    found: dict[str, Statement] = {}
    named: dict[int, str] = {}
    modules = pkgutil.walk_packages(colonies.store.__path__, "colonies.store.")
    for info in sorted(modules, key=lambda m: m.name):
        if info.name.endswith(".__main__"):
            continue
        module = importlib.import_module(info.name)
        for attribute, value in vars(module).items():
            if not isinstance(value, Statement):
                continue
            name = f"{info.name.removeprefix('colonies.store.')}.{attribute}"
            if id(value) in named:
                raise RuntimeError(f"statement {named[id(value)]} is also named {name}")
            named[id(value)] = name
            found[name] = value
    return found


def main(argv: list[str]) -> int:
    """Print the named statements (every one when none is named), each under its name."""
    statements = every_statement()
    unknown = [name for name in argv if name not in statements]
    if unknown:
        print(f"no statement named {', '.join(unknown)}", file=sys.stderr)
        return 1
    for name in argv or statements:
        statement = statements[name]
        print(f"-- name: {name}")
        if statement.params:
            params = ", ".join(f"${n} = :{p}" for n, p in enumerate(statement.params, 1))
            print(f"-- parameters: {params}")
        print(f"{statement.sql};\n")
    return 0
