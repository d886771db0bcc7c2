"""``colonies log`` and ``colonies attribute``: what processes report while they run."""

from __future__ import annotations

import json
import time
from typing import Any

import click
import msgspec

from colonies.cli._common import EXECUTOR, MEMBER, Env, errors, fail, id_argument, pass_env
from colonies.cli._output import Column, emit, output_option, output_options
from colonies.client import Client
from colonies.core import ProcessState

LOG_COLUMNS: list[Column] = [
    ("TIME", lambda entry: time.strftime("%H:%M:%S", time.gmtime(entry.timestamp / 1e9))),
    ("EXECUTOR", lambda entry: entry.executorname),
    ("MESSAGE", lambda entry: entry.message.rstrip("\n")),
]
ATTRIBUTE_COLUMNS: list[Column] = [
    ("KEY", lambda a: a.key),
    ("VALUE", lambda a: a.value),
    ("TYPE", lambda a: a.attributetype),
    ("ATTRIBUTEID", lambda a: a.attributeid),
]
_LOG_PAGE = 500  # the most getlogsmsg returns
_UNFINISHED = (ProcessState.WAITING, ProcessState.RUNNING)


@click.group()
def log() -> None:
    """Process and executor logs."""


@log.command("add", epilog=EXECUTOR)
@click.option("-p", "--processid", required=True, help="A process you run.")
@click.option("-m", "--msg", "--message", "message", required=True, help="The log line.")
@pass_env
@errors
def log_add(env: Env, processid: str, message: str) -> None:
    """Add a line to the log of a process you run (signed with the executor's key)."""
    with env.client() as client:
        client.add_log(processid, message)
    click.echo(f"log line added to {processid}")


@log.command("get", epilog=MEMBER)
@click.option("-p", "--processid", default="", help="Logs of a process.")
@click.option("-e", "--executor", "--executorname", "executor", default="",
              help="Logs of an executor.")  # fmt: skip
@click.option("--count", type=int, default=100, show_default=True, help="At most 500.")
@click.option("--since", type=int, default=0, help="Only lines after this time (Unix ns).")
@click.option("--latest", is_flag=True, help="The newest COUNT lines instead of the oldest.")
@click.option("--follow", is_flag=True, help="Keep printing new lines until the process ends.")
@output_options
@pass_env
@errors
def log_get(
    env: Env,
    processid: str,
    executor: str,
    count: int,
    since: int,
    latest: bool,
    follow: bool,
    output: str,
    no_headers: bool,
) -> None:
    """Log lines, oldest first; --follow keeps printing new ones until the process ends.

    With --follow and -o json, each new line is one JSON object per line (JSON Lines).
    Ctrl-C stops following. An unknown process is an error (exit 1).
    """
    if not processid and not executor:
        fail("give --processid or --executor")
    colony = env.colony()
    with env.client() as client:
        entries = client.get_logs(
            colony, processid=processid, executor_name=executor, count=count, since=since,
            latest=latest,
        )  # fmt: skip
        if latest:
            entries.reverse()  # the newest COUNT, printed oldest first as always
        if processid and not entries:
            client.get_process(processid)  # an unknown process is a 404, not an empty table
        if not follow:
            emit(entries, LOG_COLUMNS, output, no_headers)
            return
        try:
            _follow(client, colony, processid, executor, entries, output, no_headers)
        except KeyboardInterrupt:
            return


def _follow(
    client: Client,
    colony: str,
    processid: str,
    executor: str,
    entries: list[Any],
    output: str,
    no_headers: bool,
) -> None:
    def show(batch: list[Any], headers: bool) -> None:
        if output != "table":
            for entry in batch:
                click.echo(json.dumps(msgspec.to_builtins(entry)))
        elif batch or headers:
            emit(batch, LOG_COLUMNS, output, no_headers=not headers)

    show(entries, not no_headers)
    since = entries[-1].timestamp if entries else 0
    while True:
        # Read the state first: lines are only added while the process runs, so a read of the
        # log after seeing it finished has them all.
        done = bool(processid) and client.get_process(processid).state not in _UNFINISHED
        new = client.get_logs(
            colony, processid=processid, executor_name=executor, count=_LOG_PAGE, since=since
        )
        show(new, False)
        if new:
            since = new[-1].timestamp
        if len(new) == _LOG_PAGE:
            continue  # more are waiting: read on at once
        if done:
            return
        time.sleep(0.5)


@log.command("search", epilog=MEMBER)
@click.option("-t", "--text", required=True)
@click.option("-d", "--days", type=int, default=1, show_default=True, help="At most 30.")
@click.option("--count", type=int, default=20, show_default=True, help="At most 100.")
@output_options
@pass_env
@errors
def log_search(env: Env, text: str, days: int, count: int, output: str, no_headers: bool) -> None:
    """Log lines containing TEXT from the last DAYS days."""
    with env.client() as client:
        emit(client.search_logs(env.colony(), text, days, count), LOG_COLUMNS, output, no_headers)


@click.group()
def attribute() -> None:
    """Process attributes."""


@attribute.command("add", epilog=EXECUTOR)
@click.option("-p", "--processid", required=True)
@click.option("--key", "name", required=True)
@click.option("--value", required=True)
@output_option
@pass_env
@errors
def attribute_add(env: Env, processid: str, name: str, value: str, output: str) -> None:
    """Add an output attribute to a process you run."""
    with env.client() as client:
        emit(client.add_attribute(processid, name, value), ATTRIBUTE_COLUMNS, output)


@attribute.command("get", epilog=MEMBER)
@id_argument("attributeid", "--attributeid", what="attribute ID")
@output_options
@pass_env
@errors
def attribute_get(env: Env, attributeid: str, output: str, no_headers: bool) -> None:
    """One attribute."""
    with env.client() as client:
        emit(client.get_attribute(attributeid), ATTRIBUTE_COLUMNS, output, no_headers)
