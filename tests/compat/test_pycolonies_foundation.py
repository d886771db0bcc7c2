"""Colonies, executors, users, functions, file labels and snapshots with the real pycolonies
1.0.25 client against the real server started as a subprocess (docs/protocol.md §4, §6.1-6.5,
§6.12-6.13, §11).

Every key is made by pycolonies' own ``crypto.Crypto`` (secp256k1), so each passing call also
proves that the client and the server derive the same IDs from the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from crypto import Crypto
from pycolonies import ColoniesConnectionError

from tests.helpers import DEV_SERVER_ID, DEV_SERVER_PRVKEY

pytestmark = pytest.mark.compat

ZERO_TIME = "0001-01-01T00:00:00Z"
EXECUTOR_PENDING, EXECUTOR_APPROVED, EXECUTOR_REJECTED = 0, 1, 2


@dataclass(frozen=True)
class Key:
    prvkey: str
    id: str


def new_key() -> Key:
    crypto = Crypto()
    prvkey = crypto.prvkey()
    return Key(prvkey, crypto.id(prvkey))


@dataclass(frozen=True)
class Colony:
    name: str
    owner: Key


def add_colony(client: Any, name: str) -> Colony:
    owner = new_key()
    reply = client.add_colony({"colonyid": owner.id, "name": name}, DEV_SERVER_PRVKEY)
    assert reply == {"colonyid": owner.id, "name": name}
    return Colony(name, owner)


def add_executor(
    client: Any, colony: Colony, name: str, executortype: str = "cli", approve: bool = True
) -> Key:
    key = new_key()
    executor = {
        "executorname": name,
        "executorid": key.id,
        "colonyname": colony.name,
        "executortype": executortype,
    }
    added = client.add_executor(executor, colony.owner.prvkey)
    assert added["executorid"] == key.id
    assert added["executorname"] == name
    assert added["state"] == EXECUTOR_PENDING
    if approve:
        assert client.approve_executor(colony.name, name, colony.owner.prvkey) == {}
    return key


def denied(call: Any, *args: Any) -> str:
    """Run a pycolonies call that must be refused; return the error text."""
    with pytest.raises(ColoniesConnectionError) as info:
        call(*args)
    message = str(info.value)
    assert message.startswith("Access denied"), message
    return message


def names(items: list[dict[str, Any]], key: str = "name") -> set[str]:
    return {item[key] for item in items}


def test_crypto_agrees_on_the_dev_server_id() -> None:
    assert Crypto().id(DEV_SERVER_PRVKEY) == DEV_SERVER_ID


def test_foundation_flow(client: Any) -> None:
    """The issue's flow: SO adds a colony, CO adds and approves an executor, the executor
    registers functions and reads them back; an executor key cannot add a colony."""
    colony = add_colony(client, "compat")
    exec_key = add_executor(client, colony, "compat-exec", executortype="py")

    executor = client.get_executor(colony.name, "compat-exec", exec_key.prvkey)
    assert executor["state"] == EXECUTOR_APPROVED
    assert executor["executorid"] == exec_key.id

    added = client.add_function(colony.name, "compat-exec", "echo", exec_key.prvkey)
    assert added["funcname"] == "echo"
    assert added["executorname"] == "compat-exec"
    assert added["colonyname"] == colony.name
    assert added["executortype"] == "py"  # copied from the executor (§6.5)
    assert len(added["functionid"]) == 64
    client.add_function(colony.name, "compat-exec", "sum", exec_key.prvkey)

    by_executor = client.get_functions_by_executor(colony.name, "compat-exec", exec_key.prvkey)
    assert sorted(f["funcname"] for f in by_executor) == ["echo", "sum"]
    assert {f["functionid"] for f in by_executor} >= {added["functionid"]}
    by_colony = client.get_functions_by_colony(colony.name, exec_key.prvkey)
    assert sorted(f["funcname"] for f in by_colony) == ["echo", "sum"]
    for function in by_colony:
        assert function["counter"] == 0
        assert function["executortype"] == "py"

    message = denied(client.add_colony, {"colonyid": new_key().id, "name": "evil"}, exec_key.prvkey)
    assert "Access denied" in message
    assert message == "Access denied, not server owner"  # upstream's text (§3.8)
    assert names(client.list_colonies(DEV_SERVER_PRVKEY)) == {"compat"}


def test_roles_are_enforced(client: Any) -> None:
    colony = add_colony(client, "roles")
    exec_key = add_executor(client, colony, "exec-a")
    other = add_executor(client, colony, "exec-b")
    stranger = new_key()

    # Only the server owner manages colonies.
    not_so = "Access denied, not server owner"
    assert denied(client.list_colonies, colony.owner.prvkey) == not_so
    assert denied(client.list_colonies, exec_key.prvkey) == not_so
    denied(client.del_colony, colony.name, colony.owner.prvkey)
    # Only the colony owner manages executors; the server owner is not a colony owner.
    not_co = "Access denied, not colony owner"
    assert denied(client.approve_executor, colony.name, "exec-a", exec_key.prvkey) == not_co
    assert denied(client.approve_executor, colony.name, "exec-a", DEV_SERVER_PRVKEY) == not_co
    denied(
        client.add_executor,
        {
            "executorname": "x",
            "executorid": new_key().id,
            "colonyname": colony.name,
            "executortype": "cli",
        },
        exec_key.prvkey,
    )
    # The colony owner is not implicitly a member (§4.1), and neither is a stranger.
    not_member = "Access denied, not a member of Colony with name roles"
    assert denied(client.get_colony, colony.name, colony.owner.prvkey) == not_member
    assert denied(client.get_functions_by_colony, colony.name, colony.owner.prvkey) == not_member
    assert denied(client.list_executors, colony.name, stranger.prvkey) == not_member
    # An executor registers functions for itself only.
    denied(client.add_function, colony.name, "exec-a", "steal", other.prvkey)
    assert client.get_functions_by_colony(colony.name, exec_key.prvkey) == []


def test_colonies(client: Any) -> None:
    assert client.list_colonies(DEV_SERVER_PRVKEY) == []
    first = add_colony(client, "first")
    second = add_colony(client, "second")
    exec_key = add_executor(client, first, "exec")

    listed = client.list_colonies(DEV_SERVER_PRVKEY)
    assert sorted(listed, key=lambda c: c["name"]) == [
        {"colonyid": first.owner.id, "name": "first"},
        {"colonyid": second.owner.id, "name": "second"},
    ]
    assert client.get_colony("first", exec_key.prvkey) == {
        "colonyid": first.owner.id,
        "name": "first",
    }
    # A member of one colony is not a member of another.
    denied(client.get_colony, "second", exec_key.prvkey)

    # Duplicate names are refused with an ordinary error envelope (the suites ignore it).
    with pytest.raises(ColoniesConnectionError):
        client.add_colony({"colonyid": new_key().id, "name": "first"}, DEV_SERVER_PRVKEY)
    # A colony ID must be 64 characters.
    with pytest.raises(ColoniesConnectionError):
        client.add_colony({"colonyid": "abc", "name": "short"}, DEV_SERVER_PRVKEY)

    assert client.del_colony("second", DEV_SERVER_PRVKEY) == {}
    assert names(client.list_colonies(DEV_SERVER_PRVKEY)) == {"first"}
    with pytest.raises(ColoniesConnectionError):
        client.del_colony("second", DEV_SERVER_PRVKEY)

    # Removing a colony cascades: its executor is no longer a member of anything.
    assert client.del_colony("first", DEV_SERVER_PRVKEY) == {}
    assert client.list_colonies(DEV_SERVER_PRVKEY) == []
    with pytest.raises(ColoniesConnectionError) as info:
        client.get_colony("first", exec_key.prvkey)
    assert str(info.value) == "Colony with name first does not exists"  # sic, upstream (§3.8)


def test_executors(client: Any) -> None:
    colony = add_colony(client, "execs")
    approved = add_executor(client, colony, "approved", executortype="gpu")
    pending = add_executor(client, colony, "pending", approve=False)
    rejected = add_executor(client, colony, "rejected", approve=False)
    assert client.reject_executor(colony.name, "rejected", colony.owner.prvkey) == {}

    executors = client.list_executors(colony.name, approved.prvkey)
    by_name = {e["executorname"]: e for e in executors}
    assert set(by_name) == {"approved", "pending", "rejected"}
    assert by_name["approved"]["state"] == EXECUTOR_APPROVED
    assert by_name["pending"]["state"] == EXECUTOR_PENDING
    assert by_name["rejected"]["state"] == EXECUTOR_REJECTED
    assert by_name["approved"]["executorid"] == approved.id
    assert by_name["approved"]["executortype"] == "gpu"
    assert by_name["approved"]["colonyname"] == colony.name
    for executor in executors:
        assert executor["commissiontime"] != ZERO_TIME
        assert executor["commissiontime"].endswith("Z")

    got = client.get_executor(colony.name, "pending", approved.prvkey)
    assert got["executorid"] == pending.id
    assert got["state"] == EXECUTOR_PENDING

    # getexecutorsmsg is M(any): a pending or rejected executor may list...
    assert len(client.list_executors(colony.name, pending.prvkey)) == 3
    assert len(client.list_executors(colony.name, rejected.prvkey)) == 3
    # ...but everything else needs an approved member.
    denied(client.get_executor, colony.name, "approved", pending.prvkey)
    denied(client.get_executor, colony.name, "approved", rejected.prvkey)
    denied(client.add_function, colony.name, "rejected", "f", rejected.prvkey)

    # Approving a rejected executor makes it a member again; rejecting an approved one does not.
    assert client.approve_executor(colony.name, "rejected", colony.owner.prvkey) == {}
    assert client.get_executor(colony.name, "rejected", rejected.prvkey)["state"] == 1
    assert client.reject_executor(colony.name, "approved", colony.owner.prvkey) == {}
    denied(client.get_executor, colony.name, "approved", approved.prvkey)

    # Removing an executor removes its functions too.
    client.add_function(colony.name, "rejected", "f", rejected.prvkey)
    assert len(client.get_functions_by_colony(colony.name, rejected.prvkey)) == 1
    assert client.remove_executor(colony.name, "pending", colony.owner.prvkey) == {}
    assert client.remove_executor(colony.name, "rejected", colony.owner.prvkey) == {}
    remaining = client.list_executors(colony.name, approved.prvkey)
    assert [e["executorname"] for e in remaining] == ["approved"]
    with pytest.raises(ColoniesConnectionError):
        client.remove_executor(colony.name, "pending", colony.owner.prvkey)
    with pytest.raises(ColoniesConnectionError):
        client.approve_executor(colony.name, "no-such-executor", colony.owner.prvkey)

    # A removed executor is nobody.
    denied(client.list_executors, colony.name, rejected.prvkey)
    assert client.approve_executor(colony.name, "approved", colony.owner.prvkey) == {}
    assert client.get_functions_by_colony(colony.name, approved.prvkey) == []

    # Duplicate executor names in one colony are refused.
    with pytest.raises(ColoniesConnectionError):
        add_executor(client, colony, "approved")


def test_users(client: Any) -> None:
    colony = add_colony(client, "people")
    exec_key = add_executor(client, colony, "exec")
    alice, bob = new_key(), new_key()

    user = {
        "colonyname": colony.name,
        "userid": alice.id,
        "name": "alice",
        "email": "alice@example.com",
        "phone": "+46 70 000 00 00",
    }
    assert client.add_user(user, colony.owner.prvkey) == user
    client.add_user(
        {"colonyname": colony.name, "userid": bob.id, "name": "bob"}, colony.owner.prvkey
    )

    users = client.get_users(colony.name, alice.prvkey)
    assert sorted(users, key=lambda u: u["name"]) == [
        user,
        {"colonyname": colony.name, "userid": bob.id, "name": "bob", "email": "", "phone": ""},
    ]
    assert names(client.get_users(colony.name, exec_key.prvkey)) == {"alice", "bob"}
    # A user is a member: it can read the colony and its executors and functions.
    assert client.get_colony(colony.name, bob.prvkey)["colonyid"] == colony.owner.id
    assert names(client.list_executors(colony.name, bob.prvkey), "executorname") == {"exec"}
    assert client.get_functions_by_colony(colony.name, bob.prvkey) == []

    # Only the colony owner adds and removes users.
    denied(
        client.add_user,
        {"colonyname": colony.name, "userid": new_key().id, "name": "mallory"},
        alice.prvkey,
    )
    denied(client.remove_user, colony.name, "bob", alice.prvkey)
    denied(client.get_users, colony.name, colony.owner.prvkey)
    with pytest.raises(ColoniesConnectionError):
        client.add_user(
            {"colonyname": colony.name, "userid": new_key().id, "name": "alice"},
            colony.owner.prvkey,
        )

    assert client.remove_user(colony.name, "bob", colony.owner.prvkey) == {}
    assert names(client.get_users(colony.name, alice.prvkey)) == {"alice"}
    denied(client.get_users, colony.name, bob.prvkey)
    with pytest.raises(ColoniesConnectionError):
        client.remove_user(colony.name, "bob", colony.owner.prvkey)


def _add_file_metadata(client: Any, prvkey: str, colonyname: str, label: str, name: str) -> dict:
    """``addfilemsg`` as pycolonies' upload sends it, without the S3 part: pycolonies has no
    public metadata-only call, so this goes through its private RPC method (same signing)."""
    msg = {
        "msgtype": "addfilemsg",
        "file": {
            "colonyname": colonyname,
            "label": label,
            "name": name,
            "size": 3,
            "checksum": "abc",
            "checksumalg": "SHA256",
            "ref": {
                "protocol": "s3",
                "s3object": {
                    "server": "minio:9000",
                    "port": 9000,
                    "tls": False,
                    "accesskey": "ak",
                    "secretkey": "sk",
                    "region": "",
                    "encryptionkey": "",
                    "encryptionalg": "",
                    "object": name + "-object",
                    "bucket": "colonies",
                },
            },
        },
    }
    return client._Colonies__rpc(msg, prvkey)  # type: ignore[no-any-return]


def test_file_labels_and_snapshots(client: Any) -> None:
    colony = add_colony(client, "fs")
    exec_key = add_executor(client, colony, "exec")
    stranger = new_key()

    assert client.get_file_labels(colony.name, exec_key.prvkey) == []
    empty = client.create_snapshot(colony.name, "/data", "empty", exec_key.prvkey)
    assert empty["name"] == "empty"
    assert empty["label"] == "/data"
    assert empty["colonyname"] == colony.name
    assert empty["fileids"] == []
    assert len(empty["snapshotid"]) == 64
    assert empty["added"] != ZERO_TIME

    first = _add_file_metadata(client, exec_key.prvkey, colony.name, "/data", "a.txt")
    _add_file_metadata(client, exec_key.prvkey, colony.name, "/data", "b.txt")
    _add_file_metadata(client, exec_key.prvkey, colony.name, "/data/sub", "c.txt")
    _add_file_metadata(client, exec_key.prvkey, colony.name, "/other", "d.txt")
    revised = _add_file_metadata(client, exec_key.prvkey, colony.name, "/data", "a.txt")
    assert revised["sequencenr"] > first["sequencenr"]

    labels = client.get_file_labels(colony.name, exec_key.prvkey)
    assert sorted(labels, key=lambda label: label["name"]) == [
        {"name": "/data", "files": 2},
        {"name": "/data/sub", "files": 1},
        {"name": "/other", "files": 1},
    ]
    assert names(client.get_file_labels(colony.name, exec_key.prvkey, name="/data")) == {
        "/data",
        "/data/sub",
    }
    exact = client.get_file_labels(colony.name, exec_key.prvkey, name="/data", exact=True)
    assert exact == [{"name": "/data", "files": 2}]
    assert names(client.get_files("/data", colony.name, exec_key.prvkey)) == {"a.txt", "b.txt"}

    snapshot = client.create_snapshot(colony.name, "/data", "snap-1", exec_key.prvkey)
    assert len(snapshot["fileids"]) == 3  # newest a.txt, b.txt and /data/sub's c.txt
    assert revised["fileid"] in snapshot["fileids"]
    assert first["fileid"] not in snapshot["fileids"]

    by_name = client.get_snapshot_by_name(colony.name, "snap-1", exec_key.prvkey)
    by_id = client.get_snapshot_by_id(colony.name, snapshot["snapshotid"], exec_key.prvkey)
    assert by_name == snapshot
    assert by_id == snapshot
    assert sorted(s["name"] for s in client.get_snapshots(colony.name, exec_key.prvkey)) == [
        "empty",
        "snap-1",
    ]
    # Later file changes do not alter a snapshot.
    _add_file_metadata(client, exec_key.prvkey, colony.name, "/data", "e.txt")
    assert client.get_snapshot_by_id(colony.name, snapshot["snapshotid"], exec_key.prvkey) == (
        snapshot
    )

    with pytest.raises(ColoniesConnectionError):
        client.create_snapshot(colony.name, "/data", "snap-1", exec_key.prvkey)
    with pytest.raises(ColoniesConnectionError):
        client.get_snapshot_by_name(colony.name, "no-such-snapshot", exec_key.prvkey)
    with pytest.raises(ColoniesConnectionError):
        client.get_snapshot_by_id(colony.name, "0" * 64, exec_key.prvkey)

    denied(client.get_file_labels, colony.name, stranger.prvkey)
    denied(client.create_snapshot, colony.name, "/data", "x", colony.owner.prvkey)
    denied(client.get_snapshots, colony.name, stranger.prvkey)
    denied(client.get_snapshot_by_name, colony.name, "snap-1", stranger.prvkey)
