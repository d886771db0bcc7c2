"""The RPC envelope: decode, verify, encode replies and errors; one message type per payloadtype."""

from colonies.rpc.envelope import (
    EMPTY_PAYLOAD,
    RequestEnvelope,
    decode_payload,
    decode_reply,
    decode_request,
    encode_error,
    encode_reply,
    encode_request,
    payload_text,
    sign_request,
)
from colonies.rpc.errors import RpcError

__all__ = [
    "EMPTY_PAYLOAD",
    "RequestEnvelope",
    "RpcError",
    "decode_payload",
    "decode_reply",
    "decode_request",
    "encode_error",
    "encode_reply",
    "encode_request",
    "payload_text",
    "sign_request",
]
