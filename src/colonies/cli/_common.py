"""What every command shares: connection settings, keys, clients, one-line errors."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import aiohttp
import click

from colonies.client import Client, ColoniesError
from colonies.config import ClientConfig

F = TypeVar("F", bound=Callable[..., Any])

_KEY_VARIABLES = {
    "user": "COLONIES_PRVKEY",
    "colony": "COLONIES_COLONY_PRVKEY",
    "server": "COLONIES_SERVER_PRVKEY",
}


@dataclass
class Env:
    """The root options over the COLONIES_* variables."""

    config: ClientConfig

    def key(self, kind: str = "user", override: str | None = None) -> str:
        value = (
            override
            or {
                "user": self.config.prvkey,
                "colony": self.config.colony_prvkey,
                "server": self.config.server_prvkey,
            }[kind]
        )
        if not value:
            raise click.UsageError(
                f"no {kind} key: set {_KEY_VARIABLES[kind]} or pass a key option"
            )
        return value

    def colony(self) -> str:
        if not self.config.colony_name:
            raise click.UsageError("no colony: set COLONIES_COLONY_NAME or pass --colony")
        return self.config.colony_name

    def client(self, kind: str = "user", override: str | None = None) -> Client:
        return Client(
            self.config.url, self.key(kind, override), ca_file=self.config.ca_file, retry_seconds=2
        )

    def anonymous(self) -> Client:
        return Client(self.config.url, None, ca_file=self.config.ca_file, retry_seconds=2)


pass_env = click.make_pass_decorator(Env)
colony_key_option = click.option("--colony-key", help="Colony owner key [COLONIES_COLONY_PRVKEY].")


def root_options(fn: F) -> F:
    options = [
        click.option("--host", help="Server host [COLONIES_SERVER_HOST, localhost]."),
        click.option("--port", type=int, help="Server port [COLONIES_SERVER_PORT, 50080]."),
        click.option("--tls/--no-tls", default=None, help="HTTPS/WSS [COLONIES_TLS]."),
        click.option("--ca-file", help="Trust this CA certificate file [COLONIES_CA_FILE]."),
        click.option("--key", help="Your private key [COLONIES_PRVKEY]."),
        click.option("--colony", help="Colony name [COLONIES_COLONY_NAME]."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def make_env(
    host: str | None,
    port: int | None,
    tls: bool | None,
    ca_file: str | None,
    key: str | None,
    colony: str | None,
) -> Env:
    config = ClientConfig.from_env()
    changes: dict[str, Any] = {}
    for name, value in (
        ("host", host),
        ("port", port),
        ("tls", tls),
        ("ca_file", ca_file),
        ("prvkey", key),
        ("colony_name", colony),
    ):
        if value is not None:
            changes[name] = value
    return Env(replace(config, **changes))


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def errors(fn: F) -> F:
    """One line on stderr and exit code 1 for the failures a user can act on."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        env = click.get_current_context().find_object(Env)
        url = env.config.url if env else "the server"
        try:
            return fn(*args, **kwargs)
        except ColoniesError as exc:
            fail(f"{exc.message} (status {exc.status})")
        except (aiohttp.ClientConnectorError, ConnectionRefusedError):
            fail(f"cannot reach server at {url}")
        except (aiohttp.ClientError, OSError) as exc:
            fail(f"connection to {url} failed: {exc}")
        except ValueError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


def parse_json(text: str | None, what: str, default: Any) -> Any:
    import json

    if text is None:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{what} is not valid JSON: {exc}") from None
