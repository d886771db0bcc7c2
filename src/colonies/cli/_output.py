"""What commands print: tables for people, JSON or YAML (the API objects) for scripts, and a
spinner on stderr while a command waits.

Every command that prints objects takes ``-o table|json|yaml``, ``--json`` (upstream's flag, the
same as ``-o json``; also accepted before the command, ``colonies --json process ps``) and
``--no-headers``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import click
import msgspec

from colonies.core import ProcessState
from colonies.core.timeutil import is_zero_time

Column = tuple[str, Callable[[Any], object]]

FORMATS = ("table", "json", "yaml")
_JSON_FLAG = "colonies.json"
_NO_HEADERS = "colonies.no_headers"


def _json_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_JSON_FLAG] = True


def _resolve_output(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """-o as given; else json when --json was given here or before the command; else table."""
    if value is not None:
        return value
    root = ctx.find_root()
    if ctx.meta.get(_JSON_FLAG) or (root.obj is not None and getattr(root.obj, "json", False)):
        return "json"
    return "table"


def _output_formats(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "-o",
        "--output",
        type=click.Choice(FORMATS),
        default=None,
        callback=_resolve_output,
        help="table (the default) for people; json or yaml (the API objects) for scripts.",
    )(fn)
    return click.option(
        "--json",
        "json_flag",
        is_flag=True,
        is_eager=True,
        expose_value=False,
        callback=_json_flag,
        help="The same as -o json (upstream's flag).",
    )(fn)


def _no_headers_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_NO_HEADERS] = True


def output_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``-o/--output table|json|yaml``, ``--json`` and ``--no-headers``; the command gets
    ``output`` (and ``emit`` finds ``--no-headers`` by itself)."""
    fn = click.option(
        "--no-headers",
        "no_headers_flag",
        is_flag=True,
        expose_value=False,
        callback=_no_headers_flag,
        help="Tables without a header row.",
    )(fn)
    return _output_formats(fn)


no_headers_option = click.option("--no-headers", is_flag=True, help="Tables without a header row.")


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """-o, --json and --no-headers; the command gets ``output`` and ``no_headers``."""
    return _output_formats(no_headers_option(fn))


def _headerless(no_headers: bool) -> bool:
    """``--no-headers`` given to the command (as a parameter or through ``output_option``)."""
    ctx = click.get_current_context(silent=True)
    return no_headers or bool(ctx is not None and ctx.meta.get(_NO_HEADERS))


def state_name(state: int) -> str:
    try:
        return ProcessState(state).name
    except ValueError:
        return str(state)


def when(value: datetime) -> str:
    return "" if is_zero_time(value) else value.strftime("%Y-%m-%d %H:%M:%S")


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def dump(data: Any, output: str) -> None:
    """``data`` as JSON or YAML (its wire form)."""
    builtins = msgspec.to_builtins(data)
    if output == "yaml":
        import yaml

        click.echo(yaml.safe_dump(builtins, sort_keys=False, allow_unicode=True), nl=False)
    else:
        click.echo(json.dumps(builtins, indent=2))


def table(rows: Sequence[Sequence[str]], headers: Sequence[str] | None) -> None:
    lines = [list(r) for r in rows]
    if headers is not None:
        lines.insert(0, list(headers))
    if not lines:
        return
    widths = [max(len(r[i]) for r in lines) for i in range(len(lines[0]))]
    for r in lines:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def emit(data: Any, columns: Sequence[Column], output: str, no_headers: bool = False) -> None:
    """Print one object or a list of them: a row each, or the whole objects as JSON or YAML."""
    if output != "table":
        dump(data, output)
        return
    rows = data if isinstance(data, list) else [data]
    cells = [[_cell(get(row)) for _, get in columns] for row in rows]
    table(cells, None if _headerless(no_headers) else [title for title, _ in columns])


def emit_detail(data: Any, fields: Sequence[Column], output: str, no_headers: bool = False) -> None:
    """Print one object: a FIELD/VALUE line per field (nothing hidden), or JSON or YAML."""
    if output != "table":
        dump(data, output)
        return
    rows = [[title, _cell(get(data))] for title, get in fields]
    table(rows, None if _headerless(no_headers) else ["FIELD", "VALUE"])


@contextlib.contextmanager
def spinner(message: str) -> Iterator[None]:
    """A spinner with the elapsed time on stderr while the block runs, when stderr is a
    terminal (nothing otherwise: scripts get clean output)."""
    if not sys.stderr.isatty():
        yield
        return
    done = threading.Event()

    def spin() -> None:
        started = time.monotonic()
        for mark in itertools.cycle("|/-\\"):
            elapsed = time.monotonic() - started
            click.echo(f"\r{mark} {message} {elapsed:4.0f} s", nl=False, err=True)
            if done.wait(0.1):
                break
        click.echo("\r" + " " * (len(message) + 12) + "\r", nl=False, err=True)

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
