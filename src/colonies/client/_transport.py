"""Signed RPC over HTTP: one envelope per request (PROTOCOL.md §3)."""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from typing import Any

import aiohttp

from colonies.client._errors import ColoniesError
from colonies.crypto import PrivateKey


def sign_envelope(payloadtype: str, payload: dict[str, Any], key: PrivateKey | None) -> bytes:
    """A request envelope for ``payload`` (``msgtype`` added), signed by ``key``."""
    body = dict(payload)
    body["msgtype"] = payloadtype
    text = b64encode(json.dumps(body, separators=(",", ":")).encode("utf-8")).decode("ascii")
    signature = key.sign(text.encode("ascii")) if key is not None else ""
    return json.dumps(
        {"signature": signature, "payloadtype": payloadtype, "payload": text}
    ).encode()


def parse_reply(status: int, body: bytes) -> Any:
    try:
        envelope = json.loads(body)
        payload = json.loads(b64decode(envelope["payload"]))
    except (ValueError, KeyError, TypeError):
        raise ColoniesError(status, f"invalid reply from server: {body[:200]!r}") from None
    if envelope.get("error") or status != 200:
        if isinstance(payload, dict):
            raise ColoniesError(payload.get("status", status), payload.get("message", ""))
        raise ColoniesError(status, str(payload))
    return payload


class AsyncRpc:
    """The raw RPC layer: ``await rpc.call("getcolonymsg", key, colonyname="dev")``."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def call(self, payloadtype: str, key: PrivateKey | None, /, **payload: Any) -> Any:
        body = sign_envelope(payloadtype, payload, key)
        return await self.post(body)

    async def post(self, body: bytes) -> Any:
        session = await self._get_session()
        async with session.post(self.base_url + "/api", data=body) as response:
            return parse_reply(response.status, await response.read())

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> AsyncRpc:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
