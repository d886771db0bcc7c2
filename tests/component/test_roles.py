"""Authorization of every registered payloadtype against docs/protocol.md §4.2.

Two layers:

* ``test_registry_roles_match_protocol`` compares each registered route's declared role with a
  table copied from §4.2, so the registry cannot drift from the protocol;
* ``test_role_enforced`` runs, for every registered payloadtype, a table-driven case against a
  real server: every *allowed* caller gets through (it succeeds, or at least is not refused with
  403) and every *denied* caller gets 403 whose message starts with ``Access denied`` (a channel's
  member who is no party of its process: ``Not authorized to ...``). Each payloadtype runs with
  one primary signature scheme, alternating (the object-scoped blueprint and channel cases with
  both); every world also holds callers of the other one.

The behavioural tests share one server and database per module (each test builds its own
colonies with unique names), which keeps the whole table fast.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from colonies.client import AsyncRpc, ColoniesError
from colonies.crypto import PrivateKey, generate_private_key
from colonies.server.registry import Role
from colonies.server.routes import registry
from tests.helpers import (
    TEMPLATE_DB,
    expect_error,
    make_colony,
    make_config,
    rpc_error,
    start_server,
)

module_loop = pytest.mark.asyncio(loop_scope="module")

# ----------------------------------------------------------------------- §4.2, as a table

# Every payloadtype of docs/protocol.md §4.2 with its role, spelled as ``Role.value``. Roles with
# extra conditions map onto the registry's roles: "M + self" (addfunctionmsg), "AE of the
# parent" → AE, "M of colonyname" → M; the channel messages keep "M + (initiator or AE)",
# a registry role of its own.
PROTOCOL_ROLES: dict[str, str] = {
    # colony
    "addcolonymsg": "SO",
    "removecolonymsg": "SO",
    "getcoloniesmsg": "SO",
    "getcolonymsg": "M",
    "getcolonystatsmsg": "M",
    # executor
    "addexecutormsg": "CO",
    "approveexecutormsg": "CO",
    "rejectexecutormsg": "CO",
    "removeexecutormsg": "CO",
    "getexecutorsmsg": "M(any)",
    "getexecutormsg": "M",
    "getexecutorbyidmsg": "M",
    "reportallocationmsg": "self",
    "updateexecutormsg": "self",
    # user
    "addusermsg": "CO",
    "removeusermsg": "CO",
    "getusersmsg": "M(any)",
    "getusermsg": "M(any)",
    "getuserbyidmsg": "M(any)",
    # location
    "addlocationmsg": "CO",
    "removelocationmsg": "CO",
    "getlocationsmsg": "M(any)",
    "getlocationmsg": "M(any)",
    # function
    "addfunctionmsg": "M + self",
    "getfunctionsmsg": "M",
    "removefunctionmsg": "self",
    # process
    "submitfuncspecmsg": "M",
    "getprocessmsg": "M",
    "getprocessesmsg": "M",
    "getprocesshistmsg": "M",
    "removeprocessmsg": "M",
    "cancelprocessmsg": "M",
    "assignprocessmsg": "M",
    "closesuccessfulmsg": "AE",
    "closefailedmsg": "AE",
    # the executor fast path (project additions, §7.21)
    "closeandassignmsg": "AE",
    "assignprocessesmsg": "M",
    "setoutputmsg": "AE",
    "removeallprocessesmsg": "CO",
    "pauseassignmentsmsg": "CO",
    "resumeassignmentsmsg": "CO",
    "getpausestatusmsg": "M(any)",
    # workflow
    "submitworkflowspecmsg": "M",
    "getprocessgraphmsg": "M",
    "getprocessgraphsmsg": "M",
    "removeprocessgraphmsg": "M",
    "cancelprocessgraphmsg": "M",
    "removeallprocessgraphsmsg": "CO",
    "addchildmsg": "AE",
    # attribute
    "addattributemsg": "AE",
    "getattributemsg": "M",
    # log
    "addlogmsg": "AE",
    "addexecutorlogmsg": "self",
    "getlogsmsg": "M",
    "searchlogsmsg": "M",
    # generator
    "addgeneratormsg": "M",
    "getgeneratormsg": "M",
    "resolvegeneratormsg": "M",
    "getgeneratorsmsg": "M",
    "packgeneratormsg": "M",
    "removegeneratormsg": "M",
    # cron
    "addcronmsg": "M",
    "getcronmsg": "M",
    "getcronsmsg": "M",
    "runcronmsg": "M",
    "removecronmsg": "M",
    # file
    "addfilemsg": "M",
    "getfilemsg": "M",
    "getfilesmsg": "M",
    "getfilelabelsmsg": "M",
    "removefilemsg": "M",
    # snapshot
    "createsnapshotmsg": "M",
    "getsnapshotmsg": "M",
    "getsnapshotsmsg": "M",
    "removesnapshotmsg": "M",
    "removeallsnapshotmsg": "M",
    # security
    "changeuseridmsg": "self",
    "changeexecutoridmsg": "self",
    "changecolonyidmsg": "CO",
    "changeserveridmsg": "SO",
    # server
    "versionmsg": "none",
    "getserverinfomsg": "none",
    "getstatisticsmsg": "SO",
    "getclustermsg": "SO",
    # blueprint
    "addblueprintdefinitionmsg": "CO",
    "removeblueprintdefinitionmsg": "CO",
    "getblueprintdefinitionmsg": "M or CO",
    "getblueprintdefinitionsmsg": "M or CO",
    "addblueprintmsg": "M or CO",
    "getblueprintmsg": "M or CO",
    "getblueprintsmsg": "M or CO",
    "updateblueprintmsg": "M or CO",
    "removeblueprintmsg": "M or CO",
    "getblueprinthistorymsg": "M or CO",
    "updateblueprintstatusmsg": "M",
    "reconcileblueprintmsg": "M",
    # channel
    "channelappendmsg": "M + (initiator or AE)",
    "channelreadmsg": "M + (initiator or AE)",
    # WebSocket
    "subscribeprocessesmsg": "M",
    "subscribeprocessmsg": "M",
    "subscribechannelmsg": "M + (initiator or AE)",
}


def test_registry_roles_match_protocol() -> None:
    known_roles = {role.value for role in Role}
    assert set(PROTOCOL_ROLES.values()) <= known_roles
    missing = sorted(set(registry.routes) - set(PROTOCOL_ROLES))
    assert not missing, f"registered payloadtypes missing from the §4.2 table: {missing}"
    wrong = {
        payloadtype: (route.role.value, PROTOCOL_ROLES[payloadtype])
        for payloadtype, route in registry.routes.items()
        if route.role.value != PROTOCOL_ROLES[payloadtype]
    }
    assert not wrong, f"registry role differs from §4.2 (registered, protocol): {wrong}"


def test_registry_routes_are_consistent() -> None:
    for payloadtype, route in registry.routes.items():
        assert route.payloadtype == payloadtype
        assert route.action.startswith("Failed to"), (payloadtype, route.action)
        if route.role not in (Role.NONE, Role.SERVER_OWNER):
            assert route.scope is not None, payloadtype
    # The one reply that does not echo the request's payloadtype (§3.4).
    for payloadtype, route in registry.routes.items():
        expected = "pausestatusreplymsg" if payloadtype == "getpausestatusmsg" else payloadtype
        assert route.reply_payloadtype == expected


# ----------------------------------------------------------------------- a shared server

_tags = itertools.count()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_rpc(pg, server_key) -> AsyncIterator[AsyncRpc]:
    dbname = "r_" + uuid.uuid4().hex[:16]
    pg.create_database(dbname, template=TEMPLATE_DB)
    config = make_config(pg.dsn(dbname), server_key)
    runner, _app = await start_server(config)
    rpc = AsyncRpc(f"http://127.0.0.1:{config.port}")
    try:
        yield rpc
    finally:
        await rpc.close()
        await runner.cleanup()
        pg.drop_database(dbname)


@dataclass
class World:
    """Two colonies and one caller of every kind.

    ``colony``: owner, ``executor`` (exec-1, approved, type cli), ``exec2`` (approved),
    ``pending`` and ``rejected`` executors, ``user`` (alice), a location ``loc``.
    ``other``: a second colony with its own ``other_owner``, ``other_member`` (an approved
    executor) and ``other_user``. ``stranger`` is registered nowhere.
    """

    rpc: AsyncRpc
    colony: str
    other: str
    keys: dict[str, PrivateKey]
    serial: itertools.count

    def uniq(self, prefix: str) -> str:
        return f"{prefix}-{next(self.serial)}"

    def key(self, who: str) -> PrivateKey:
        return self.keys[who]


async def build_world(rpc: AsyncRpc, server_key: PrivateKey, scheme: str) -> World:
    tag = next(_tags)
    other_scheme = "secp256k1" if scheme == "ed25519" else "ed25519"
    c = await make_colony(rpc, server_key, scheme, name=f"c{tag}")
    o = await make_colony(rpc, server_key, other_scheme, name=f"o{tag}")
    keys: dict[str, PrivateKey] = {
        "server": server_key,
        "owner": c.owner,
        "executor": c.executor,
        "user": c.user,
        "other_owner": o.owner,
        "other_member": o.executor,
        "other_user": o.user,
        "stranger": generate_private_key(scheme),
    }
    for who, name, state in (
        ("exec2", "exec-2", "approve"),
        ("pending", "exec-pending", None),
        ("rejected", "exec-rejected", "reject"),
    ):
        key = generate_private_key(other_scheme)
        keys[who] = key
        await rpc.call(
            "addexecutormsg",
            c.owner,
            executor={
                "executorid": key.id,
                "executorname": name,
                "executortype": "other",
                "colonyname": c.name,
            },
        )
        if state:
            await rpc.call(f"{state}executormsg", c.owner, colonyname=c.name, executorname=name)
    await rpc.call("addlocationmsg", c.owner, location={"colonyname": c.name, "name": "loc"})
    return World(rpc, c.name, o.name, keys, itertools.count())


# ----------------------------------------------------------------------- cases

Payload = Callable[[World, str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Case:
    payload: Payload  # built afresh for every call; the caller's name is passed in
    allowed: tuple[str, ...]
    denied: tuple[str, ...]
    succeed: bool = True  # allowed calls must succeed; False: they must only not be a 403
    colony_scoped: bool = True  # naming an unknown colony gives "... does not exists"
    # How a denied caller's 403 starts, where it is not "Access denied".
    refusals: tuple[tuple[str, str], ...] = ()

    def refusal(self, who: str) -> str:
        return dict(self.refusals).get(who, "Access denied")


SO = (("server",), ("owner", "executor", "user", "other_owner", "stranger"))
CO = (
    ("owner",),
    ("server", "executor", "user", "pending", "other_owner", "other_member", "stranger"),
)
M = (
    ("executor", "user"),
    ("owner", "server", "pending", "rejected", "other_member", "other_user", "stranger"),
)
M_ANY = (
    ("executor", "user", "pending", "rejected"),
    ("owner", "server", "other_member", "other_user", "stranger"),
)
M_OR_CO = (
    ("executor", "user", "owner"),
    ("server", "pending", "rejected", "other_member", "stranger"),
)
# Acting on exec-1's own things: only exec-1 may.
SELF_EXEC = (("executor",), ("exec2", "user", "owner", "server", "other_member", "stranger"))
# The process is assigned to exec-1.
AE = (("executor",), ("exec2", "user", "owner", "pending", "other_member", "stranger"))
# A channel of a process the user submitted and exec-1 runs: those two are its parties; exec-2
# is a member but no party.
PARTY = (("user", "executor"), ("exec2", "owner", "server", "pending", "other_member", "stranger"))

CALLER_SETS = {"SO": SO, "CO": CO, "M": M, "M(any)": M_ANY, "M or CO": M_OR_CO}


def fixed(build: Callable[[World], dict[str, Any]]) -> Payload:
    async def payload(w: World, who: str) -> dict[str, Any]:
        return build(w)

    return payload


def role_case(
    role: str, payload: Payload, *, succeed: bool = True, colony_scoped: bool = True
) -> Case:
    allowed, denied = CALLER_SETS[role]
    return Case(payload, allowed, denied, succeed, colony_scoped)


# --- builders of objects the cases act on -----------------------------------------------------


def _new_executor(w: World) -> dict[str, Any]:
    return {
        "executorid": generate_private_key("ed25519").id,
        "executorname": w.uniq("ex"),
        "executortype": "t",
        "colonyname": w.colony,
    }


async def _pending_executor(w: World, who: str) -> dict[str, Any]:
    e = _new_executor(w)
    await w.rpc.call("addexecutormsg", w.key("owner"), executor=e)
    return {"colonyname": w.colony, "executorname": e["executorname"]}


async def _new_user(w: World, who: str) -> dict[str, Any]:
    name = w.uniq("user")
    user = {"colonyname": w.colony, "userid": generate_private_key("ed25519").id, "name": name}
    await w.rpc.call("addusermsg", w.key("owner"), user=user)
    return {"colonyname": w.colony, "name": name}


async def _new_location(w: World, who: str) -> dict[str, Any]:
    name = w.uniq("loc")
    await w.rpc.call(
        "addlocationmsg", w.key("owner"), location={"colonyname": w.colony, "name": name}
    )
    return {"colonyname": w.colony, "name": name}


def _file(w: World) -> dict[str, Any]:
    return {
        "colonyname": w.colony,
        "label": "/roles",
        "name": w.uniq("f"),
        "ref": {"protocol": "s3", "s3object": {"object": "o", "bucket": "b", "secretkey": "s"}},
    }


async def _stored_file(w: World, who: str) -> dict[str, Any]:
    f = await w.rpc.call("addfilemsg", w.key("executor"), file=_file(w))
    return {"colonyname": w.colony, "fileid": f["fileid"]}


async def _snapshot(w: World, who: str) -> dict[str, Any]:
    s = await w.rpc.call(
        "createsnapshotmsg", w.key("user"), colonyname=w.colony, label="/r", name=w.uniq("s")
    )
    return {"colonyname": w.colony, "snapshotid": s["snapshotid"]}


async def _function_of_exec1(w: World, who: str) -> dict[str, Any]:
    fun = {"colonyname": w.colony, "executorname": "exec-1", "funcname": w.uniq("fn")}
    added = await w.rpc.call("addfunctionmsg", w.key("executor"), fun=fun)
    return {"functionid": added["functionid"]}


def _spec(w: World, **extra: Any) -> dict[str, Any]:
    return {
        "funcname": "f",
        "conditions": {"colonyname": w.colony, "executortype": "cli"},
        "maxwaittime": -1,
        "maxexectime": -1,
        "maxretries": -1,
        **extra,
    }


def _workflow(w: World) -> dict[str, Any]:
    return {"colonyname": w.colony, "functionspecs": [_spec(w, nodename="a")]}


async def _waiting(w: World, who: str) -> dict[str, Any]:
    p = await w.rpc.call("submitfuncspecmsg", w.key("user"), spec=_spec(w))
    return {"processid": p["processid"]}


async def _running(w: World) -> dict[str, Any]:
    """A process submitted by the user and assigned to exec-1."""
    await w.rpc.call("submitfuncspecmsg", w.key("user"), spec=_spec(w))
    return await w.rpc.call("assignprocessmsg", w.key("executor"), colonyname=w.colony, timeout=-1)


async def _graph(w: World, who: str) -> dict[str, Any]:
    g = await w.rpc.call("submitworkflowspecmsg", w.key("user"), spec=_workflow(w))
    return {"processgraphid": g["processgraphid"]}


async def _generator(w: World, who: str) -> dict[str, Any]:
    g = await w.rpc.call(
        "addgeneratormsg",
        w.key("user"),
        generator={
            "colonyname": w.colony,
            "name": w.uniq("gen"),
            "workflowspec": json.dumps(_workflow(w)),
            "trigger": 10,
            "timeout": 60,
        },
    )
    return {"generatorid": g["generatorid"]}


def _cron(w: World) -> dict[str, Any]:
    return {
        "colonyname": w.colony,
        "name": w.uniq("cron"),
        "cronexpression": "",
        "interval": 3600,
        "random": False,
        "workflowspec": json.dumps(_workflow(w)),
        "waitforprevprocessgraph": False,
    }


async def _stored_cron(w: World, who: str) -> dict[str, Any]:
    c = await w.rpc.call("addcronmsg", w.key("user"), cron=_cron(w))
    return {"cronid": c["cronid"]}


def _own(field: str, colony: bool = True) -> Payload:
    """A payload naming the caller's own ID: a no-op when allowed, a take-over when denied."""

    async def payload(w: World, who: str) -> dict[str, Any]:
        extra = {"colonyname": w.colony} if colony else {}
        return {**extra, field: w.key(who).id}

    return payload


