"""Bad input on the wire (docs/protocol.md §1, §2, §3): raw bodies, broken signatures, wrong types.

Every error reply must be a JSON error envelope whose inner status equals the HTTP status, and
the server must keep serving afterwards. Also the Go decoding rules (§3.3) and the operational
endpoints (/health, /ready, /metrics, CORS).
"""

from __future__ import annotations

import json
import re
from base64 import b64decode, b64encode
from hashlib import sha3_256
from typing import Any

import aiohttp
import coincurve
import pytest

from colonies import rpc
from colonies.crypto import PrivateKey, generate_private_key
from colonies.crypto._verify import SECP256K1_N
from colonies.rpc import encode_request as envelope
from tests.helpers import expect_error, make_colony, make_config, start_server

ACTION_GET_COLONY = "Failed to get colony"


# ----------------------------------------------------------------------------- helpers


def b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return b64encode(data).decode("ascii")


def payload_text(payloadtype: str, **fields: Any) -> str:
    return rpc.payload_text(payloadtype, fields)


def signed(key: PrivateKey, payloadtype: str, text: str) -> bytes:
    """``text`` (any text, even one that is no payload) signed by ``key``."""
    return envelope(payloadtype, text, key.sign(text.encode("ascii")))


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, body: bytes, **kw: Any):
    async with http.post(url + "/api", data=body, **kw) as resp:
        return resp.status, resp.headers, await resp.read()


def error_of(status: int, headers: Any, body: bytes) -> str:
    """Check that the reply is a proper error envelope (§3.5); return its message."""
    assert status >= 400, (status, body)
    assert headers["Content-Type"].startswith("text/plain"), headers["Content-Type"]
    assert "charset=utf-8" in headers["Content-Type"].lower()
    env = json.loads(body)
    assert set(env) == {"payloadtype", "payload", "error"}, env
    assert env["payloadtype"] == "error"
    assert env["error"] is True
    inner = json.loads(b64decode(env["payload"], validate=True))
    assert set(inner) == {"status", "message"}, inner
    assert inner["status"] == status
    assert isinstance(inner["message"], str) and inner["message"]
    return inner["message"]


def ok_payload(status: int, headers: Any, body: bytes, payloadtype: str) -> Any:
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain")
    env = json.loads(body)
    assert env["error"] is False and env["payloadtype"] == payloadtype
    return json.loads(b64decode(env["payload"], validate=True))


async def expect_raw_error(
    http, server, body: bytes, status: int, starts: str | None = None, **kw: Any
) -> str:
    got_status, headers, raw = await post(http, server.url, body, **kw)
    assert got_status == status, (got_status, raw)
    message = error_of(got_status, headers, raw)
    if starts is not None:
        assert message.startswith(starts), message
    return message


async def still_serving(http, server, server_key) -> None:
    body = signed(server_key, "getcoloniesmsg", payload_text("getcoloniesmsg"))
    assert isinstance(ok_payload(*await post(http, server.url, body), "getcoloniesmsg"), list)


# ----------------------------------------------------------------------------- envelope


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'"just a string"',
        b"\xff\xfe\x00garbage",
        b'{"signature": 5, "payloadtype": "getcolonymsg", "payload": ""}',
        b'{"payloadtype": ["getcolonymsg"]}',
    ],
    ids=["broken", "empty", "array", "string", "not-utf8", "int-signature", "list-type"],
)
async def test_malformed_envelope_is_400(http, server, server_key, body):
    await expect_raw_error(http, server, body, 400)
    await still_serving(http, server, server_key)


async def test_request_content_type_is_ignored(http, server, server_key):
    body = signed(server_key, "getcoloniesmsg", payload_text("getcoloniesmsg"))
    for headers in ({"Content-Type": "application/json"}, {"Content-Type": "text/plain"}, {}):
        reply = await post(http, server.url, body, headers=headers)
        assert ok_payload(*reply, "getcoloniesmsg") == []


