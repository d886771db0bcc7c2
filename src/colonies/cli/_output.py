"""Tables and JSON for read commands (``-o table|json``, ``--no-headers``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import click
import msgspec

from colonies.core import ProcessState
from colonies.core.timeutil import is_zero_time

Column = tuple[str, Callable[[Any], object]]

output_option = click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Table for people, JSON (the API objects) for scripts.",
)
no_headers_option = click.option("--no-headers", is_flag=True, help="Tables without a header row.")


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


def emit(data: Any, columns: Sequence[Column], output: str, no_headers: bool = False) -> None:
    """Print one object or a list of them."""
    if output == "json":
        click.echo(json.dumps(msgspec.to_builtins(data), indent=2))
        return
    rows = data if isinstance(data, list) else [data]
    table = [[_cell(get(row)) for _, get in columns] for row in rows]
    if not no_headers:
        table.insert(0, [title for title, _ in columns])
    if not table:
        return
    widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
    for r in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
