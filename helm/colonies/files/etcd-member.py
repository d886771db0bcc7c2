"""Membership of a bundled etcd member (the colonies chart); the standard library only.

``prepare`` runs before etcd in each member's pod and writes its configuration file, deciding how
the member starts:

- with data of a member the cluster still lists: a plain restart;
- without data while no other member is healthy: the first bootstrap of the chart's members
  (``initial-cluster-state: new``);
- without data while the cluster is healthy (the volume was lost, or the StatefulSet grew):
  remove the stale entry of this member if it had ever started, add it anew and join the
  running cluster (``existing``);
- with data of a member the cluster no longer lists (removed by a scale-down, volume kept): the
  data is stale; drop it and join as above.

``prune`` runs after an upgrade or rollback (a Helm hook) and removes the members the
StatefulSet no longer has, one by one, so that a scale-down does not leave dead voters behind.

Both speak etcd's JSON gateway (``/v3/cluster/member/*``) on the client URLs. The settings come
from the environment (see ``_env``); a step that cannot finish in ``ETCD_SETUP_TIMEOUT`` seconds
fails the container with a one-line reason, and Kubernetes retries it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from typing import Any

Member = dict[str, Any]


class SetupError(Exception):
    """Why the member cannot be set up; printed as one line."""


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise SetupError(f"{name} is not set")
    return value


def _log(message: str) -> None:
    print(f"etcd-member: {message}", flush=True)


def _post(url: str, path: str, body: dict[str, Any], timeout: float = 3.0) -> dict[str, Any]:
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            data: dict[str, Any] = json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as exc:  # etcd's refusal, e.g. "unhealthy cluster"
        try:
            reason = json.loads(exc.read()).get("message") or exc.reason
        except ValueError:
            reason = exc.reason
        raise SetupError(f"{path}: {reason}") from None
    return data


def _health(url: str) -> bool | None:
    """True when the member at ``url`` has a leader and answers a quorum read, False when it
    answers without being healthy (an election under way, no quorum yet), None when nothing
    answers."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=3.0) as reply:
            return bool(json.loads(reply.read()).get("health") in ("true", True))
    except urllib.error.HTTPError:  # 503 {"health": "false"}
        return False
    except (OSError, ValueError):
        return None


def healthy_peer(client_urls: list[str], own_url: str, settle: float) -> str | None:
    """The client URL of another member of a healthy cluster, or None.

    A member that answers unhealthy is asked again for up to ``settle`` seconds: right after the
    leader is lost the others answer unhealthy until they have elected a new one, and a member
    restarted in that moment must still join the running cluster, not bootstrap a new one. If
    they stay unhealthy (the first bootstrap, waiting for a quorum), there is no cluster yet."""
    others = [url for url in client_urls if url != own_url]
    give_up = time.monotonic() + settle
    while True:
        answers = {url: _health(url) for url in others}
        for url, healthy in answers.items():
            if healthy:
                return url
        if all(healthy is None for healthy in answers.values()) or time.monotonic() > give_up:
            return None
        _log("a member answers but the cluster has no leader yet: asking again")
        time.sleep(0.5)


def member_list(url: str) -> list[Member]:
    members: list[Member] = _post(url, "/v3/cluster/member/list", {}).get("members", [])
    return members


def _retry(what: str, deadline: float, action: Any) -> Any:
    """``action()`` until it succeeds or the deadline passes (etcd refuses a reconfiguration
    while another one is settling)."""
    delay = 0.5
    while True:
        try:
            return action()
        except (OSError, ValueError, SetupError) as exc:
            if time.monotonic() + delay > deadline:
                raise SetupError(f"{what}: {exc}") from None
            _log(f"{what}: {exc}; retrying")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _initial_cluster(members: list[Member], name: str, peer_url: str) -> str:
    """``initial-cluster`` for joining: the members with a name, and this one (as etcdctl's
    member add prints it; entries added but never started have no name and are left out)."""
    entries = []
    for member in members:
        urls = member.get("peerURLs", [])
        if peer_url in urls:
            entries.extend(f"{name}={url}" for url in urls)
        elif member.get("name"):
            entries.extend(f"{member['name']}={url}" for url in urls)
    return ",".join(entries)


def join(peer: str, name: str, peer_url: str, deadline: float) -> str:
    """Make this member a member of the running cluster at ``peer``; the initial-cluster to
    start with (state ``existing``)."""
    members = _retry("list the members", deadline, lambda: member_list(peer))
    own = [m for m in members if peer_url in m.get("peerURLs", [])]
    if own and not own[0].get("clientURLs"):
        _log("listed but never started: joining as is")
        return _initial_cluster(members, name, peer_url)
    if own:
        stale = own[0]["ID"]
        _log(f"listed with member id {stale} but without data: removing the stale entry")
        _retry(
            "remove the stale entry",
            deadline,
            lambda: _post(peer, "/v3/cluster/member/remove", {"ID": stale}),
        )
    _log("adding this member")
    reply = _retry(
        "add this member",
        deadline,
        lambda: _post(peer, "/v3/cluster/member/add", {"peerURLs": [peer_url]}),
    )
    return _initial_cluster(reply.get("members", []), name, peer_url)