async def _add_colony(w: World, who: str) -> dict[str, Any]:
    name = w.uniq(f"{w.colony}-new")
    return {"colony": {"colonyid": generate_private_key("ed25519").id, "name": name}}


async def _colony_to_remove(w: World, who: str) -> dict[str, Any]:
    name = w.uniq(f"{w.colony}-rm")
    colony = {"colonyid": generate_private_key("ed25519").id, "name": name}
    await w.rpc.call("addcolonymsg", w.key("server"), colony=colony)
    return {"colonyname": name}


async def _child(w: World, who: str) -> dict[str, Any]:
    graph = await w.rpc.call("submitworkflowspecmsg", w.key("user"), spec=_workflow(w))
    parent = await w.rpc.call(
        "assignprocessmsg", w.key("executor"), colonyname=w.colony, timeout=-1
    )
    return {
        "processgraphid": graph["processgraphid"],
        "parentprocessid": parent["processid"],
        "childprocessid": "",
        "spec": _spec(w, nodename=w.uniq("child")),
        "insert": False,
    }


async def _attribute_of_running(w: World, who: str) -> dict[str, Any]:
    p = await _running(w)
    return {
        "attribute": {
            "targetid": p["processid"],
            "key": w.uniq("k"),
            "value": "v",
            "attributetype": 1,
        }
    }


