"""The layers of src/colonies keep to their rules (docs/architecture.md §2).

The table of docs/architecture.md §2.1 says, for each room (a package or a top-level module of
``colonies``), which other rooms it may import; this test reads that table and fails on any
import it does not allow, on a room the table does not list and on a row for a room that is
gone. Every import counts: at module level, inside functions, under ``TYPE_CHECKING``.

Some rules hold whatever the table says (§2.2):
- ``core`` imports nothing of ours (and no I/O);
- nothing above ``store`` imports asyncpg, but the ``ha`` modules that hold connections of
  their own (``ha/__init__.py`` names them);
- ``store`` imports nothing above it; ``client`` imports neither the server nor the store.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "colonies"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# The ha modules that open connections outside the store's pool: the event bus's LISTEN
# connection, the advisory lock's, and the connect helper both use.
ASYNCPG_OUTSIDE_STORE = {"ha/_connect.py", "ha/events.py", "ha/advisory_lock.py"}
# Modules whose use in core would be I/O (core computes; the rooms above it act).
IO_MODULES = {"asyncio", "socket", "ssl", "subprocess", "shutil", "aiohttp", "asyncpg", "aetcd"}
# The rooms above the store: the store may import none of them.
ABOVE_STORE = {"ha", "server", "client", "executor", "cli", "devenv"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing file, relative to src/colonies (``server/app.py``)
    line: int
    target: str  # the imported module's full name (``colonies.store.db``, ``asyncpg``)

    @property
    def room(self) -> str:
        return room_of(self.module)

    @property
    def target_room(self) -> str | None:
        """The room of ours the import reaches, None for another package's module."""
        parts = self.target.split(".")
        if parts[0] != "colonies" or len(parts) < 2:
            return None
        return parts[1]


def room_of(relative: str) -> str:
    """``server/app.py`` → ``server``; ``config.py`` → ``config``."""
    first = relative.split("/")[0]
    return first.removesuffix(".py")


