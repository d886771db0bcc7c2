"""``colonies``: the command tree (grown by later issues)."""

from __future__ import annotations

import sys

import click

from colonies import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="colonies")
def cli() -> None:
    """Colonies: meta-orchestration with signed requests, served by a Python fleet."""


@cli.group()
def server() -> None:
    """Run and inspect a server."""


@server.command("start")
def server_start() -> None:
    """Start a server replica configured by COLONIES_* environment variables.

    Database: COLONIES_DB_URL, or COLONIES_DB_HOST/PORT/USER/PASSWORD/NAME.
    Owner: COLONIES_SERVER_ID or COLONIES_SERVER_PRVKEY. Port: COLONIES_SERVER_PORT (50080).
    """
    from colonies.config import ConfigError, ServerConfig
    from colonies.server.run import run_server

    try:
        config = ServerConfig.from_env()
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    run_server(config)


def main() -> None:
    cli()


def _register_commands() -> None:
    from colonies.cli.dev import dev

    cli.add_command(dev)


_register_commands()


if __name__ == "__main__":
    main()
