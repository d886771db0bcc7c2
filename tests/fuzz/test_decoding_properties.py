"""Property tests: no input crashes the decoders, and only valid signatures authenticate."""

from __future__ import annotations

import base64
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colonies.core.wire import DecodeError, decode
from colonies.crypto import SignatureError, generate_private_key, recover_caller_id
from colonies.rpc import RpcError, decode_payload, decode_request
from colonies.rpc.envelope import RequestEnvelope
from colonies.server.routes import registry

# `make fuzz` raises this for a longer run.
EXAMPLES = int(os.environ.get("COLONIES_FUZZ_EXAMPLES", "200"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)
message_types = [route.msg_type for route in registry.routes.values()]


@fuzz
@given(st.binary(max_size=2048))
def test_arbitrary_bodies_decode_or_give_400(body: bytes) -> None:
    try:
        envelope = decode_request(body)
    except RpcError as exc:
        assert exc.status == 400
    else:
        assert isinstance(envelope, RequestEnvelope)


@fuzz
@given(st.sampled_from(sorted(registry.routes)), json_values)
def test_arbitrary_payloads_decode_or_give_400(payloadtype: str, value: object) -> None:
    route = registry.routes[payloadtype]
    text = base64.b64encode(json.dumps(value).encode()).decode()
    envelope = RequestEnvelope(signature="", payloadtype=payloadtype, payload=text)
    try:
        decode_payload(envelope, route.msg_type, route.action)
    except RpcError as exc:
        assert exc.status == 400


@fuzz
@given(st.sampled_from(message_types), json_values)
def test_wire_decode_raises_only_decode_errors(tp: type, value: object) -> None:
    try:
        decode(json.dumps(value), tp)
    except DecodeError:
        pass


@fuzz
@given(st.text(max_size=300), st.binary(max_size=256))
def test_garbage_signatures_are_refused_cleanly(signature: str, signed: bytes) -> None:
    try:
        caller = recover_caller_id(signature, signed)
    except SignatureError:
        return
    assert len(caller) == 64  # a wellformed signature of someone: never an exception


_keys = [generate_private_key("ed25519"), generate_private_key("secp256k1")]


@fuzz
@given(st.sampled_from(_keys), st.binary(min_size=1, max_size=256), st.data())
def test_only_the_signers_signature_authenticates(key, payload: bytes, data) -> None:
    signature = key.sign(payload)
    assert recover_caller_id(signature, payload) == key.id
    # Any change to the signed bytes or to the signature loses the signer's identity.
    i = data.draw(st.integers(0, len(payload) - 1))
    tampered = payload[:i] + bytes([payload[i] ^ data.draw(st.integers(1, 255))]) + payload[i + 1 :]
    try:
        assert recover_caller_id(signature, tampered) != key.id
    except SignatureError:
        pass
    j = data.draw(st.integers(0, len(signature) - 1))
    flipped = signature[:j] + ("0" if signature[j] != "0" else "1") + signature[j + 1 :]
    try:
        assert recover_caller_id(flipped, payload) != key.id
    except SignatureError:
        pass