async def _stored_attribute(w: World, who: str) -> dict[str, Any]:
    payload = await _attribute_of_running(w, who)
    a = await w.rpc.call("addattributemsg", w.key("executor"), **payload)
    return {"attributeid": a["attributeid"]}


def _on_running(**extra: Any) -> Payload:
    async def payload(w: World, who: str) -> dict[str, Any]:
        p = await _running(w)
        return {"processid": p["processid"], **extra}

    return payload


async def _channel(w: World, who: str) -> dict[str, Any]:
    """A process with a channel ``chat``, submitted by the user and running on exec-1."""
    p = await w.rpc.call("submitfuncspecmsg", w.key("user"), spec=_spec(w, channels=["chat"]))
    running = await w.rpc.call(
        "assignprocessmsg", w.key("executor"), colonyname=w.colony, timeout=-1
    )
    assert running["processid"] == p["processid"]
    return {"processid": p["processid"], "name": "chat"}


def _party_case(payload: Payload, verb: str) -> Case:
    return Case(
        payload, *PARTY, colony_scoped=False, refusals=(("exec2", f"Not authorized to {verb}"),)
    )


def _definition(w: World, kind: str) -> dict[str, Any]:
    """A blueprint definition of ``kind`` whose reconciles go to executors of type cli."""
    return {
        "metadata": {"name": kind.lower(), "colonyname": w.colony},
        "spec": {
            "names": {"kind": kind},
            "handler": {"executorType": "cli", "functionName": "reconcile"},
        },
    }


