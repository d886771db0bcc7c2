"""Request, reply and error envelopes (docs/protocol.md §3)."""

from __future__ import annotations

import binascii
from base64 import b64decode, b64encode
from typing import Any, TypeVar

import msgspec

from colonies.core.wire import DecodeError, decode
from colonies.rpc.errors import RpcError

__all__ = [
    "EMPTY_PAYLOAD",
    "RequestEnvelope",
    "decode_payload",
    "decode_request",
    "encode_error",
    "encode_reply",
    "encode_request",
]

M = TypeVar("M")

EMPTY_PAYLOAD = b"{}"


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
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise RpcError(400, "Failed to parse RPC message, invalid JSON envelope") from None


def decode_payload(envelope: RequestEnvelope, msg_type: type[M], action: str) -> M:
    """Steps 5 and 6 of §3.2: base64, JSON for the message, and ``msgtype`` == ``payloadtype``."""
    try:
        raw = b64decode(envelope.payload, validate=True)
    except (binascii.Error, ValueError):
        raise RpcError(400, f"{action}, invalid JSON") from None
    try:
        msg = decode(raw, msg_type)
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
    failure = _encoder.encode(_Failure(status, message))
    return _encoder.encode(_ReplyEnvelope("error", _b64(failure), True))


def encode_request(payloadtype: str, payload: Any, signature: str) -> bytes:
    """A request envelope; ``payload`` is the base64 text that was signed."""
    return _encoder.encode(RequestEnvelope(signature, payloadtype, payload))