async def test_payload_not_base64_or_not_json_is_400(http, server, colony):
    key = colony.user
    for text in ("!!!not base64!!!", "e30", "e30=e30=", b64("not json"), b64("[1, 2]"), ""):
        message = await expect_raw_error(http, server, signed(key, "getcolonymsg", text), 400)
        assert message.startswith(f"{ACTION_GET_COLONY}, invalid JSON"), (text, message)
    # The same request done right works.
    good = signed(key, "getcolonymsg", payload_text("getcolonymsg", colonyname=colony.name))
    assert ok_payload(*await post(http, server.url, good), "getcolonymsg")["name"] == colony.name


async def test_msgtype_mismatch_is_400(http, server, colony):
    key = colony.user
    for fields in (
        {"msgtype": "getcoloniesmsg", "colonyname": colony.name},
        {"colonyname": colony.name},  # no msgtype at all
        {"msgtype": "GETCOLONYMSG", "colonyname": colony.name},
    ):
        text = b64(json.dumps(fields))
        await expect_raw_error(
            http,
            server,
            signed(key, "getcolonymsg", text),
            400,
            starts=f"{ACTION_GET_COLONY}, msg.MsgType does not match payloadType",
        )
    # versionmsg needs no signature, but its payload is still decoded and checked (§3.7).
    await expect_raw_error(
        http,
        server,
        envelope("versionmsg", b64(json.dumps({"msgtype": "getcolonymsg"})), ""),
        400,
        starts="Failed to get version, msg.MsgType does not match payloadType",
    )
    await expect_raw_error(http, server, envelope("versionmsg", "%%%", ""), 400)
    # A msgtype of the wrong JSON type is a 400 as well.
    text = b64(json.dumps({"msgtype": 7, "colonyname": colony.name}))
    await expect_raw_error(
        http, server, signed(key, "getcolonymsg", text), 400, starts=ACTION_GET_COLONY
    )


async def test_unknown_and_empty_payloadtype_are_403(http, server, server_key):
    for key in (server_key, generate_private_key("ed25519")):
        for payloadtype in ("nosuchmsg", "getnodesmsg", "getnodemsg", "getnodesbylocationmsg"):
            text = payload_text(payloadtype)
            await expect_raw_error(
                http,
                server,
                signed(key, payloadtype, text),
                403,
                starts=f"invalid rpcMsg.PayloadType: {payloadtype}",
            )
        await expect_raw_error(
            http,
            server,
            signed(key, "", payload_text("")),
            403,
            starts="invalid rpcMsg.PayloadType: empty",
        )
    # The signature is checked first (§3.2 step 3): an unsigned unknown type is a signature 403.
    message = await expect_raw_error(
        http, server, envelope("nosuchmsg", payload_text("nosuchmsg"), ""), 403
    )
    assert not message.startswith("invalid rpcMsg.PayloadType"), message


# ----------------------------------------------------------------------------- signatures


def _flip(text: str, index: int) -> str:
    c = text[index]
    return text[:index] + ("1" if c != "1" else "2") + text[index + 1 :]


@pytest.mark.parametrize("scheme", ["secp256k1", "ed25519"])
async def test_bad_signatures_are_403(http, server, server_key, scheme):
    key = generate_private_key(scheme)
    # Make the key the server owner so that only the signature decides.
    await server.rpc.call("changeserveridmsg", server_key, serverid=key.id)
    text = payload_text("getcoloniesmsg")
    good = key.sign(text.encode("ascii"))
    assert len(good) == (130 if scheme == "secp256k1" else 192)
    assert (
        ok_payload(
            *await post(http, server.url, envelope("getcoloniesmsg", text, good)),
            ("getcoloniesmsg"),
        )
        == []
    )

    other_text = payload_text("getcoloniesmsg", extra="x")
    bad_signatures = {
        "missing": "",
        "short": good[:-2],
        "long": good + "00",
        "odd": good[:-1],
        "length-129": "a" * 129,
        "length-64": "a" * 64,
        "non-hex": "z" * len(good),
        "space": " " + good[1:],
        "tampered-start": _flip(good, 2),
        "tampered-middle": _flip(good, 70),
        "tampered-end": _flip(good, len(good) - 4),
        "zero": "0" * len(good),
        "for-another-payload": key.sign(other_text.encode("ascii")),
    }
    for name, signature in bad_signatures.items():
        status, headers, raw = await post(
            http, server.url, envelope("getcoloniesmsg", text, signature)
        )
        assert status == 403, (name, raw)
        error_of(status, headers, raw)
    # Upper-case hex decodes to the same bytes and is accepted (§2.1).
    upper = envelope("getcoloniesmsg", text, good.upper())
    assert ok_payload(*await post(http, server.url, upper), "getcoloniesmsg") == []