async def _stored_definition(w: World, who: str) -> dict[str, Any]:
    kind = w.uniq("Kind").replace("-", "")
    await w.rpc.call(
        "addblueprintdefinitionmsg", w.key("owner"), blueprintdefinition=_definition(w, kind)
    )
    return {"namespace": w.colony, "name": kind.lower()}


async def _new_blueprint(w: World, who: str) -> dict[str, Any]:
    """A blueprint (wire form, not stored) of a kind with a stored definition."""
    definition = await _stored_definition(w, who)
    kind = next(
        d["spec"]["names"]["kind"]
        for d in await w.rpc.call("getblueprintdefinitionsmsg", w.key("owner"), colonyname=w.colony)
        if d["metadata"]["name"] == definition["name"]
    )
    return {
        "kind": kind,
        "metadata": {"name": w.uniq("bp"), "colonyname": w.colony},
        "spec": {"replicas": 1},
    }


async def _stored_blueprint(w: World, who: str) -> dict[str, Any]:
    """A stored blueprint, as the server returned it."""
    blueprint = await _new_blueprint(w, who)
    return await w.rpc.call("addblueprintmsg", w.key("owner"), blueprint=blueprint)


async def _named_blueprint(w: World, who: str) -> dict[str, Any]:
    b = await _stored_blueprint(w, who)
    return {"namespace": w.colony, "name": b["metadata"]["name"]}


async def _changed_blueprint(w: World, who: str) -> dict[str, Any]:
    b = await _stored_blueprint(w, who)
    return {"blueprint": {**b, "spec": {"replicas": 2}}}


async def _blueprint_history(w: World, who: str) -> dict[str, Any]:
    b = await _stored_blueprint(w, who)
    return {"blueprintid": b["blueprintid"], "limit": 10}


_colony = fixed(lambda w: {"colonyname": w.colony})
_exec1 = fixed(lambda w: {"colonyname": w.colony, "executorname": "exec-1"})

