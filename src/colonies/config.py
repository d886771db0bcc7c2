"""Every COLONIES_* setting, read from the environment in this one place (docs/protocol.md §9), and
the AWS_S3_* settings of ColonyFS clients (docs/protocol.md §13)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = [
    "BACKENDS",
    "ClientConfig",
    "ConfigError",
    "S3Config",
    "ServerConfig",
    "env_bool",
    "parse_backends",
]

#: The transports a server can serve and a client can use (docs/protocol.md §12), by the names
#: COLONIES_SERVER_BACKENDS and COLONIES_CLIENT_BACKENDS take; ``gin`` and ``p2p`` are upstream's
#: other names for ``http`` and ``libp2p``.
BACKENDS = ("http", "grpc", "coap", "libp2p")
_BACKEND_ALIASES = {"gin": "http", "p2p": "libp2p"}


#: The most worker processes COLONIES_WORKERS may ask for.
MAX_WORKERS = 64


class ConfigError(ValueError):
    """A COLONIES_* variable has a value we cannot use."""


def env_bool(value: str | None, default: bool = False) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def parse_backends(name: str, raw: str) -> tuple[str, ...]:
    """A comma list of backend names, aliases resolved, duplicates dropped, order kept; empty
    means ``http``. An unknown name is an error (upstream ignored it silently)."""
    chosen: list[str] = []
    for part in raw.split(","):
        part = part.strip().lower()
        if not part:
            continue
        backend = _BACKEND_ALIASES.get(part, part)
        if backend not in BACKENDS:
            known = ", ".join(BACKENDS)
            raise ConfigError(f"{name}: unknown backend {part!r} (known: {known}, gin, p2p)")
        if backend not in chosen:
            chosen.append(backend)
    return tuple(chosen) or ("http",)


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    port = _int(env, name, default)
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name} must be a port number (0-65535), got {port}")
    return port


def _first(env: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return ""


@dataclass(frozen=True)
class ServerConfig:
    db_url: str
    server_id: str = ""
    bind: str = "0.0.0.0"
    port: int = 50080
    advertised_host: str = "0.0.0.0"
    advertised_tls: bool = False
    tls_cert: str = ""
    tls_key: str = ""
    build_version: str = "dev"
    build_time: str = ""
    max_body: int = 64 * 1024 * 1024
    db_pool_max: int = 100
    db_pool_min: int = 2
    db_conn_max_lifetime: int = 300
    db_conn_max_idle_time: int = 60
    allow_executor_reregister: bool = False
    replica_name: str = ""
    cron_period_ms: int = 1000
    generator_period_ms: int = 1000
    retention: bool = False
    retention_seconds: int = 0
    stale_executor_seconds: int = 600
    cleanup_interval_seconds: int = 60
    timezone: str = "UTC"
    etcd_endpoints: str = ""
    # The keys of this fleet in etcd: fleets sharing one etcd elect separate leaders.
    etcd_prefix: str = "/colonies"
    leader_ttl: int = 5
    require_fresh: bool = False
    freshness_window: int = 300
    # /metrics has no authentication: colony names appear in it only when asked for.
    metrics_colony_names: bool = False
    # The server owner's key, when given: signs ledger checkpoints. Never printed.
    server_prvkey: str = field(default="", repr=False)
    # Migrate the schema at start (under an advisory lock); False: only check that it is current.
    db_migrate: bool = True
    # Seconds a stopping replica keeps serving with /ready failing (SIGTERM), so that load
    # balancers stop routing to it before it closes its listener.
    drain_seconds: float = 0.0
    # Seconds between WebSocket pings on /pubsub; 0: none.
    pubsub_heartbeat: float = 20.0
    log_format: str = "text"
    verbose: bool = False
    # Worker processes serving the HTTP port together (SO_REUSEPORT), each a replica of its own.
    workers: int = 1
    # The transports served beside /health, /ready and /metrics (docs/protocol.md §12).
    backends: tuple[str, ...] = ("http",)
    grpc_port: int = 50051
    # gRPC over TLS with this pair (COLONIES_SERVER_GRPC_TLS_*, else the HTTP pair); plaintext
    # without. ``grpc_insecure`` is only reported by getserverinfomsg, as upstream did.
    grpc_tls_cert: str = ""
    grpc_tls_key: str = ""
    grpc_insecure: bool = False
    coap_port: int = 5683
    libp2p_port: int = 5000
    # Hex of a marshalled libp2p private key (upstream's format); a fresh one when empty.
    libp2p_identity: str = field(default="", repr=False)
    # Multiaddrs to announce instead of the listening addresses (a NAT's or a Service's).
    libp2p_announce_addrs: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerConfig:
        env = os.environ if env is None else env
        db_url = env.get("COLONIES_DB_URL", "").strip() or _db_url_from_parts(env)
        server_id = env.get("COLONIES_SERVER_ID", "").strip().lower()
        prvkey = env.get("COLONIES_SERVER_PRVKEY", "").strip()
        if not server_id:
            if prvkey:
                from colonies.crypto import parse_private_key

                try:
                    server_id = parse_private_key(prvkey).id
                except ValueError:
                    raise ConfigError("COLONIES_SERVER_PRVKEY is not a valid private key") from None
        if server_id and (
            len(server_id) != 64 or any(c not in "0123456789abcdef" for c in server_id)
        ):
            raise ConfigError("COLONIES_SERVER_ID must be 64 hex characters")
        port = _int(env, "COLONIES_SERVER_HTTP_PORT", 0) or _int(env, "COLONIES_SERVER_PORT", 50080)
        tls_cert = _first(env, "COLONIES_TLSCERT", "COLONIES_SERVER_HTTP_TLS_CERT")
        tls_key = _first(env, "COLONIES_TLSKEY", "COLONIES_SERVER_HTTP_TLS_KEY")
        if bool(tls_cert) != bool(tls_key):
            raise ConfigError("COLONIES_TLSCERT and COLONIES_TLSKEY must be set together")
        log_format = env.get("COLONIES_LOG_FORMAT", "text").strip().lower() or "text"
        if log_format not in ("text", "json"):
            raise ConfigError("COLONIES_LOG_FORMAT must be 'text' or 'json'")
        max_body = _int(env, "COLONIES_MAX_BODY", 64 * 1024 * 1024)
        if max_body <= 0:
            raise ConfigError("COLONIES_MAX_BODY must be positive")
        pool_max = _int(env, "COLONIES_DB_MAX_OPEN_CONNS", 100)
        if pool_max < 2:
            raise ConfigError("COLONIES_DB_MAX_OPEN_CONNS must be at least 2")
        retention = env_bool(env.get("COLONIES_RETENTION"))
        retention_seconds = _int(env, "COLONIES_RETENTION_POLICY", 0)
        if retention and retention_seconds <= 0:
            raise ConfigError("COLONIES_RETENTION=true needs COLONIES_RETENTION_POLICY (seconds)")
        periods = {
            name: _int(env, name, default)
            for name, default in (
                ("COLONIES_CRON_CHECKER_PERIOD", 1000),
                ("COLONIES_GENERATOR_CHECKER_PERIOD", 1000),
                ("COLONIES_STALE_EXECUTOR_DURATION", 600),
                ("COLONIES_CLEANUP_INTERVAL", 60),
            )
        }
        for name, value in periods.items():
            if value <= 0:
                raise ConfigError(f"{name} must be positive")
        leader_ttl = _int(env, "COLONIES_LEADER_TTL", 5)
        if leader_ttl < 2:
            raise ConfigError("COLONIES_LEADER_TTL must be at least 2 seconds")
        etcd_endpoints = env.get("COLONIES_ETCD_ENDPOINTS", "").strip()
        _check_etcd_endpoints(etcd_endpoints)
        etcd_prefix = env.get("COLONIES_ETCD_PREFIX", "").strip().rstrip("/") or "/colonies"
        if not etcd_prefix.startswith("/") or any(c.isspace() for c in etcd_prefix):
            raise ConfigError("COLONIES_ETCD_PREFIX must start with / and contain no spaces")
        drain_seconds = _int(env, "COLONIES_DRAIN_SECONDS", 0)
        heartbeat = _int(env, "COLONIES_PUBSUB_HEARTBEAT", 20)
        if drain_seconds < 0 or heartbeat < 0:
            raise ConfigError("COLONIES_DRAIN_SECONDS and COLONIES_PUBSUB_HEARTBEAT must be >= 0")
        backends = parse_backends(
            "COLONIES_SERVER_BACKENDS", env.get("COLONIES_SERVER_BACKENDS", "")
        )
        grpc_cert = _first(env, "COLONIES_SERVER_GRPC_TLS_CERT") or tls_cert
        grpc_key = _first(env, "COLONIES_SERVER_GRPC_TLS_KEY") or tls_key
        if bool(grpc_cert) != bool(grpc_key):
            raise ConfigError(
                "COLONIES_SERVER_GRPC_TLS_CERT and COLONIES_SERVER_GRPC_TLS_KEY "
                "must be set together"
            )
        libp2p_identity = _first(env, "COLONIES_SERVER_LIBP2P_IDENTITY", "COLONIES_LIBP2P_IDENTITY")
        if libp2p_identity:
            from colonies.p2p import IdentityError, check_identity

            try:
                check_identity(libp2p_identity)
            except IdentityError as exc:
                raise ConfigError(f"COLONIES_SERVER_LIBP2P_IDENTITY: {exc}") from None
        announce = _first(
            env, "COLONIES_SERVER_LIBP2P_ANNOUNCE_ADDRS", "COLONIES_LIBP2P_ANNOUNCE_ADDRS"
        )
        workers = _int(env, "COLONIES_WORKERS", 1)
        if not 1 <= workers <= MAX_WORKERS:
            raise ConfigError(f"COLONIES_WORKERS must be from 1 to {MAX_WORKERS}, got {workers}")
        if workers > 1 and backends != ("http",):
            raise ConfigError(
                "COLONIES_WORKERS > 1 shares the HTTP port only: serve the other backends "
                "(COLONIES_SERVER_BACKENDS) with one worker"
            )
        return cls(
            backends=backends,
            grpc_port=_port(env, "COLONIES_SERVER_GRPC_PORT", 50051),
            grpc_tls_cert=grpc_cert,
            grpc_tls_key=grpc_key,
            grpc_insecure=env_bool(env.get("COLONIES_SERVER_GRPC_INSECURE")),
            coap_port=_port(env, "COLONIES_SERVER_COAP_PORT", 5683),
            libp2p_port=_port(env, "COLONIES_SERVER_LIBP2P_PORT", 0)
            or _port(env, "COLONIES_LIBP2P_PORT", 5000),
            libp2p_identity=libp2p_identity,
            libp2p_announce_addrs=tuple(a.strip() for a in announce.split(",") if a.strip()),
            db_url=db_url,
            cron_period_ms=periods["COLONIES_CRON_CHECKER_PERIOD"],
            generator_period_ms=periods["COLONIES_GENERATOR_CHECKER_PERIOD"],
            retention=retention,
            retention_seconds=retention_seconds,
            stale_executor_seconds=periods["COLONIES_STALE_EXECUTOR_DURATION"],
            cleanup_interval_seconds=periods["COLONIES_CLEANUP_INTERVAL"],
            timezone=env.get("TZ", "").strip() or "UTC",
            etcd_endpoints=etcd_endpoints,
            etcd_prefix=etcd_prefix,
            db_migrate=env_bool(env.get("COLONIES_DB_MIGRATE"), default=True),
            drain_seconds=float(drain_seconds),
            pubsub_heartbeat=float(heartbeat),
            require_fresh=env_bool(env.get("COLONIES_REQUIRE_FRESH")),
            metrics_colony_names=env_bool(env.get("COLONIES_METRICS_COLONY_NAMES")),
            server_prvkey=prvkey,
            freshness_window=_int(env, "COLONIES_FRESHNESS_WINDOW", 300),
            leader_ttl=leader_ttl,
            server_id=server_id,
            bind=env.get("COLONIES_SERVER_BIND", "").strip() or "0.0.0.0",
            port=port,
            advertised_host=env.get("COLONIES_SERVER_HTTP_HOST", "").strip() or "0.0.0.0",
            advertised_tls=env_bool(env.get("COLONIES_SERVER_HTTP_TLS")),
            tls_cert=tls_cert,
            tls_key=tls_key,
            build_version=env.get("BUILD_VERSION", "").strip() or "dev",
            build_time=env.get("BUILD_TIME", "").strip(),
            max_body=max_body,
            db_pool_max=pool_max,
            db_pool_min=min(2, pool_max),
            db_conn_max_lifetime=_int(env, "COLONIES_DB_CONN_MAX_LIFETIME", 300),
            db_conn_max_idle_time=_int(env, "COLONIES_DB_CONN_MAX_IDLE_TIME", 60),
            allow_executor_reregister=env_bool(env.get("COLONIES_ALLOW_EXECUTOR_REREGISTER")),
            replica_name=env.get("COLONIES_REPLICA_NAME", "").strip()
            or f"{socket.gethostname()}:{port}",
            log_format=log_format,
            verbose=env_bool(env.get("COLONIES_VERBOSE")),
            workers=workers,
        )


def _check_etcd_endpoints(text: str) -> None:
    """``host:port`` or ``http://host:port``, comma-separated. ``https://`` is refused: the etcd
    client speaks plaintext only, and would otherwise connect without TLS unnoticed."""
    for item in filter(None, (part.strip() for part in text.split(","))):
        if item.lower().startswith("https://"):
            raise ConfigError(
                f"COLONIES_ETCD_ENDPOINTS: {item}: TLS to etcd is not supported (the client "
                "speaks plaintext only); use http:// and keep etcd reachable from the servers only"
            )
        host, _, port = item.removeprefix("http://").rstrip("/").rpartition(":")
        if not host or not port.isdigit() or "/" in host:
            raise ConfigError(f"COLONIES_ETCD_ENDPOINTS: {item}: expected host:port")


def _db_url_from_parts(env: Mapping[str, str]) -> str:
    db_type = env.get("COLONIES_DB_TYPE", "postgresql").strip().lower() or "postgresql"
    if db_type not in ("postgresql", "postgres"):
        raise ConfigError("COLONIES_DB_TYPE: only 'postgresql' is supported")
    host = env.get("COLONIES_DB_HOST", "").strip()
    if not host:
        raise ConfigError("set COLONIES_DB_URL, or COLONIES_DB_HOST (with COLONIES_DB_PORT, ...)")
    port = _int(env, "COLONIES_DB_PORT", 5432)
    user = env.get("COLONIES_DB_USER", "").strip()
    password = env.get("COLONIES_DB_PASSWORD", "")
    name = env.get("COLONIES_DB_NAME", "").strip() or "postgres"
    auth = ""
    if user:
        auth = quote(user, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        auth += "@"
    return f"postgresql://{auth}{host}:{port}/{quote(name, safe='')}"


@dataclass(frozen=True)
class ClientConfig:
    """What the SDK, CLI and executors read (docs/protocol.md §9, "Client")."""

    host: str = "localhost"
    port: int = 50080
    tls: bool = False
    ca_file: str = ""
    prvkey: str = ""
    colony_prvkey: str = ""
    server_prvkey: str = ""
    colony_name: str = ""
    executor_name: str = ""
    executor_type: str = ""
    # The transports to try, in order (docs/protocol.md §12.6); ``host``/``port`` are HTTP's.
    backends: tuple[str, ...] = ("http",)
    grpc_host: str = "localhost"
    grpc_port: int = 50051
    grpc_tls: bool = False
    coap_host: str = "localhost"
    coap_port: int = 5683
    # Full multiaddrs (with /p2p/<peer ID>): the server's, or bootstrap peers to try in order.
    libp2p_peers: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def endpoint(self, backend: str) -> str:
        """Where ``backend`` reaches the server, for messages."""
        if backend == "grpc":
            return f"grpc://{self.grpc_host}:{self.grpc_port}"
        if backend == "coap":
            return f"coap://{self.coap_host}:{self.coap_port}"
        if backend == "libp2p":
            return self.libp2p_peers[0] if self.libp2p_peers else "libp2p (no peer)"
        return self.url

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ClientConfig:
        return cls.from_env_with_sources(env)[0]

    @classmethod
    def from_env_with_sources(
        cls, env: Mapping[str, str] | None = None
    ) -> tuple[ClientConfig, dict[str, str]]:
        """The settings and, for each field, the variable it came from ("" for the default):
        what `colonies config` shows."""
        env = os.environ if env is None else env
        sources: dict[str, str] = {}

        def pick(attr: str, *names: str) -> str:
            for name in names:
                value = env.get(name, "").strip()
                if value:
                    sources[attr] = name
                    return value
            sources[attr] = ""
            return ""

        def port(attr: str, default: int, *names: str) -> int:
            text = pick(attr, *names)
            return _port({sources[attr]: text}, sources[attr], default) if text else default

        backends = parse_backends(
            "COLONIES_CLIENT_BACKENDS", pick("backends", "COLONIES_CLIENT_BACKENDS")
        )
        tls = env_bool(pick("tls", "COLONIES_TLS"))
        grpc_insecure = pick("grpc_tls", "COLONIES_CLIENT_GRPC_INSECURE")
        if not grpc_insecure:
            sources["grpc_tls"] = sources["tls"]
        libp2p_host = pick("libp2p_peers", "COLONIES_CLIENT_LIBP2P_HOST")
        # A multiaddr names the server; "dht", a host name or nothing: the bootstrap peers.
        if libp2p_host.startswith("/"):
            peers: tuple[str, ...] = (libp2p_host,)
        else:
            bootstrap = pick(
                "libp2p_peers",
                "COLONIES_CLIENT_LIBP2P_BOOTSTRAP_PEERS",
                "COLONIES_LIBP2P_BOOTSTRAP_PEERS",
            )
            peers = tuple(p.strip() for p in bootstrap.split(",") if p.strip())
        for peer in peers:
            if "/p2p/" not in peer:
                raise ConfigError(
                    f"COLONIES_CLIENT_LIBP2P_HOST/_BOOTSTRAP_PEERS: {peer!r} is not a full "
                    "multiaddr (/ip4/<address>/tcp/<port>/p2p/<peer ID>)"
                )
        if "libp2p" in backends and not peers:
            raise ConfigError(
                "COLONIES_CLIENT_BACKENDS has libp2p: set COLONIES_CLIENT_LIBP2P_HOST to the "
                "server's multiaddr, or COLONIES_CLIENT_LIBP2P_BOOTSTRAP_PEERS"
            )
        config = cls(
            backends=backends,
            grpc_host=pick("grpc_host", "COLONIES_CLIENT_GRPC_HOST", "COLONIES_SERVER_HOST")
            or "localhost",
            grpc_port=port(
                "grpc_port", 50051, "COLONIES_CLIENT_GRPC_PORT", "COLONIES_SERVER_GRPC_PORT"
            ),
            grpc_tls=not env_bool(grpc_insecure) if grpc_insecure else tls,
            coap_host=pick("coap_host", "COLONIES_CLIENT_COAP_HOST", "COLONIES_SERVER_HOST")
            or "localhost",
            coap_port=port(
                "coap_port", 5683, "COLONIES_CLIENT_COAP_PORT", "COLONIES_SERVER_COAP_PORT"
            ),
            libp2p_peers=peers,
            host=pick("host", "COLONIES_CLIENT_HTTP_HOST", "COLONIES_SERVER_HOST") or "localhost",
            port=port(
                "port",
                50080,
                "COLONIES_CLIENT_HTTP_PORT",
                "COLONIES_SERVER_HTTP_PORT",
                "COLONIES_SERVER_PORT",
            ),
            tls=tls,
            ca_file=pick("ca_file", "COLONIES_CA_FILE"),
            prvkey=pick("prvkey", "COLONIES_PRVKEY", "COLONIES_EXECUTOR_PRVKEY"),
            colony_prvkey=pick("colony_prvkey", "COLONIES_COLONY_PRVKEY"),
            server_prvkey=pick("server_prvkey", "COLONIES_SERVER_PRVKEY"),
            colony_name=pick("colony_name", "COLONIES_COLONY_NAME"),
            executor_name=pick("executor_name", "COLONIES_EXECUTOR_NAME"),
            executor_type=pick("executor_type", "COLONIES_EXECUTOR_TYPE"),
        )
        return config, sources


_S3_REQUIRED = ("AWS_S3_ENDPOINT", "AWS_S3_ACCESSKEY", "AWS_S3_SECRETKEY", "AWS_S3_BUCKET")


@dataclass(frozen=True)
class S3Config:
    """Where ColonyFS clients (SDK, CLI, executors) keep file bytes: upstream's ``AWS_S3_*``
    variables (docs/protocol.md §13). Path-style addressing; the server never sees these."""

    endpoint: str  # host:port, no scheme
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    bucket: str
    region: str = ""
    tls: bool = False
    skip_verify: bool = False

    @property
    def host(self) -> str:
        return self.endpoint.rpartition(":")[0] or self.endpoint

    @property
    def port(self) -> int:
        """The endpoint's port; the scheme's default when it names none."""
        host, sep, port = self.endpoint.rpartition(":")
        if sep and host and port.isdigit():
            return int(port)
        return 443 if self.tls else 80

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Config:
        env = os.environ if env is None else env
        missing = [name for name in _S3_REQUIRED if not env.get(name, "").strip()]
        if missing:
            raise ConfigError(
                "ColonyFS needs S3 settings: set " + ", ".join(missing)
                + " (see docs/colonyfs.md)"
            )  # fmt: skip
        endpoint = env["AWS_S3_ENDPOINT"].strip()
        if "://" in endpoint or "/" in endpoint:
            raise ConfigError(
                f"AWS_S3_ENDPOINT must be host:port without a scheme or path, got {endpoint!r} "
                "(AWS_S3_TLS=true selects HTTPS)"
            )
        # Upstream's rule: each flag is true only when it is exactly "true".
        return cls(
            endpoint=endpoint,
            access_key=env["AWS_S3_ACCESSKEY"].strip(),
            secret_key=env["AWS_S3_SECRETKEY"].strip(),
            bucket=env["AWS_S3_BUCKET"].strip(),
            region=env.get("AWS_S3_REGION", "").strip(),
            tls=env.get("AWS_S3_TLS", "").strip() == "true",
            skip_verify=env.get("AWS_S3_SKIPVERIFY", "").strip() == "true",
        )
