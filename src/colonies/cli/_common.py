"""What every command shares: connection settings, keys, clients, one-line errors."""

from __future__ import annotations

import functools
import os
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn, TypeVar

import click

from colonies.client import (
    AsyncClient,
    Client,
    ColoniesError,
    ColonyFSError,
    ConnectError,
    TLSError,
    Transport,
    TransportError,
    transport_from_config,
)
from colonies.config import ClientConfig, ConfigError, parse_backends
from colonies.crypto import PrivateKey, parse_private_key

F = TypeVar("F", bound=Callable[..., Any])

#: The CLI gives up on an unreachable server after this many seconds of retries.
RETRY_SECONDS = 2.0

# kind -> (ClientConfig field, environment variable, command option, who signs)
_KEYS = {
    "user": ("prvkey", "COLONIES_PRVKEY", "--key", "your"),
    "colony": ("colony_prvkey", "COLONIES_COLONY_PRVKEY", "--colony-key", "the colony owner's"),
    "server": ("server_prvkey", "COLONIES_SERVER_PRVKEY", "--server-key", "the server owner's"),
}

# Epilogs of --help: which variables a command reads (the connection ones are on `colonies -h`).
SERVER = (
    "Server: COLONIES_SERVER_HOST, COLONIES_SERVER_PORT, COLONIES_TLS, COLONIES_CA_FILE; "
    "other transports: COLONIES_CLIENT_BACKENDS (--backend)."
)
ANONYMOUS = f"No key needed. {SERVER}"
MEMBER = f"Signs with COLONIES_PRVKEY (--key); colony: COLONIES_COLONY_NAME (--colony). {SERVER}"
EXECUTOR = (
    "Signs with the executor's key, COLONIES_PRVKEY (--key); colony: COLONIES_COLONY_NAME "
    f"(--colony). {SERVER}"
)
COLONY_OWNER = (
    "Signs with the colony owner's key, COLONIES_COLONY_PRVKEY (--colony-key); colony: "
    f"COLONIES_COLONY_NAME (--colony). {SERVER}"
)
SERVER_OWNER = f"Signs with the server owner's key, COLONIES_SERVER_PRVKEY (--server-key). {SERVER}"