def prepare() -> dict[str, Any]:
    name = _env("ETCD_NAME")
    peer_url = _env("ETCD_PEER_URL")
    client_url = _env("ETCD_CLIENT_URL")
    data_dir = _env("ETCD_DATA_DIR")
    client_urls = [u for u in _env("ETCD_CLUSTER_CLIENT_URLS").split(",") if u]
    deadline = time.monotonic() + float(_env("ETCD_SETUP_TIMEOUT", "300"))
    state, initial_cluster = "new", _env("ETCD_INITIAL_CLUSTER")

    has_data = os.path.isdir(os.path.join(data_dir, "member"))
    settings: dict[str, Any] = json.loads(_env("ETCD_SETTINGS", "{}"))
    # A few election timeouts (etcd's default is 1,000 ms) for a leader to be elected.
    settle = 5 * float(settings.get("election-timeout", 1000)) / 1000
    peer = healthy_peer(client_urls, client_url, settle)
    if has_data and peer is not None:
        members = _retry("list the members", deadline, lambda: member_list(peer))
        listed = any(peer_url in m.get("peerURLs", []) for m in members)
        if not listed:
            _log("the cluster no longer lists this member: dropping its stale data")
            shutil.rmtree(data_dir)
            has_data = False
    if has_data:
        _log("restarting with the data on the volume")
        state = "existing"  # ignored by etcd once there is data
    elif peer is not None:
        initial_cluster = join(peer, name, peer_url, deadline)
        state = "existing"
    else:
        _log("no healthy member answers: bootstrapping with the chart's members")

    config: dict[str, Any] = {
        "name": name,
        "data-dir": data_dir,
        "listen-client-urls": _env("ETCD_LISTEN_CLIENT_URLS", "http://0.0.0.0:2379"),
        "advertise-client-urls": client_url,
        "listen-peer-urls": _env("ETCD_LISTEN_PEER_URLS", "http://0.0.0.0:2380"),
        "initial-advertise-peer-urls": peer_url,
        "initial-cluster": initial_cluster,
        "initial-cluster-state": state,
        "initial-cluster-token": _env("ETCD_CLUSTER_TOKEN"),
        # The JSON gateway this script speaks; on by default with flags, not in a config file.
        "enable-grpc-gateway": True,
    }
    config.update(settings)
    path = _env("ETCD_CONFIG_FILE")
    with open(path, "w", encoding="utf-8") as out:
        json.dump(config, out, indent=2)  # JSON is YAML: etcd --config-file reads it
    _log(f"wrote {path}: state {state}, initial cluster {initial_cluster}")
    return config


def prune() -> list[str]:
    """Remove the members named ``<ETCD_MEMBER_PREFIX>-<i>`` with i >= ETCD_REPLICAS."""
    prefix = _env("ETCD_MEMBER_PREFIX")
    replicas = int(_env("ETCD_REPLICAS"))
    client_urls = [u for u in _env("ETCD_CLUSTER_CLIENT_URLS").split(",") if u]
    deadline = time.monotonic() + float(_env("ETCD_SETUP_TIMEOUT", "300"))

    def peer() -> str:
        found = healthy_peer(client_urls, "", settle=0.0)  # _retry asks again
        if found is None:
            raise SetupError("no healthy member answers")
        return found

    def ordinal(member: Member) -> int | None:
        names = [member.get("name", "")]
        names += [u.split("//", 1)[-1].split(".", 1)[0] for u in member.get("peerURLs", [])]
        for candidate in names:
            head, _, tail = candidate.rpartition("-")
            if head == prefix and tail.isdigit():
                return int(tail)
        return None

    removed = []
    while True:
        url = _retry("find a healthy member", deadline, peer)
        members = _retry("list the members", deadline, lambda: member_list(url))  # noqa: B023
        extra = [m for m in members if (ordinal(m) or 0) >= replicas]
        if not extra:
            _log(f"{len(members)} members, none beyond {replicas}")
            return removed
        victim = max(extra, key=lambda m: ordinal(m) or 0)
        label = victim.get("name") or victim["peerURLs"][0]
        _log(f"removing {label}: beyond etcd.bundled.replicas={replicas}")
        _retry(
            f"remove {label}",
            deadline,
            lambda: _post(url, "/v3/cluster/member/remove", {"ID": victim["ID"]}),  # noqa: B023
        )
        removed.append(label)


def main(argv: list[str]) -> int:
    commands = {"prepare": prepare, "prune": prune}
    if len(argv) != 2 or argv[1] not in commands:
        print("usage: etcd-member.py prepare|prune", file=sys.stderr)
        return 2
    try:
        commands[argv[1]]()
    except SetupError as exc:
        print(f"etcd-member: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
