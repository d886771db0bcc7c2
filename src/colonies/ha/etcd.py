"""Leader election on etcd: a lease, a create-if-absent transaction on one key, keep-alive.

The term is the leader key's create revision: every election creates the key anew, so terms
only grow. The leader steps down as soon as it cannot prove its lease alive for half the TTL
(well before the lease can expire), so two replicas never tick under valid leases at once;
fencing in PostgreSQL covers a leader that was paused instead (store/fencing.py).

Each replica also registers itself under ``<prefix>/replicas/<name>`` with a lease of its own,
which is what ``getclustermsg`` reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import aetcd

from colonies.ha.election import ClusterView, OnElected, OnLost, ReplicaInfo

log = logging.getLogger(__name__)


def parse_endpoints(text: str) -> list[tuple[str, int]]:
    """``host:port,host:port`` (an ``http://`` prefix is accepted) → [(host, port)].
    ``https://`` is refused: the client has no TLS (config.py says so at start-up)."""
    endpoints = []
    for item in text.split(","):
        if item.strip().lower().startswith("https://"):
            raise ValueError(f"invalid etcd endpoint {item.strip()!r}: TLS is not supported")
        item = item.strip().removeprefix("http://").rstrip("/")
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"invalid etcd endpoint {item!r}: expected host:port")
        endpoints.append((host, int(port)))
    if not endpoints:
        raise ValueError("COLONIES_ETCD_ENDPOINTS names no endpoint")
    return endpoints


class EtcdElection:
    """The election of several replicas (ha/election.py)."""

    def __init__(
        self,
        endpoints: list[tuple[str, int]],
        replica: ReplicaInfo,
        *,
        ttl: int = 5,
        prefix: str = "/colonies",
    ) -> None:
        self.endpoints = endpoints
        self.replica = replica
        self.ttl = max(int(ttl), 2)
        self.leader_key = f"{prefix}/leader".encode()
        self.replica_prefix = f"{prefix}/replicas/".encode()
        self._client: aetcd.Client | None = None
        self._endpoint = 0
        self._leader_lease: Any = None
        self._replica_lease: Any = None

    # --- connection ---------------------------------------------------------------------------
    async def _connect(self) -> aetcd.Client:
        if self._client is not None:
            return self._client
        last: Exception | None = None
        for _ in range(len(self.endpoints)):
            host, port = self.endpoints[self._endpoint % len(self.endpoints)]
            client = aetcd.Client(host=host, port=port, timeout=max(self.ttl // 2, 1))
            try:
                await client.connect()
                await client.status()
            except Exception as exc:
                last = exc
                with contextlib.suppress(Exception):
                    await client.close()
                self._endpoint += 1
                continue
            self._client = client
            return client
        raise ConnectionError(f"no etcd endpoint reachable: {last}")

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        self._endpoint += 1
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 2)

    # --- the election -------------------------------------------------------------------------
    async def run(self, on_elected: OnElected, on_lost: OnLost) -> None:
        registration = asyncio.create_task(self._register_forever(), name="etcd-replica")
        try:
            while True:
                try:
                    client = await self._connect()
                    term = await self._campaign(client)
                    if term is None:
                        await self._wait_for_vacancy(client)
                        continue
                    log.info("leader (etcd), term %d", term)
                    try:
                        await on_elected(term)
                        await self._hold(client)
                    finally:
                        await on_lost()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("etcd election: %s", exc)
                    await self._drop_client()
                    await asyncio.sleep(min(1.0, self.ttl / 4))
        finally:
            registration.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await registration
            lease, self._replica_lease = self._replica_lease, None
            if lease is not None and self._client is not None:
                with contextlib.suppress(Exception):  # leave the cluster view at once
                    await asyncio.wait_for(lease.revoke(), 2)
            await self._drop_client()

    async def _campaign(self, client: aetcd.Client) -> int | None:
        """Create the leader key under a fresh lease if nobody holds it; our term, or None."""
        lease = await client.lease(self.ttl)
        ok, _ = await client.transaction(
            compare=[client.transactions.create(self.leader_key) == 0],
            success=[client.transactions.put(self.leader_key, self.replica.name.encode(), lease)],
            failure=[],
        )
        if not ok:
            with contextlib.suppress(Exception):
                await lease.revoke()
            return None
        got = await client.get(self.leader_key)
        if got is None or got.lease != lease.id:
            return None
        self._leader_lease = lease
        return int(got.create_revision)

    async def _wait_for_vacancy(self, client: aetcd.Client) -> None:
        """Until the leader key changes (a resignation is seen at once) or a short while."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(client.watch_once(self.leader_key), self.ttl / 3)

    async def _hold(self, client: aetcd.Client) -> None:
        """Keep the lease alive; return (step down) once it cannot be proven alive."""
        lease = self._leader_lease
        last_ok = time.monotonic()
        while True:
            await asyncio.sleep(self.ttl / 6)
            try:
                reply = await asyncio.wait_for(lease.refresh(), self.ttl / 4)
                if int(getattr(reply, "TTL", 1)) <= 0:
                    log.warning("leader lease expired: stepping down")
                    return
                last_ok = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("leader lease refresh failed: %s", exc)
            if time.monotonic() - last_ok > self.ttl / 2:
                log.warning("leader lease unproven for %.1f s: stepping down", self.ttl / 2)
                await self._drop_client()
                return

    async def resign(self) -> None:
        """Give up leadership at once (SIGTERM): followers see the key go and take over."""
        lease, self._leader_lease = self._leader_lease, None
        if lease is not None and self._client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(lease.revoke(), 2)

    # --- replica registry (cluster view) ------------------------------------------------------
    async def _register_forever(self) -> None:
        key = self.replica_prefix + self.replica.name.encode()
        value = json.dumps(
            {"name": self.replica.name, "host": self.replica.host, "apiport": self.replica.apiport}
        ).encode()
        while True:
            try:
                client = await self._connect()
                lease = await client.lease(self.ttl)
                await client.put(key, value, lease=lease)
                self._replica_lease = lease
                while True:
                    await asyncio.sleep(self.ttl / 3)
                    reply = await lease.refresh()
                    if int(getattr(reply, "TTL", 1)) <= 0:
                        break  # expired meanwhile: register anew
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("replica registration: %s", exc)
                await asyncio.sleep(1)

    async def cluster(self) -> ClusterView:
        client = await self._connect()
        replicas = [_replica(kv.value) for kv in await client.get_prefix(self.replica_prefix)]
        leader = await client.get(self.leader_key)
        return ClusterView(replicas, leader.value.decode() if leader is not None else "")


def _replica(value: bytes) -> ReplicaInfo:
    """A replica's registration (what ``_register_forever`` wrote, or an older replica's)."""
    entry = json.loads(value)
    return ReplicaInfo(
        str(entry.get("name", "")), str(entry.get("host", "")), int(entry.get("apiport", 0))
    )