CASES: dict[str, Case] = {
    # §6.1 colony
    "addcolonymsg": role_case("SO", _add_colony),
    "removecolonymsg": role_case("SO", _colony_to_remove),
    "getcoloniesmsg": role_case("SO", fixed(lambda w: {})),
    "getcolonymsg": role_case("M", _colony),
    "getcolonystatsmsg": role_case("M", _colony),
    # §6.2 executor
    "addexecutormsg": role_case("CO", fixed(lambda w: {"executor": _new_executor(w)})),
    "approveexecutormsg": role_case("CO", _pending_executor),
    "rejectexecutormsg": role_case("CO", _pending_executor),
    "removeexecutormsg": role_case("CO", _pending_executor),
    "getexecutorsmsg": role_case("M(any)", _colony),
    "getexecutormsg": role_case("M", _exec1),
    "getexecutorbyidmsg": role_case(
        "M", fixed(lambda w: {"colonyname": w.colony, "executorid": w.key("executor").id})
    ),
    "reportallocationmsg": Case(
        fixed(
            lambda w: {
                "colonyname": w.colony,
                "executorname": "exec-1",
                "allocations": {"projects": {"p": {"usedcpu": 1}}},
            }
        ),
        *SELF_EXEC,
    ),
    "updateexecutormsg": Case(
        fixed(
            lambda w: {
                "colonyname": w.colony,
                "executorname": "exec-1",
                "capabilities": {"software": [{"name": "x"}]},
            }
        ),
        *SELF_EXEC,
    ),
    # §6.3 user
    "addusermsg": role_case(
        "CO",
        fixed(
            lambda w: {
                "user": {
                    "colonyname": w.colony,
                    "userid": generate_private_key("ed25519").id,
                    "name": w.uniq("u"),
                }
            }
        ),
    ),
    "removeusermsg": role_case("CO", _new_user),
    "getusersmsg": role_case("M(any)", _colony),
    "getusermsg": role_case("M(any)", fixed(lambda w: {"colonyname": w.colony, "name": "alice"})),
    "getuserbyidmsg": role_case(
        "M(any)", fixed(lambda w: {"colonyname": w.colony, "userid": w.key("user").id})
    ),
    # §6.4 location
    "addlocationmsg": role_case(
        "CO", fixed(lambda w: {"location": {"colonyname": w.colony, "name": w.uniq("l")}})
    ),
    "removelocationmsg": role_case("CO", _new_location),
    "getlocationsmsg": role_case("M(any)", _colony),
    "getlocationmsg": role_case("M(any)", fixed(lambda w: {"colonyname": w.colony, "name": "loc"})),
    # §6.5 function
    "addfunctionmsg": Case(
        fixed(
            lambda w: {
                "fun": {"colonyname": w.colony, "executorname": "exec-1", "funcname": w.uniq("f")}
            }
        ),
        ("executor",),
        ("exec2", "user", "owner", "server", "pending", "other_member", "stranger"),
    ),
    "getfunctionsmsg": role_case("M", _colony),
    "removefunctionmsg": Case(_function_of_exec1, *SELF_EXEC, colony_scoped=False),
    # §6.12 files
    "addfilemsg": role_case("M", fixed(lambda w: {"file": _file(w)})),
    "getfilemsg": role_case("M", _stored_file),
    "getfilesmsg": role_case("M", fixed(lambda w: {"colonyname": w.colony, "label": "/roles"})),
    "getfilelabelsmsg": role_case("M", fixed(lambda w: {"colonyname": w.colony, "name": ""})),
    "removefilemsg": role_case("M", _stored_file),
    # §6.13 snapshots
    "createsnapshotmsg": role_case(
        "M", fixed(lambda w: {"colonyname": w.colony, "label": "/r", "name": w.uniq("s")})
    ),
    "getsnapshotmsg": role_case("M", _snapshot),
    "getsnapshotsmsg": role_case("M", _colony),
    "removesnapshotmsg": role_case("M", _snapshot),
    "removeallsnapshotmsg": role_case("M", _colony),
    # §6.14 security: allowed callers re-set their own ID (a no-op), denied ones try to
    # install theirs.
    "changeuseridmsg": Case(
        _own("userid"), ("user",), ("executor", "owner", "server", "other_user", "stranger")
    ),
    "changeexecutoridmsg": Case(
        _own("executorid"),
        ("executor", "exec2"),
        ("user", "owner", "server", "other_member", "stranger"),
    ),
    "changecolonyidmsg": role_case("CO", _own("colonyid")),
    "changeserveridmsg": role_case("SO", _own("serverid", colony=False)),
    # §6.15 server
    "getstatisticsmsg": role_case("SO", fixed(lambda w: {})),
    "getclustermsg": role_case("SO", fixed(lambda w: {})),
    # §6.6 process (cases for routes that other areas register)
    "submitfuncspecmsg": role_case("M", fixed(lambda w: {"spec": _spec(w)})),
    "assignprocessmsg": Case(
        fixed(lambda w: {"colonyname": w.colony, "timeout": -1}),
        ("executor", "user"),  # nothing to assign: 404; a user: 500 (§4.2) — never 403
        ("owner", "server", "pending", "rejected", "other_member", "stranger"),
        succeed=False,
    ),
    "getprocessmsg": role_case("M", _waiting, colony_scoped=False),
    "getprocessesmsg": role_case(
        "M", fixed(lambda w: {"colonyname": w.colony, "count": 10, "state": 0})
    ),
    "getprocesshistmsg": role_case(
        "M", fixed(lambda w: {"colonyname": w.colony, "seconds": 60, "state": 0})
    ),
    "removeprocessmsg": role_case("M", _waiting, colony_scoped=False),
    "cancelprocessmsg": role_case("M", _waiting, colony_scoped=False),
    "closesuccessfulmsg": Case(_on_running(out=["x"]), *AE, colony_scoped=False),
    "closefailedmsg": Case(_on_running(errors=["e"]), *AE, colony_scoped=False),
    "setoutputmsg": Case(_on_running(out=["x"]), *AE, colony_scoped=False),
    "closeandassignmsg": Case(
        _on_running(successful=True, out=["x"], count=1), *AE, colony_scoped=False
    ),
    "assignprocessesmsg": Case(
        fixed(lambda w: {"colonyname": w.colony, "count": 2, "timeout": -1}),
        ("executor", "user"),  # nothing to assign: 404; a user: 400 (§7.21) — never 403
        ("owner", "server", "pending", "rejected", "other_member", "stranger"),
        succeed=False,
    ),
    "removeallprocessesmsg": role_case(
        "CO", fixed(lambda w: {"colonyname": w.colony, "state": -1})
    ),
    "pauseassignmentsmsg": role_case("CO", _colony),
    "resumeassignmentsmsg": role_case("CO", _colony),
    "getpausestatusmsg": role_case("M(any)", _colony),
    # §6.7 workflow
    "submitworkflowspecmsg": role_case("M", fixed(lambda w: {"spec": _workflow(w)})),
    "getprocessgraphmsg": role_case("M", _graph, colony_scoped=False),
    "getprocessgraphsmsg": role_case(
        "M", fixed(lambda w: {"colonyname": w.colony, "count": 10, "state": 0})
    ),
    "removeprocessgraphmsg": role_case("M", _graph, colony_scoped=False),
    "cancelprocessgraphmsg": role_case("M", _graph, colony_scoped=False),
    "removeallprocessgraphsmsg": role_case(
        "CO", fixed(lambda w: {"colonyname": w.colony, "state": -1})
    ),
    "addchildmsg": Case(_child, *AE, colony_scoped=False),
    # §6.8 attribute, §6.9 log
    "addattributemsg": Case(_attribute_of_running, *AE, colony_scoped=False),
    "getattributemsg": role_case("M", _stored_attribute, colony_scoped=False),
    "addlogmsg": Case(_on_running(message="hello"), *AE, colony_scoped=False),
    "addexecutorlogmsg": Case(
        fixed(lambda w: {"colonyname": w.colony, "executorname": "exec-1", "message": "m"}),
        *SELF_EXEC,
    ),
    "getlogsmsg": role_case(
        "M", fixed(lambda w: {"colonyname": w.colony, "executorname": "exec-1", "count": 10})
    ),
    "searchlogsmsg": role_case(
        "M", fixed(lambda w: {"colonyname": w.colony, "text": "x", "days": 1, "count": 10})
    ),
    # §6.10 generator
    "addgeneratormsg": role_case(
        "M",
        fixed(
            lambda w: {
                "generator": {
                    "colonyname": w.colony,
                    "name": w.uniq("gen"),
                    "workflowspec": json.dumps(_workflow(w)),
                    "trigger": 10,
                    "timeout": 60,
                }
            }
        ),
    ),
    "getgeneratormsg": role_case("M", _generator, colony_scoped=False),
    "resolvegeneratormsg": role_case(
        "M", fixed(lambda w: {"colonyname": w.colony, "generatorname": "none"}), succeed=False
    ),
    "getgeneratorsmsg": role_case("M", fixed(lambda w: {"colonyname": w.colony, "count": 10})),
    "packgeneratormsg": role_case(
        "M",
        lambda w, who: _with(_generator(w, who), arg="a"),
        colony_scoped=False,
    ),
    "removegeneratormsg": role_case("M", _generator, colony_scoped=False),
    # §6.11 cron
    "addcronmsg": role_case("M", fixed(lambda w: {"cron": _cron(w)})),
    "getcronmsg": role_case("M", _stored_cron, colony_scoped=False),
    "getcronsmsg": role_case("M", fixed(lambda w: {"colonyname": w.colony, "count": 10})),
    "runcronmsg": role_case("M", _stored_cron, succeed=False, colony_scoped=False),
    "removecronmsg": role_case("M", _stored_cron, colony_scoped=False),
    # §6.16 blueprint
    "addblueprintdefinitionmsg": role_case(
        "CO",
        fixed(lambda w: {"blueprintdefinition": _definition(w, w.uniq("Kind").replace("-", ""))}),
    ),
    "removeblueprintdefinitionmsg": role_case("CO", _stored_definition),
    "getblueprintdefinitionsmsg": role_case("M or CO", _colony),
    "addblueprintmsg": role_case(
        "M or CO", lambda w, who: _with_key("blueprint", _new_blueprint(w, who))
    ),
    "getblueprintmsg": role_case("M or CO", _named_blueprint),
    "getblueprintsmsg": role_case("M or CO", fixed(lambda w: {"namespace": w.colony})),
    "updateblueprintmsg": role_case("M or CO", _changed_blueprint),
    "removeblueprintmsg": role_case("M or CO", _named_blueprint),
    "getblueprinthistorymsg": role_case("M or CO", _blueprint_history, colony_scoped=False),
    "reconcileblueprintmsg": role_case("M", _named_blueprint),
    # §6.17 channel
    "channelappendmsg": _party_case(
        lambda w, who: _with(_channel(w, who), sequence=1, payload=list(b"hi")), "write to"
    ),
    "channelreadmsg": _party_case(
        lambda w, who: _with(_channel(w, who), afterseq=0, limit=10), "read from"
    ),
    # §6.18 WebSocket subscriptions (over /pubsub)
    "subscribeprocessesmsg": role_case(
        "M", fixed(lambda w: {"colonyname": w.colony, "state": 0, "timeout": 0})
    ),
    "subscribeprocessmsg": role_case(
        "M",
        lambda w, who: _with(_waiting(w, who), state=0, timeout=0),
        colony_scoped=False,
    ),
    "subscribechannelmsg": _party_case(
        lambda w, who: _with(_channel(w, who), afterseq=0, timeout=1), "read from"
    ),
}