async def test_high_s_signature_is_403(http, server, server_key):
    assert server_key.scheme == "secp256k1"
    text = payload_text("getcoloniesmsg")
    good = bytes.fromhex(server_key.sign(text.encode("ascii")))
    r, s, v = good[:32], int.from_bytes(good[32:64], "big"), good[64]
    assert s <= SECP256K1_N // 2  # libsecp256k1 signs low-S
    high = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([v ^ 1])
    # The high-S twin is a valid signature of the same key: only the low-S rule rejects it.
    digest = sha3_256(text.encode("ascii")).digest()
    recovered = coincurve.PublicKey.from_signature_and_message(high, digest, hasher=None)
    assert recovered.format(compressed=False).hex() == server_key.public_hex
    await expect_raw_error(
        http,
        server,
        envelope("getcoloniesmsg", text, high.hex()),
        403,
        starts="Signature s value is over half the order",
    )
    # Recovery ids beyond 3 are refused as well.
    bad_v = good[:64] + bytes([27 + v])
    await expect_raw_error(http, server, envelope("getcoloniesmsg", text, bad_v.hex()), 403)
    await still_serving(http, server, server_key)


# ----------------------------------------------------------------------------- payload types


async def test_wrong_field_types_are_400(server, colony):
    rpc, key, name = server.rpc, colony.executor, colony.name
    cases: list[tuple[str, PrivateKey, dict[str, Any], str]] = [
        ("getcolonymsg", key, {"colonyname": 5}, ACTION_GET_COLONY),
        ("getcolonymsg", key, {"colonyname": ["x"]}, ACTION_GET_COLONY),
        ("getcolonymsg", key, {"colonyname": True}, ACTION_GET_COLONY),
        (
            "getfilemsg",
            key,
            {"colonyname": name, "fileid": "x", "latest": "yes"},
            "Failed to get file",
        ),
        (
            "reportallocationmsg",
            key,
            {
                "colonyname": name,
                "executorname": colony.executor_name,
                "allocations": {"projects": {"p": {"usedcpu": "1"}}},
            },
            "Failed to report allocation",
        ),
        (
            "reportallocationmsg",
            key,
            {
                "colonyname": name,
                "executorname": colony.executor_name,
                "allocations": {"projects": {"p": {"usedcpu": 1.5}}},  # a fraction for an int
            },
            "Failed to report allocation",
        ),
        (
            "addexecutormsg",
            colony.owner,
            {"executor": "not an object"},
            "Failed to add executor",
        ),
        (
            "addlocationmsg",
            colony.owner,
            {"location": {"colonyname": name, "name": "l", "long": "east"}},
            "Failed to add location",
        ),
        (
            "updateexecutormsg",
            key,
            {
                "colonyname": name,
                "executorname": colony.executor_name,
                # an object (v1.9.4) or an array (later clients), nothing else
                "capabilities": {"hardware": "neither an object nor an array"},
            },
            "Failed to update executor",
        ),
    ]
    for payloadtype, caller, fields, action in cases:
        await expect_error(
            rpc.call(payloadtype, caller, **fields), 400, starts=f"{action}, invalid JSON"
        )
    # Nothing was changed by the refused updates.
    got = await rpc.call(
        "getexecutormsg", colony.user, colonyname=name, executorname=colony.executor_name
    )
    assert got["allocations"] == {"projects": {}}
    assert got["capabilities"] == {"hardware": [], "software": []}
    assert await rpc.call("getlocationsmsg", colony.user, colonyname=name) == []


