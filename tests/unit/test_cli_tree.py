"""`colonies` has every command of upstream's CLI (tests/data/upstream-cli-commands.txt, the
command tree of upstream's internal/cli), except `monitor` and `database`, which this server
does not need (it exports /metrics itself and migrates its schema at start)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from colonies.cli.main import cli

UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "upstream-cli-commands.txt"
NOT_NEEDED = ("colonies monitor", "colonies database")


def _paths(command: click.Command, path: str) -> Iterator[str]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _paths(sub, f"{path} {name}")


def upstream_commands() -> list[str]:
    lines = [line.strip() for line in UPSTREAM.read_text().splitlines() if line.strip()]
    return [c for c in lines if not c.startswith(NOT_NEEDED)]


def test_every_upstream_command_is_here() -> None:
    ours = set(_paths(cli, "colonies"))
    wanted = upstream_commands()
    assert len(wanted) == 126  # 131 in upstream's tree, 5 of them monitor and database
    missing = [c for c in wanted if c not in ours]
    assert not missing, missing


def test_commands_of_our_own_are_few_and_known() -> None:
    extra = set(_paths(cli, "colonies")) - {
        line.strip() for line in UPSTREAM.read_text().splitlines() if line.strip()
    }
    assert extra == {
        "colonies colony get",
        "colonies dev",
        "colonies ledger",
        "colonies ledger head",
        "colonies ledger show",
        "colonies ledger verify",
        "colonies process psr",
        "colonies security libp2p-identity",
        "colonies server migrate",
        "colonies workflow psr",
    }