async def _with(base: Awaitable[dict[str, Any]], /, **extra: Any) -> dict[str, Any]:
    return {**await base, **extra}


async def _with_key(key: str, payload: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    return {key: await payload}


_SCOPED_ROLES = {
    Role.MEMBER: M,
    Role.MEMBER_ANY: M_ANY,
    Role.COLONY_OWNER: CO,
    Role.MEMBER_OR_OWNER: M_OR_CO,
    Role.MEMBER_SELF: ((), ("owner", "other_member", "stranger")),
    Role.SELF: ((), ("owner", "other_member", "stranger")),
    Role.ASSIGNED_EXECUTOR: ((), ("owner", "other_member", "stranger")),
}


def case_for(payloadtype: str) -> Case | None:
    """The written case, or a generic one derived from the route's declared role."""
    if payloadtype in CASES:
        return CASES[payloadtype]
    route = registry.routes[payloadtype]
    if route.role is Role.SERVER_OWNER:
        return Case(fixed(lambda w: {}), *SO, succeed=False)
    fields = getattr(route.msg_type, "__struct_fields__", ())
    if route.role in _SCOPED_ROLES and "colonyname" in fields:
        allowed, denied = _SCOPED_ROLES[route.role]
        return Case(_colony, allowed, denied, succeed=False)
    return None


SIGNED = sorted(p for p, r in registry.routes.items() if r.role is not Role.NONE)


async def call(w: World, payloadtype: str, key: PrivateKey, payload: dict[str, Any]) -> Any:
    """One request: over /api, or as a subscription on /pubsub for WebSocket routes.

    A subscription returns the replies pushed until the server ends it; an error reply raises
    ColoniesError as it does on /api.
    """
    if not registry.routes[payloadtype].subscription:
        return await w.rpc.call(payloadtype, key, **payload)
    async with asyncio.timeout(10):
        return [reply async for reply in w.rpc.subscribe(payloadtype, key, **payload)]


def _scheme(payloadtype: str) -> str:
    return "ed25519" if SIGNED.index(payloadtype) % 2 == 0 else "secp256k1"


def _other(scheme: str) -> str:
    return "secp256k1" if scheme == "ed25519" else "ed25519"


# The object-scoped cases (blueprints, channels) run under both primary schemes; the others
# under one each, alternating.
BOTH_SCHEMES = (
    "addblueprintdefinitionmsg",
    "removeblueprintdefinitionmsg",
    "addblueprintmsg",
    "getblueprintmsg",
    "updateblueprintmsg",
    "removeblueprintmsg",
    "getblueprinthistorymsg",
    "reconcileblueprintmsg",
    "channelappendmsg",
    "channelreadmsg",
    "subscribechannelmsg",
)
ROLE_RUNS = [(p, _scheme(p)) for p in SIGNED] + [(p, _other(_scheme(p))) for p in BOTH_SCHEMES]


@module_loop
@pytest.mark.parametrize(("payloadtype", "scheme"), ROLE_RUNS)
async def test_role_enforced(shared_rpc, server_key, payloadtype, scheme):
    case = case_for(payloadtype)
    assert case is not None, f"{payloadtype}: no behaviour case"
    w = await build_world(shared_rpc, server_key, scheme)
    for who in case.denied:
        payload = await case.payload(w, who)
        exc = await rpc_error(call(w, payloadtype, w.key(who), payload))
        assert exc.status == 403, (who, exc.status, exc.message)
        assert exc.message.startswith(case.refusal(who)), (who, exc.message)
    for who in case.allowed:
        payload = await case.payload(w, who)
        try:
            await call(w, payloadtype, w.key(who), payload)
        except ColoniesError as exc:
            assert exc.status != 403, (who, exc.message)
            assert not case.succeed, (who, exc.status, exc.message)


UNKNOWN = "no-such-colony"


def _rename_colony(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: UNKNOWN if k in ("colonyname", "namespace") else _rename_colony(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rename_colony(v) for v in value]
    return value


COLONY_SCOPED = sorted(
    p
    for p in SIGNED
    if registry.routes[p].role is not Role.SERVER_OWNER
    and (case := case_for(p)) is not None
    and case.colony_scoped
)


@module_loop
@pytest.mark.parametrize("payloadtype", COLONY_SCOPED)
async def test_unknown_colony(shared_rpc, server_key, payloadtype):
    case = case_for(payloadtype)
    assert case is not None
    w = await build_world(shared_rpc, server_key, _scheme(payloadtype))
    who = case.allowed[0] if case.allowed else "executor"
    payload = _rename_colony(await case.payload(w, who))
    assert UNKNOWN in json.dumps(payload), payload
    await expect_error(
        call(w, payloadtype, w.key(who), payload),
        403,
        starts=f"Colony with name {UNKNOWN} does not exists",
    )


@module_loop
async def test_no_signature_needed_only_for_version_and_info(shared_rpc):
    none_routes = sorted(p for p, r in registry.routes.items() if r.role is Role.NONE)
    assert none_routes == ["getserverinfomsg", "versionmsg"]
    for payloadtype in none_routes:
        assert await shared_rpc.call(payloadtype, None)
        assert await shared_rpc.call(payloadtype, generate_private_key("ed25519"))


# ----------------------------------------------------------------------- explicit scenarios


@module_loop
async def test_colony_owner_is_not_a_member(shared_rpc, server_key):
    w = await build_world(shared_rpc, server_key, "ed25519")
    owner = w.key("owner")
    for payloadtype in ("getcolonymsg", "getcolonystatsmsg", "getexecutorsmsg", "getusersmsg"):
        await expect_error(
            w.rpc.call(payloadtype, owner, colonyname=w.colony),
            403,
            starts=f"Access denied, not a member of Colony with name {w.colony}",
        )
    # ... and the server owner is neither owner nor member.
    await expect_error(
        w.rpc.call("getcolonymsg", server_key, colonyname=w.colony), 403, starts="Access denied"
    )
    await expect_error(
        w.rpc.call("addusermsg", server_key, user={"colonyname": w.colony, "name": "x"}),
        403,
        starts="Access denied, not colony owner",
    )
    await expect_error(
        w.rpc.call("getcoloniesmsg", owner), 403, starts="Access denied, not server owner"
    )


@module_loop
@pytest.mark.parametrize("who", ["pending", "rejected"])
async def test_unapproved_executor_is_member_any_only(shared_rpc, server_key, who):
    w = await build_world(shared_rpc, server_key, "secp256k1")
    key = w.key(who)
    executors = await w.rpc.call("getexecutorsmsg", key, colonyname=w.colony)
    assert {e["executorname"] for e in executors} == {
        "exec-1",
        "exec-2",
        "exec-pending",
        "exec-rejected",
    }
    users = await w.rpc.call("getusersmsg", key, colonyname=w.colony)
    assert [u["name"] for u in users] == ["alice"]
    locations = await w.rpc.call("getlocationsmsg", key, colonyname=w.colony)
    assert [loc["name"] for loc in locations] == ["loc"]
    assert (await w.rpc.call("getusermsg", key, colonyname=w.colony, name="alice"))["name"] == (
        "alice"
    )
    for payloadtype in ("getcolonymsg", "getfunctionsmsg", "getsnapshotsmsg"):
        await expect_error(
            w.rpc.call(payloadtype, key, colonyname=w.colony),
            403,
            starts=f"Access denied, not a member of Colony with name {w.colony}",
        )
    await expect_error(
        w.rpc.call("getexecutormsg", key, colonyname=w.colony, executorname="exec-1"),
        403,
        starts="Access denied",
    )
    # An unapproved executor cannot register functions, not even for itself.
    name = "exec-pending" if who == "pending" else "exec-rejected"
    await expect_error(
        w.rpc.call(
            "addfunctionmsg",
            key,
            fun={"colonyname": w.colony, "executorname": name, "funcname": "f"},
        ),
        403,
        starts="Access denied",
    )
    assert await w.rpc.call("getfunctionsmsg", w.key("user"), colonyname=w.colony) == []


@module_loop
async def test_member_of_another_colony_is_denied(shared_rpc, server_key):
    w = await build_world(shared_rpc, server_key, "ed25519")
    for who in ("other_member", "other_user", "other_owner"):
        await expect_error(
            w.rpc.call("getcolonymsg", w.key(who), colonyname=w.colony),
            403,
            starts=f"Access denied, not a member of Colony with name {w.colony}",
        )
        await expect_error(
            w.rpc.call("getexecutorsmsg", w.key(who), colonyname=w.colony),
            403,
            starts="Access denied",
        )
    # Its own colony is fine.
    got = await w.rpc.call("getcolonymsg", w.key("other_member"), colonyname=w.other)
    assert got["name"] == w.other


@module_loop
async def test_self_roles_leave_no_side_effects(shared_rpc, server_key):
    w = await build_world(shared_rpc, server_key, "secp256k1")
    rpc, exec2 = w.rpc, w.key("exec2")

    async def exec1() -> dict[str, Any]:
        return await rpc.call(
            "getexecutormsg", w.key("user"), colonyname=w.colony, executorname="exec-1"
        )

    before = await exec1()
    await expect_error(
        rpc.call(
            "reportallocationmsg",
            exec2,
            colonyname=w.colony,
            executorname="exec-1",
            allocations={"projects": {"p": {"usedcpu": 99}}},
        ),
        403,
        starts="Access denied",
    )
    await expect_error(
        rpc.call(
            "updateexecutormsg",
            exec2,
            colonyname=w.colony,
            executorname="exec-1",
            capabilities={"software": [{"name": "evil"}]},
        ),
        403,
        starts="Access denied",
    )
    assert await exec1() == before

    # addfunctionmsg naming another executor.
    await expect_error(
        rpc.call(
            "addfunctionmsg",
            exec2,
            fun={"colonyname": w.colony, "executorname": "exec-1", "funcname": "f"},
        ),
        403,
        starts="Access denied",
    )
    assert await rpc.call("getfunctionsmsg", w.key("user"), colonyname=w.colony) == []

    # removefunctionmsg of another executor's function.
    fun = await rpc.call(
        "addfunctionmsg",
        w.key("executor"),
        fun={"colonyname": w.colony, "executorname": "exec-1", "funcname": "f"},
    )
    for who in ("exec2", "user", "owner"):
        await expect_error(
            rpc.call("removefunctionmsg", w.key(who), functionid=fun["functionid"]),
            403,
            starts="Access denied",
        )
    listed = await rpc.call("getfunctionsmsg", w.key("user"), colonyname=w.colony)
    assert [f["functionid"] for f in listed] == [fun["functionid"]]
    # A non-member learns nothing more than a 403 either.
    await expect_error(
        rpc.call("removefunctionmsg", w.key("other_member"), functionid=fun["functionid"]),
        403,
        starts="Access denied",
    )
    # An executor of another colony with the same executor name cannot act for exec-1 here.
    await expect_error(
        rpc.call(
            "reportallocationmsg",
            w.key("other_member"),
            colonyname=w.colony,
            executorname="exec-1",
        ),
        403,
        starts="Access denied",
    )


@module_loop
async def test_denied_requests_have_no_side_effects(shared_rpc, server_key):
    w = await build_world(shared_rpc, server_key, "ed25519")
    rpc = w.rpc
    await rpc.call("createsnapshotmsg", w.key("user"), colonyname=w.colony, label="/", name="s")
    await expect_error(rpc.call("removeallsnapshotmsg", w.key("owner"), colonyname=w.colony), 403)
    assert len(await rpc.call("getsnapshotsmsg", w.key("user"), colonyname=w.colony)) == 1
    await expect_error(rpc.call("removecolonymsg", w.key("owner"), colonyname=w.colony), 403)
    await expect_error(
        rpc.call(
            "changecolonyidmsg", w.key("user"), colonyname=w.colony, colonyid=w.key("user").id
        ),
        403,
    )
    got = await rpc.call("getcolonymsg", w.key("user"), colonyname=w.colony)
    assert got["colonyid"] == w.key("owner").id
    await expect_error(
        rpc.call("changeserveridmsg", w.key("owner"), serverid=w.key("owner").id), 403
    )
    await expect_error(rpc.call("getstatisticsmsg", w.key("owner")), 403)
    assert (await rpc.call("getstatisticsmsg", server_key))["colonies"] >= 2
    await expect_error(
        rpc.call(
            "removeexecutormsg", w.key("executor"), colonyname=w.colony, executorname="exec-2"
        ),
        403,
    )
    await expect_error(
        rpc.call(
            "approveexecutormsg", w.key("pending"), colonyname=w.colony, executorname="exec-pending"
        ),
        403,
    )
    states = {
        e["executorname"]: e["state"]
        for e in await rpc.call("getexecutorsmsg", w.key("user"), colonyname=w.colony)
    }
    assert states == {"exec-1": 1, "exec-2": 1, "exec-pending": 0, "exec-rejected": 2}