async def test_integers_are_64_bit(server, colony):
    rpc = server.rpc
    big = 2**62 + 1
    await rpc.call(
        "reportallocationmsg",
        colony.executor,
        colonyname=colony.name,
        executorname=colony.executor_name,
        allocations={"projects": {"p": {"allocatedstorage": big, "usedstorage": -big}}},
    )
    got = await rpc.call(
        "getexecutormsg", colony.user, colonyname=colony.name, executorname=colony.executor_name
    )
    project = got["allocations"]["projects"]["p"]
    assert project["allocatedstorage"] == big and project["usedstorage"] == -big
    # Beyond 64 bits in a column-backed field is a 400, not a 500.
    await expect_error(
        rpc.call(
            "addfilemsg",
            colony.user,
            file={"colonyname": colony.name, "label": "/a", "name": "n", "size": 2**63},
        ),
        400,
        starts="Failed to add file",
    )


async def test_integers_beyond_64_bit_are_400(server, server_key):
    c = await make_colony(server.rpc, server_key, "ed25519", name="big")
    await expect_error(
        server.rpc.call(
            "reportallocationmsg",
            c.executor,
            colonyname="big",
            executorname=c.executor_name,
            allocations={"projects": {"p": {"usedcpu": 2**64}}},
        ),
        400,
    )


# ----------------------------------------------------------------------------- Go decoding (§3.3)


async def test_keys_match_case_insensitively(http, server, colony):
    text = b64(json.dumps({"MsgType": "getcolonymsg", "ColonyName": colony.name}))
    got = ok_payload(
        *await post(http, server.url, signed(colony.user, "getcolonymsg", text)), "getcolonymsg"
    )
    assert got == {"colonyid": colony.owner.id, "name": colony.name}
    # Nested objects too; an exact match wins over a case-insensitive one.
    key = generate_private_key("ed25519")
    added = await server.rpc.call(
        "addexecutormsg",
        colony.owner,
        Executor={
            "ExecutorID": key.id,
            "EXECUTORNAME": "loud",
            "executorType": "t",
            "ColonyName": colony.name,
            "Capabilities": {"Hardware": [{"Cores": 3}]},
        },
    )
    assert added["executorid"] == key.id and added["executorname"] == "loud"
    assert added["executortype"] == "t"
    assert added["capabilities"]["hardware"][0]["cores"] == 3
    text = b64(
        json.dumps({"msgtype": "getcolonymsg", "ColonyName": "wrong", "colonyname": colony.name})
    )
    got = ok_payload(
        *await post(http, server.url, signed(colony.user, "getcolonymsg", text)), "getcolonymsg"
    )
    assert got["name"] == colony.name
    # Reply keys are always the exact lowercase names.
    assert set(added) >= {"executorid", "executorname", "executortype", "colonyname"}
    assert not any(k != k.lower() for k in added)


async def test_null_values_take_the_zero_value(server, colony):
    key = generate_private_key("ed25519")
    added = await server.rpc.call(
        "addexecutormsg",
        colony.owner,
        executor={
            "executorid": key.id,
            "executorname": "nulls",
            "executortype": "t",
            "colonyname": colony.name,
            "locationname": None,
            "state": None,
            "requirefuncreg": None,
            "commissiontime": None,
            "lastheardfromtime": None,
            "capabilities": None,
            "allocations": {"projects": None},
            "blueprintgen": None,
        },
    )
    assert added["locationname"] == "" and added["state"] == 0
    assert added["requirefuncreg"] is False
    assert added["lastheardfromtime"] == "0001-01-01T00:00:00Z"
    assert added["capabilities"] == {"hardware": [], "software": []}
    assert added["allocations"] == {"projects": {}}
    # A null message field is "": here an empty colony name, which does not exist.
    await expect_error(
        server.rpc.call("getcolonymsg", colony.user, colonyname=None),
        403,
        starts="Colony with name  does not exists",
    )
    # Null list items inside objects become zero values too.
    updated = await server.rpc.call(
        "updateexecutormsg",
        colony.executor,
        colonyname=colony.name,
        executorname=colony.executor_name,
        capabilities={"hardware": [{"network": ["a", None]}], "software": None},
    )
    assert updated == {}
    got = await server.rpc.call(
        "getexecutormsg", colony.user, colonyname=colony.name, executorname=colony.executor_name
    )
    assert got["capabilities"]["hardware"][0]["network"] == ["a", ""]
    assert got["capabilities"]["software"] == []