def fail(message: str) -> NoReturn:
    """One line on stderr, exit code 1."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@dataclass
class Env:
    """The root options over the COLONIES_* variables, read when a command first needs them
    (so a bad variable fails only the commands that use it, with one line)."""

    overrides: dict[str, Any] = field(default_factory=dict)
    #: ``colonies --json ...``: every command prints JSON unless given -o.
    json: bool = False
    #: ``--skip-tls-verify``: accept any server certificate (tests and trusted networks only).
    skip_tls_verify: bool = False
    _config: ClientConfig | None = None

    @property
    def config(self) -> ClientConfig:
        if self._config is None:
            try:
                base = ClientConfig.from_env()
            except ConfigError as exc:
                fail(str(exc))
            self._config = replace(base, **self.overrides)
        return self._config

    @property
    def url(self) -> str:
        """Where the server is: the HTTP URL, or each transport tried (--backend)."""
        return " or ".join(self.config.endpoint(b) for b in self.config.backends)

    def _transport(self) -> Transport | None:
        try:
            return transport_from_config(self.config, verify_tls=not self.skip_tls_verify)
        except (ValueError, OSError) as exc:  # a CA file gRPC cannot read, say
            fail(f"cannot set up {self.url}: {exc}")

    def key(self, kind: str = "user", override: str | None = None, option: str = "") -> PrivateKey:
        """The key of ``kind`` (user, colony, server): ``override`` (given as ``option``), else
        the root option or the environment; a one-line hint when it is missing or malformed."""
        attr, variable, default_option, whose = _KEYS[kind]
        option = option or default_option
        if override:
            text, source = override, option
        else:
            text = getattr(self.config, attr)
            source = "--key" if kind == "user" and "prvkey" in self.overrides else variable
        if not text:
            fail(f"this command needs {whose} private key: set {variable} or pass {option}")
        try:
            return parse_private_key(text)
        except ValueError as exc:
            fail(f"invalid private key in {source}: {exc}")

    def colony(self) -> str:
        if not self.config.colony_name:
            fail("no colony: set COLONIES_COLONY_NAME or pass --colony")
        return self.config.colony_name

    def _ca_file(self) -> str:
        ca_file = self.config.ca_file
        if ca_file and not os.path.isfile(ca_file):
            fail(f"CA file not found: {ca_file} (COLONIES_CA_FILE or --ca-file)")
        return ca_file

    def client(self, kind: str | None = "user", override: str | None = None) -> Client:
        """A sync client signing as ``kind`` (None: no key, for unsigned messages)."""
        key = None if kind is None else self.key(kind, override)
        return Client(self.config.url, key, **self._connection())

    def async_client(self, kind: str | None = "user", override: str | None = None) -> AsyncClient:
        key = None if kind is None else self.key(kind, override)
        return AsyncClient(self.config.url, key, **self._connection())

    def _connection(self) -> dict[str, Any]:
        return {
            "ca_file": self._ca_file(),
            "verify_tls": not self.skip_tls_verify,
            "retry_seconds": RETRY_SECONDS,
            "transport": self._transport(),
        }

    def anonymous(self) -> Client:
        return self.client(None)


pass_env = click.make_pass_decorator(Env, ensure=True)
colony_key_option = click.option(
    "--colony-key", help="Colony owner's private key [COLONIES_COLONY_PRVKEY]."
)
server_key_option = click.option(
    "--server-key", help="Server owner's private key [COLONIES_SERVER_PRVKEY]."
)


def root_options(fn: F) -> F:
    options = [
        click.option("--host", help="Server host [COLONIES_SERVER_HOST, localhost]."),
        click.option(
            "--port",
            type=int,
            help="Server port [COLONIES_SERVER_HTTP_PORT or COLONIES_SERVER_PORT, 50080].",
        ),
        click.option("--tls/--no-tls", default=None, help="HTTPS/WSS [COLONIES_TLS]."),
        click.option(
            "--insecure", is_flag=True, default=None,
            help="Plain HTTP, no TLS: the same as --no-tls (upstream's flag).",
        ),
        click.option(
            "--skip-tls-verify", is_flag=True,
            help="Accept any server certificate (never in production).",
        ),
        click.option("--ca-file", help="Trust this CA certificate file [COLONIES_CA_FILE]."),
        click.option(
            "--backend",
            help="Transports to try in order: http, grpc, coap, libp2p, comma-separated "
            "[COLONIES_CLIENT_BACKENDS, http].",
        ),
        click.option("--key", help="Your private key [COLONIES_PRVKEY]."),
        click.option("--colony", help="Colony name [COLONIES_COLONY_NAME]."),
        click.option("--json", "json_output", is_flag=True,
                     help="Every command prints JSON (the same as -o json)."),
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


def make_env(
    host: str | None,
    port: int | None,
    tls: bool | None,
    insecure: bool | None,
    skip_tls_verify: bool,
    ca_file: str | None,
    key: str | None,
    colony: str | None,
    json_output: bool,
    backend: str | None = None,
) -> Env:
    if insecure:
        if tls:
            raise click.UsageError("--insecure (plain HTTP) contradicts --tls")
        tls = False
    backends = None
    if backend is not None:
        try:
            backends = parse_backends("--backend", backend)
        except ConfigError as exc:
            raise click.BadParameter(str(exc).removeprefix("--backend: ")) from None
    overrides = {
        name: value
        for name, value in (
            ("host", host),
            ("port", port),
            ("tls", tls),
            ("ca_file", ca_file),
            ("prvkey", key),
            ("colony_name", colony),
            ("backends", backends),
        )
        if value is not None
    }
    return Env(overrides, json=json_output, skip_tls_verify=skip_tls_verify)


def describe(exc: BaseException, url: str) -> str | None:
    """The one-line message for a failure a user can act on; None for a bug."""
    if isinstance(exc, ColoniesError):
        return f"{exc.message} (status {exc.status})"
    if isinstance(exc, ColonyFSError):  # S3 side of ColonyFS: its message says where and why
        return str(exc)
    if isinstance(exc, (TLSError, ssl.SSLError)):
        return f"TLS with {url} failed: {exc}"
    if isinstance(exc, (ConnectError, ConnectionRefusedError)):
        return f"cannot reach server at {url}"
    if isinstance(exc, TimeoutError):  # the SDK's Timeout, asyncio's (TimeoutError since 3.11)
        return f"no reply from server at {url} in time"
    if isinstance(exc, (TransportError, OSError)):
        return f"connection to {url} failed: {exc}"
    if isinstance(exc, ValueError):
        return str(exc)
    return None


def errors(fn: F) -> F:
    """One line on stderr and exit code 1 for the failures a user can act on."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            env = click.get_current_context().find_object(Env)
            message = describe(exc, env.url if env else "the server")
            if message is None:
                raise
            fail(message)

    return wrapper  # type: ignore[return-value]


def parse_json(text: str | None, what: str, default: Any) -> Any:
    import json

    if text is None:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{what} is not valid JSON: {exc}") from None


def id_argument(name: str, *flags: str, what: str) -> Callable[[F], F]:
    """An ID given as an argument (``process get ID``) or, as upstream's CLI takes it, as an
    option (``process get -p ID``); the command gets it as ``name``."""
    metavar = name.upper()

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            positional = kwargs.pop(f"{name}_arg", None)
            option = kwargs.pop(f"{name}_opt", None)
            if positional and option and positional != option:
                raise click.UsageError(f"two different {what}s: {positional} and {option}")
            value = positional or option
            if not value:
                raise click.UsageError(f"give the {what}: {metavar} or {flags[-1]} {metavar}")
            kwargs[name] = value
            return fn(*args, **kwargs)

        command = click.option(*flags, f"{name}_opt", metavar=metavar, help=f"The {what}.")(wrapper)
        return click.argument(f"{name}_arg", required=False, metavar=f"[{metavar}]")(command)  # type: ignore[return-value]

    return decorate


def confirm_or_yes(question: str, yes: bool) -> None:
    """Ask before something that cannot be undone; ``--yes`` answers for scripts (without a
    terminal to ask on, ``--yes`` is required)."""
    if yes:
        return
    if not sys.stdin.isatty():
        fail(f"{question.rstrip('?')}: not without --yes (no terminal to ask on)")
    if not click.confirm(question, default=False, err=True):
        fail("nothing done")


yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
