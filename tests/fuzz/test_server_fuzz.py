"""Arbitrary bodies against the live server: always an error envelope, never a crash."""

from __future__ import annotations

import base64
import json

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from colonies.server.routes import registry
from tests.fuzz.test_decoding_properties import fuzz, json_values

bodies = st.one_of(
    st.binary(max_size=1024),
    st.builds(
        lambda t, v, sig: json.dumps(
            {
                "payloadtype": t,
                "signature": sig,
                "payload": base64.b64encode(json.dumps(v).encode()).decode(),
            }
        ).encode(),
        st.sampled_from([*sorted(registry.routes), "", "nosuchmsg"]),
        json_values,
        st.text(alphabet="0123456789abcdef", max_size=200),
    ),
)


@fuzz
@given(body=bodies)
async def test_any_body_gets_an_envelope(server, body: bytes) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(server.url + "/api", data=body) as reply:
            raw = await reply.read()
            status = reply.status
    envelope = json.loads(raw)
    payload = json.loads(base64.b64decode(envelope["payload"]))
    if status != 200:
        assert envelope["error"] is True and payload["status"] == status
        assert status in (400, 403, 404, 413), (status, payload)
    # The server keeps serving.
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + "/health") as health:
            assert health.status == 200