async def test_unknown_keys_are_ignored(http, server, colony):
    text = b64(
        json.dumps(
            {
                "msgtype": "getcolonymsg",
                "colonyname": colony.name,
                "waitforprevprocessgrap": True,
                "nested": {"deep": [1, 2, {"x": None}]},
            }
        )
    )
    got = ok_payload(
        *await post(http, server.url, signed(colony.user, "getcolonymsg", text)), "getcolonymsg"
    )
    assert got["name"] == colony.name
    user = await server.rpc.call(
        "addusermsg",
        colony.owner,
        user={
            "colonyname": colony.name,
            "userid": generate_private_key("ed25519").id,
            "name": "u2",
            "nickname": "ignored",
        },
    )
    assert "nickname" not in user and user["name"] == "u2"
    # Extra envelope keys are ignored too.
    body = json.loads(
        signed(colony.user, "getcolonymsg", payload_text("getcolonymsg", colonyname=colony.name))
    )
    body["extra"] = {"x": 1}
    got = ok_payload(*await post(http, server.url, json.dumps(body).encode()), "getcolonymsg")
    assert got["name"] == colony.name


async def test_pycolonies_style_payload_is_accepted(http, server, colony):
    """pycolonies serialises with ", " / ": " separators and \\uXXXX escapes (§3.1)."""
    fields = {
        "msgtype": "addusermsg",
        "user": {
            "colonyname": colony.name,
            "name": "ünï",
            "userid": generate_private_key("secp256k1").id,
            "email": "",
            "phone": "",
        },
    }
    text = b64(json.dumps(fields, ensure_ascii=True))
    got = ok_payload(
        *await post(http, server.url, signed(colony.owner, "addusermsg", text)), "addusermsg"
    )
    assert got["name"] == "ünï"


# ----------------------------------------------------------------------------- unsigned routes


async def test_version_and_server_info_without_signature(http, server):
    version = ok_payload(
        *await post(http, server.url, envelope("versionmsg", payload_text("versionmsg"), "")),
        "versionmsg",
    )
    assert version["msgtype"] == "versionmsg" and version["buildversion"] == "dev"
    info = ok_payload(
        *await post(
            http, server.url, envelope("getserverinfomsg", payload_text("getserverinfomsg"), "")
        ),
        "getserverinfomsg",
    )
    assert info["backends"][0]["port"] == server.port
    # A garbage signature does not matter for these two.
    info2 = ok_payload(
        *await post(
            http,
            server.url,
            envelope("getserverinfomsg", payload_text("getserverinfomsg"), "zz"),
        ),
        "getserverinfomsg",
    )
    assert info2 == info


async def test_server_info_payload_is_ignored(http, server):
    body = envelope("getserverinfomsg", "not base64 at all", "")
    ok_payload(*await post(http, server.url, body), "getserverinfomsg")


# ----------------------------------------------------------------------------- body size


