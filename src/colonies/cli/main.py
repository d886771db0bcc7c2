"""``colonies``: the command tree (the upstream CLI's, where it exists so far)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from colonies import __version__
from colonies.cli._common import ANONYMOUS, Env, describe, make_env, pass_env, root_options


class ColoniesGroup(click.Group):
    """The root group: every error, a usage error included, exits with status 1."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            exc.show()
            sys.exit(1)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=ColoniesGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", prog_name="colonies", message="%(prog)s %(version)s"
)
@root_options
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Colonies: meta-orchestration with signed requests, served by a Python fleet.

    Connection and keys come from COLONIES_* variables (COLONIES_SERVER_HOST,
    COLONIES_SERVER_PORT, COLONIES_TLS, COLONIES_PRVKEY, COLONIES_COLONY_NAME, ...) or the
    options below; `colonies config` shows what is in effect. `colonies dev` starts a local
    colony and writes them to a file to source. Over gRPC, CoAP or LibP2P: --backend
    (COLONIES_CLIENT_BACKENDS) with COLONIES_CLIENT_GRPC_HOST/_PORT,
    COLONIES_CLIENT_COAP_HOST/_PORT, COLONIES_CLIENT_LIBP2P_HOST (the server's multiaddr).
    Errors exit with status 1.
    """
    ctx.obj = make_env(**options)


@cli.command(epilog=ANONYMOUS)
@pass_env
def version(env: Env) -> None:
    """Client version, and the server's when it answers (exit 0 either way)."""
    click.echo(f"client: {__version__}")
    try:
        with env.anonymous() as client:
            reply = client.version()
    except Exception as exc:
        reason = describe(exc, env.url) or repr(exc)
        click.echo(f"server: not reachable ({reason})")
        return
    click.echo(f"server: {reply.get('buildversion', '?')} ({env.url})")


def _register_commands() -> None:
    from colonies.cli import admin, identity  # noqa: F401  (identity adds to admin's groups)
    from colonies.cli.blueprint import blueprint
    from colonies.cli.dev import dev
    from colonies.cli.fs import fs
    from colonies.cli.function import function
    from colonies.cli.ledger import ledger
    from colonies.cli.location import location
    from colonies.cli.log import attribute, log
    from colonies.cli.process import process
    from colonies.cli.schedule import cron, generator
    from colonies.cli.settings import config
    from colonies.cli.workflow import workflow

    admin.server.add_command(server_start, "start")
    admin.server.add_command(server_migrate, "migrate")
    for command in (
        admin.security,
        admin.server,
        admin.cluster,
        admin.colony,
        admin.executor,
        admin.user,
        location,
        function,
        process,
        workflow,
        cron,
        generator,
        log,
        attribute,
        blueprint,
        config,
        ledger,
        dev,
        fs,
    ):
        cli.add_command(command)


@click.command("start")
def server_start() -> None:
    """Start a server replica configured by COLONIES_* environment variables.

    Database: COLONIES_DB_URL, or COLONIES_DB_HOST/PORT/USER/PASSWORD/NAME.
    Owner: COLONIES_SERVER_ID or COLONIES_SERVER_PRVKEY. Port: COLONIES_SERVER_PORT (50080).
    Transports: COLONIES_SERVER_BACKENDS (http; any of http, grpc, coap, libp2p), each on its
    own port (COLONIES_SERVER_GRPC_PORT 50051, _COAP_PORT 5683, _LIBP2P_PORT 5000).
    HA: COLONIES_ETCD_ENDPOINTS (unset = single node). Worker processes sharing the HTTP
    port: COLONIES_WORKERS (1). See the README for the rest.
    """
    from colonies.config import ConfigError, ServerConfig
    from colonies.server.run import run_server

    try:
        config = ServerConfig.from_env()
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    run_server(config)


@click.command("migrate")
@click.option(
    "--wait",
    is_flag=True,
    help="Do not migrate: wait until another process has (the schema is current).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=60,
    show_default=True,
    help="Give up after this many seconds of an unreachable database or, with --wait, of an "
    "old schema (0: never).",
)
def server_migrate(wait: bool, timeout: float) -> None:
    """Migrate the database schema and exit (Kubernetes: the migration Job).

    Reads the database settings of `server start` (COLONIES_DB_URL, ...) and retries while the
    database cannot be reached. Exits 1 on a schema newer than this version can run on (a
    rollback past a migration). With --wait, applies nothing: waits for the schema to be
    current (a server pod's init container while the Job migrates). Servers started with
    COLONIES_DB_MIGRATE=false only check the schema.
    """
    from colonies.config import ConfigError, ServerConfig
    from colonies.server.run import run_migrate

    try:
        config = ServerConfig.from_env()
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    run_migrate(config, wait=wait, timeout=timeout)


_register_commands()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
