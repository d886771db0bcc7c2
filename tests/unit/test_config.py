"""ServerConfig.from_env: the settings a Kubernetes deployment relies on (etcd prefix and
endpoints, migrations, drain, WebSocket heartbeat) and the values it refuses."""

from __future__ import annotations

import pytest

from colonies.config import ConfigError, ServerConfig
from colonies.ha.etcd import parse_endpoints

BASE = {"COLONIES_DB_URL": "postgresql://u@h:5432/d"}


def config(**env: str) -> ServerConfig:
    return ServerConfig.from_env({**BASE, **env})


def test_defaults() -> None:
    c = config()
    assert c.etcd_prefix == "/colonies"
    assert c.db_migrate is True
    assert c.drain_seconds == 0
    assert c.pubsub_heartbeat == 20


def test_kubernetes_settings() -> None:
    c = config(
        COLONIES_ETCD_ENDPOINTS="http://e-0.e:2379,e-1.e:2379",
        COLONIES_ETCD_PREFIX="/colonies/ns/rel/",
        COLONIES_DB_MIGRATE="false",
        COLONIES_DRAIN_SECONDS="15",
        COLONIES_PUBSUB_HEARTBEAT="0",
    )
    assert parse_endpoints(c.etcd_endpoints) == [("e-0.e", 2379), ("e-1.e", 2379)]
    assert c.etcd_prefix == "/colonies/ns/rel"  # no trailing slash: keys are <prefix>/leader
    assert c.db_migrate is False
    assert (c.drain_seconds, c.pubsub_heartbeat) == (15, 0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COLONIES_ETCD_ENDPOINTS": "https://e:2379"}, "TLS to etcd is not supported"),
        ({"COLONIES_ETCD_ENDPOINTS": "http://e:2379,HTTPS://f:2379"}, "HTTPS://f:2379"),
        ({"COLONIES_ETCD_ENDPOINTS": "e"}, "expected host:port"),
        ({"COLONIES_ETCD_ENDPOINTS": "http://e/x:2379"}, "expected host:port"),
        ({"COLONIES_ETCD_PREFIX": "colonies"}, "must start with /"),
        ({"COLONIES_ETCD_PREFIX": "/a b"}, "no spaces"),
        ({"COLONIES_DRAIN_SECONDS": "-1"}, "COLONIES_DRAIN_SECONDS"),
        ({"COLONIES_DRAIN_SECONDS": "soon"}, "must be an integer"),
        ({"COLONIES_PUBSUB_HEARTBEAT": "-5"}, "COLONIES_PUBSUB_HEARTBEAT"),
    ],
)
def test_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(**env)


def test_the_etcd_client_refuses_https_too() -> None:
    with pytest.raises(ValueError, match="TLS is not supported"):
        parse_endpoints("https://e:2379")