async def test_body_over_the_limit_is_413(http, db_url, server_key):
    config = make_config(db_url, server_key, max_body=1024)
    runner, _app = await start_server(config)
    url = f"http://127.0.0.1:{config.port}"
    try:
        async with http.post(url + "/api", data=b"x" * 4096) as resp:
            status, headers, raw = resp.status, resp.headers, await resp.read()
        assert status == 413
        error_of(status, headers, raw)
        # A signed, well-formed envelope that is too large gets the same answer.
        text = payload_text("getcoloniesmsg", pad="p" * 2000)
        async with http.post(url + "/api", data=signed(server_key, "getcoloniesmsg", text)) as r:
            assert r.status == 413
            error_of(r.status, r.headers, await r.read())
        # The server keeps serving requests under the limit.
        body = signed(server_key, "getcoloniesmsg", payload_text("getcoloniesmsg"))
        assert len(body) < 1024
        async with http.post(url + "/api", data=body) as r:
            assert ok_payload(r.status, r.headers, await r.read(), "getcoloniesmsg") == []
    finally:
        await runner.cleanup()


async def test_large_body_under_default_limit_is_accepted(http, server, server_key):
    """The default limit is 64 MiB (§1.2): a 2 MB request is fine."""
    text = payload_text("getcoloniesmsg", pad="p" * 2_000_000)
    reply = await post(http, server.url, signed(server_key, "getcoloniesmsg", text))
    assert ok_payload(*reply, "getcoloniesmsg") == []


# ----------------------------------------------------------------------------- error replies


async def test_error_replies_are_envelopes_with_matching_status(http, server, server_key):
    c = await make_colony(server.rpc, server_key, "secp256k1", name="env")
    cases = [
        # 400: validation
        (
            signed(
                server_key,
                "addcolonymsg",
                payload_text("addcolonymsg", colony={"colonyid": "short", "name": "x"}),
            ),
            400,
        ),
        # 403: authorization
        (signed(c.user, "getcoloniesmsg", payload_text("getcoloniesmsg")), 403),
        # 404: not found
        (
            signed(
                c.user,
                "getusermsg",
                payload_text("getusermsg", colonyname="env", name="nobody"),
            ),
            404,
        ),
    ]
    for body, status in cases:
        got_status, headers, raw = await post(http, server.url, body)
        assert got_status == status, raw
        error_of(got_status, headers, raw)
        assert headers["Access-Control-Allow-Origin"] == "*"
    await still_serving(http, server, server_key)


# ------------------------------------------------------------------------- operational endpoints


async def test_health_ready_metrics_and_cors(http, server, server_key):
    async with http.get(server.url + "/health") as resp:
        assert resp.status == 200
        assert await resp.read() == b""
    async with http.get(server.url + "/ready") as resp:
        assert resp.status == 200

    await server.rpc.call("getcoloniesmsg", server_key)
    await expect_error(server.rpc.call("getcoloniesmsg", generate_private_key("ed25519")), 403)
    async with http.post(server.url + "/api", data=b"junk") as resp:
        assert resp.status == 400
    async with http.get(server.url + "/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    assert re.search(
        r'^colonies_rpc_requests_total\{[^}]*payloadtype="getcoloniesmsg"[^}]*status="200"[^}]*\}'
        r" 1\.0$",
        text,
        re.M,
    ), text
    assert re.search(
        r'^colonies_rpc_requests_total\{[^}]*payloadtype="getcoloniesmsg"[^}]*status="403"',
        text,
        re.M,
    )
    assert re.search(r'^colonies_rpc_requests_total\{[^}]*status="400"', text, re.M)

    async with http.options(
        server.url + "/api",
        headers={"Origin": "http://example.com", "Access-Control-Request-Method": "POST"},
    ) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        methods = {m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")}
        assert {"GET", "POST", "OPTIONS"} <= methods
        headers = {
            h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")
        }
        assert {"origin", "content-type", "content-length"} <= headers
        assert "Access-Control-Allow-Credentials" not in resp.headers
    # Ordinary replies carry the CORS header as well.
    body = signed(server_key, "getcoloniesmsg", payload_text("getcoloniesmsg"))
    async with http.post(server.url + "/api", data=body, headers={"Origin": "http://x"}) as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
