"""``colonies config``: the settings in effect and where each came from, secrets masked."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import click

from colonies.cli._common import Env, fail, pass_env
from colonies.cli._output import dump, output_options, table
from colonies.config import ClientConfig, ConfigError
from colonies.crypto import parse_private_key

# Option of the root command that overrides each ClientConfig field.
_FLAGS = {
    "host": "--host",
    "port": "--port",
    "tls": "--tls/--insecure",
    "ca_file": "--ca-file",
    "prvkey": "--key",
    "colony_name": "--colony",
    "backends": "--backend",
}
_TITLES = {
    "host": "server host",
    "port": "server port",
    "tls": "TLS",
    "ca_file": "CA file",
    "prvkey": "your key",
    "colony_prvkey": "colony owner's key",
    "server_prvkey": "server owner's key",
    "colony_name": "colony",
    "executor_name": "executor name",
    "executor_type": "executor type",
    "backends": "transports, in order",
    "grpc_host": "gRPC host",
    "grpc_port": "gRPC port",
    "grpc_tls": "gRPC TLS",
    "coap_host": "CoAP host",
    "coap_port": "CoAP port",
    "libp2p_peers": "LibP2P peers",
}
_KEYS = ("prvkey", "colony_prvkey", "server_prvkey")


def _masked_key(text: str) -> str:
    """A key is never shown; its ID is, so you can tell which identity is in use."""
    try:
        return f"set (ID {parse_private_key(text).id})"
    except ValueError:
        return "set, but not a valid private key"


def _masked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":****@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def settings(env: Env) -> list[dict[str, str]]:
    """Every setting as {setting, value, source}."""
    try:
        _, sources = ClientConfig.from_env_with_sources()
    except ConfigError as exc:
        fail(str(exc))
    config = env.config
    rows: list[dict[str, str]] = [
        {"setting": "server", "value": config.url, "source": "host, port and TLS below"}
    ]
    for attr, title in _TITLES.items():
        value = getattr(config, attr)
        if attr in env.overrides:
            source = _FLAGS[attr]
        else:
            source = sources.get(attr) or "default"
        if attr in _KEYS:
            shown = _masked_key(value) if value else "not set"
        elif isinstance(value, tuple):
            shown = ", ".join(value) if value else "not set"
        elif isinstance(value, bool):
            shown = "on" if value else "off"
        else:
            shown = str(value) if value != "" else "not set"
        rows.append({"setting": title, "value": shown, "source": source})
    rows.append({
        "setting": "TLS certificate check",
        "value": "off" if env.skip_tls_verify else "on",
        "source": "--skip-tls-verify" if env.skip_tls_verify else "default",
    })  # fmt: skip
    db_url = os.environ.get("COLONIES_DB_URL", "").strip()
    rows.append({
        "setting": "database (colonies ledger)",
        "value": _masked_url(db_url) if db_url else "not set",
        "source": "COLONIES_DB_URL" if db_url else "default",
    })  # fmt: skip
    for name in ("AWS_S3_ENDPOINT", "AWS_S3_BUCKET", "AWS_S3_ACCESSKEY", "AWS_S3_SECRETKEY"):
        value = os.environ.get(name, "").strip()
        secret = name == "AWS_S3_SECRETKEY"
        rows.append({
            "setting": f"ColonyFS {name.removeprefix('AWS_S3_').lower()}",
            "value": ("set (masked)" if secret else value) if value else "not set",
            "source": name if value else "default",
        })  # fmt: skip
    return rows


@click.command("config")
@output_options
@pass_env
def config(env: Env, output: str, no_headers: bool) -> None:
    """The settings in effect and where each came from: a root option, a COLONIES_* (or
    AWS_S3_*) variable, or the default. Keys and passwords are never shown; a key's ID is."""
    rows = settings(env)
    if output != "table":
        dump(rows, output)
        return
    table(
        [[r["setting"], r["value"], r["source"]] for r in rows],
        None if no_headers else ["SETTING", "VALUE", "FROM"],
    )
