"""Request, reply and error envelopes (docs/protocol.md §3), for both ends of the wire.

The server decodes requests and encodes replies; the SDK and the tests sign requests and decode
replies with the same functions, so there is one encoder of each shape.

Decoding a request is the pipeline's door: the envelope, then the payload with its limits
(core/limits.py). Anything a client can send ends here as a 400 at worst, however deep or
large, never as an exception of the parser's.
"""

from __future__ import annotations

import binascii
import itertools
import os
import secrets
import time
from base64 import b64decode, b64encode
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from colonies.core.wire import DecodeError, LimitError, decode
from colonies.crypto import PrivateKey
from colonies.rpc.errors import RpcError

__all__ = [
    "EMPTY_PAYLOAD",
    "MAX_ERROR_TEXT",
    "RequestEnvelope",
    "decode_payload",
    "decode_reply",
    "decode_request",
    "encode_error",
    "encode_reply",
    "encode_request",
    "payload_text",
    "sign_request",
]

M = TypeVar("M")

EMPTY_PAYLOAD = b"{}"
# Characters of an error message at most: a message may quote the request's values.
MAX_ERROR_TEXT = 1024


class RequestEnvelope(msgspec.Struct):
    signature: str = ""
    payloadtype: str = ""
    payload: str = ""


class _ReplyEnvelope(msgspec.Struct):
    payloadtype: str
    payload: str
    error: bool


class _Failure(msgspec.Struct):
    status: int
    message: str


_request_decoder = msgspec.json.Decoder(RequestEnvelope)
_encoder = msgspec.json.Encoder()


def decode_request(body: bytes | str) -> RequestEnvelope:
    """Step 1 of §3.2: the body must be a JSON envelope (400 otherwise)."""
    try:
        return _request_decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise RpcError(400, "Failed to parse RPC message, invalid JSON envelope") from None


def decode_payload(envelope: RequestEnvelope, msg_type: type[M], action: str) -> M:
    """Steps 5 and 6 of §3.2: base64, JSON for the message within the request limits
    (core/limits.py), and ``msgtype`` == ``payloadtype``."""
    try:
        raw = b64decode(envelope.payload, validate=True)
    except (binascii.Error, ValueError):
        raise RpcError(400, f"{action}, invalid JSON") from None
    try:
        msg = decode(raw, msg_type, limits=True)
    except LimitError as exc:
        raise RpcError(400, f"{action}, {exc}") from None
    except DecodeError as exc:
        raise RpcError(400, f"{action}, invalid JSON: {exc}") from None
    if getattr(msg, "msgtype", None) != envelope.payloadtype:
        raise RpcError(400, f"{action}, msg.MsgType does not match payloadType")
    return msg


def _b64(data: bytes) -> str:
    return b64encode(data).decode("ascii")


def encode_reply(payloadtype: str, payload_json: bytes) -> bytes:
    """A success envelope around an already-encoded JSON payload."""
    return _encoder.encode(_ReplyEnvelope(payloadtype, _b64(payload_json), False))


def encode_error(status: int, message: str) -> bytes:
    """An error envelope; a message longer than :data:`MAX_ERROR_TEXT` is cut short."""
    if len(message) > MAX_ERROR_TEXT:
        message = message[: MAX_ERROR_TEXT - 1] + "…"
    failure = _encoder.encode(_Failure(status, message))
    return _encoder.encode(_ReplyEnvelope("error", _b64(failure), True))


def encode_request(payloadtype: str, payload: str, signature: str) -> bytes:
    """A request envelope; ``payload`` is the base64 text that was signed."""
    return _encoder.encode(RequestEnvelope(signature, payloadtype, payload))


def payload_text(payloadtype: str, payload: Mapping[str, Any]) -> str:
    """The base64 text of a message: ``payload`` with its ``msgtype``, as JSON."""
    body = dict(payload)
    body["msgtype"] = payloadtype
    return _b64(_encoder.encode(body))


class _Nonces:
    """Unique nonces without a random draw per request: a random per-process prefix and a
    counter (uniqueness is what replay protection needs, not secrecy)."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.counter = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_nonces = _Nonces()


def sign_request(
    payloadtype: str,
    payload: Mapping[str, Any],
    key: PrivateKey | None,
    *,
    replay_fields: bool = True,
) -> bytes:
    """A request envelope for ``payload`` (``msgtype`` added), signed by ``key``.

    A signed request carries a fresh ``nonce`` and the ``timestamp`` unless the payload has
    them (replay protection, docs/protocol.md §2.6); ``replay_fields=False`` signs without them, as
    pycolonies and the Go SDK do. ``key=None``: unsigned (only ``versionmsg`` and
    ``getserverinfomsg`` accept that).
    """
    body = dict(payload)
    body["msgtype"] = payloadtype
    if key is None:
        return _encoder.encode(RequestEnvelope("", payloadtype, _b64(_encoder.encode(body))))
    if replay_fields:
        body.setdefault("nonce", _nonces.next())
        body.setdefault("timestamp", time.time_ns())
    text = _b64(_encoder.encode(body))
    return _encoder.encode(RequestEnvelope(key.sign(text.encode("ascii")), payloadtype, text))


_json_decode = msgspec.json.decode


def decode_reply(status: int, body: bytes) -> Any:
    """The payload of a reply (plain JSON values), or the ``RpcError`` an error reply carries.

    ``status`` is the transport's (HTTP) status: an error reply without a status of its own
    takes it, and so does a reply that is not an envelope at all.
    """
    try:  # plain dicts: faster here than a typed envelope
        envelope = _json_decode(body)
        payload = _json_decode(b64decode(envelope["payload"]))
    except (ValueError, KeyError, TypeError, msgspec.DecodeError):
        raise RpcError(status, f"invalid reply from server (HTTP {status})") from None
    if envelope.get("error") or status != 200:
        if isinstance(payload, dict):
            raise RpcError(int(payload.get("status", status)), str(payload.get("message", "")))
        raise RpcError(status, str(payload))
    return payload