def imports_in(source: str, relative: str) -> list[Import]:
    """The imports of ``source``, the text of ``src/colonies/<relative>``."""
    package = ["colonies", *relative.split("/")[:-1]]
    found = []
    for node in ast.walk(ast.parse(source, relative)):
        if isinstance(node, ast.Import):
            found += [Import(relative, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the importing file's package
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module == "colonies":  # ``from colonies import _aio``: a room, or __version__
                found += [
                    Import(relative, node.lineno, f"colonies.{alias.name}")
                    if alias.name in rooms_in_package()
                    else Import(relative, node.lineno, "colonies")
                    for alias in node.names
                ]
            else:
                found.append(Import(relative, node.lineno, module))
    return found


@cache
def all_imports() -> list[Import]:
    return [
        imp
        for path in sorted(PACKAGE.rglob("*.py"))
        for imp in imports_in(
            path.read_text(encoding="utf-8"), path.relative_to(PACKAGE).as_posix()
        )
    ]


@cache
def rooms_in_package() -> frozenset[str]:
    """Every room: a subpackage, or a module beside ``colonies/__init__.py``."""
    rooms = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    rooms |= {p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    return frozenset(rooms)


_TABLE_ROW = re.compile(r"^\|\s*`(?P<room>[\w]+)(?:/|\.py)`\s*\|.*\|(?P<allowed>[^|]*)\|\s*$")


def documented_rules(text: str) -> dict[str, set[str]]:
    """room → the rooms it may import, from the table of §2.1 (the last column's backticked
    names; ``nothing`` allows none)."""
    start = text.index("\n### 2.1 ")
    end = text.index("\n#", start + 1)
    rules: dict[str, set[str]] = {}
    for line in text[start:end].splitlines():
        match = _TABLE_ROW.match(line)
        if match is None:
            continue
        room = match["room"]
        if room in rules:
            raise AssertionError(f"docs/architecture.md §2.1 lists {room} twice")
        rules[room] = set(re.findall(r"`(\w+)`", match["allowed"]))
    return rules


def layer_violations(imports: list[Import], rules: dict[str, set[str]]) -> list[str]:
    """The imports between rooms that ``rules`` does not allow."""
    problems = []
    for imp in imports:
        target = imp.target_room
        if target is None or target == imp.room or imp.room not in rules:
            continue
        if target not in rules[imp.room]:
            problems.append(
                f"src/colonies/{imp.module}:{imp.line}: {imp.room} may not import {target} "
                f"({imp.target}); docs/architecture.md §2.1 allows: "
                f"{', '.join(sorted(rules[imp.room])) or 'nothing'}"
            )
    return problems


def asyncpg_violations(imports: list[Import]) -> list[str]:
    return [
        f"src/colonies/{imp.module}:{imp.line}: imports asyncpg above the store "
        "(the store's own errors are in store/errors.py)"
        for imp in imports
        if imp.target.split(".")[0] == "asyncpg"
        and imp.room != "store"
        and imp.module not in ASYNCPG_OUTSIDE_STORE
    ]


# --- the package keeps to the rules ------------------------------------------------------------


@cache
def _rules() -> dict[str, set[str]]:
    return documented_rules(ARCHITECTURE.read_text(encoding="utf-8"))


def test_every_room_is_documented_and_every_row_is_a_room() -> None:
    rooms, documented = rooms_in_package(), set(_rules())
    assert not rooms - documented, (
        f"rooms missing from the table of docs/architecture.md §2.1: {sorted(rooms - documented)}"
    )
    assert not documented - rooms, (
        f"rows of docs/architecture.md §2.1 for rooms that do not exist: "
        f"{sorted(documented - rooms)}"
    )


def test_the_table_names_only_rooms() -> None:
    rooms = rooms_in_package()
    unknown = {f"{room}: {name}" for room, allowed in _rules().items() for name in allowed - rooms}
    assert not unknown, f"docs/architecture.md §2.1 allows imports of unknown rooms: {unknown}"


def test_imports_between_rooms_follow_the_table() -> None:
    problems = layer_violations(all_imports(), _rules())
    assert not problems, "\n".join(problems)


def test_the_fixed_rules_hold_in_the_table() -> None:
    """The table may not allow what the layering forbids outright (§2.2)."""
    rules = _rules()
    assert rules["core"] == set()
    assert not rules["store"] & ABOVE_STORE
    assert not rules["client"] & {"server", "store", "ha"}


def test_core_does_no_io() -> None:
    io = [
        f"src/colonies/{imp.module}:{imp.line}: {imp.target}"
        for imp in all_imports()
        if imp.room == "core" and imp.target.split(".")[0] in IO_MODULES
    ]
    assert not io, "core/ has no I/O:\n" + "\n".join(io)


def test_asyncpg_stays_in_the_store_and_the_ha_connections() -> None:
    problems = asyncpg_violations(all_imports())
    assert not problems, "\n".join(problems)
    # The exceptions are real: each of those modules holds a connection of its own.
    holders = {imp.module for imp in all_imports() if imp.target == "asyncpg"} - {"ha/__init__.py"}
    assert {m for m in holders if m.startswith("ha/")} == ASYNCPG_OUTSIDE_STORE


# --- the checks can fail ------------------------------------------------------------------------


_TABLE = """
### 2.1 Rooms
| room | owns | may import (of ours) |
| --- | --- | --- |
| `core/` | objects | nothing |
| `store/` | the database | `core`, `crypto` |
| `config.py` | variables | `crypto` (to derive an ID) |

## 3 Next
"""


def test_documented_rules_are_read_from_the_table() -> None:
    assert documented_rules(_TABLE) == {
        "core": set(),
        "store": {"core", "crypto"},
        "config": {"crypto"},
    }


@pytest.mark.parametrize(
    ("imp", "problem"),
    [
        (Import("core/objects.py", 3, "colonies.store.db"), "core may not import store"),
        (Import("store/db.py", 5, "colonies.server.app"), "store may not import server"),
        (Import("store/db.py", 5, "colonies.crypto"), None),
        (Import("store/db.py", 5, "colonies.store.errors"), None),  # its own room
        (Import("store/db.py", 5, "msgspec"), None),  # not ours
        (Import("config.py", 1, "colonies._aio"), "config may not import _aio"),
    ],
)
def test_a_forbidden_import_is_named(imp: Import, problem: str | None) -> None:
    problems = layer_violations([imp], documented_rules(_TABLE))
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0]
        assert f"src/colonies/{imp.module}:{imp.line}" in problems[0]


def test_asyncpg_above_the_store_is_named() -> None:
    imports = [
        Import("server/dispatch.py", 7, "asyncpg"),
        Import("ha/events.py", 15, "asyncpg"),
        Import("store/db.py", 10, "asyncpg"),
        Import("client/_rpc.py", 9, "asyncpg.exceptions"),
    ]
    assert asyncpg_violations(imports) == [
        "src/colonies/server/dispatch.py:7: imports asyncpg above the store "
        "(the store's own errors are in store/errors.py)",
        "src/colonies/client/_rpc.py:9: imports asyncpg above the store "
        "(the store's own errors are in store/errors.py)",
    ]


def test_relative_and_package_imports_are_resolved() -> None:
    """``from colonies import _aio`` reaches the room ``_aio`` (``__version__``, no room);
    inside ``server/``, ``from ..store import db`` reaches ``store`` and ``from . import
    context`` its own room; an import inside a function counts."""
    source = (
        "from colonies import _aio, __version__\n"
        "from ..store import db\n"
        "from . import context\n"
        "def later():\n"
        "    import colonies.ha.events\n"
    )
    imports = imports_in(source, "server/probe.py")
    assert [(imp.line, imp.target_room) for imp in imports] == [
        (1, "_aio"),
        (1, None),  # the package's own attribute: no room
        (2, "store"),
        (3, "server"),
        (5, "ha"),
    ]
