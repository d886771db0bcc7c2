"""What the LibP2P server transport and the SDK's LibP2P client share (docs/protocol.md §12.3).

Only pure helpers live here, so that importing this package does not import py-libp2p (about
3 s): the protocol IDs, upstream's identity format, and finding where one JSON value ends in a
stream whose writer does not half-close. The trio host itself is in ``colonies.p2p.host``.
"""

from __future__ import annotations

import binascii
import re
import secrets

__all__ = [
    "ED25519_PREFIX",
    "RPC_PROTOCOL",
    "SUBSCRIBE_PROTOCOL",
    "IdentityError",
    "JsonValueEnd",
    "check_identity",
    "identity_seed",
    "new_identity",
    "peer_id",
]

#: One request envelope in, one reply envelope out, then the server closes (upstream v1.9.4).
RPC_PROTOCOL = "/colonies/rpc/1.0.0"
#: A project addition: one subscription envelope in, then reply envelopes, one per line, until
#: the server closes the stream.
SUBSCRIBE_PROTOCOL = "/colonies/subscribe/1.0.0"

#: Protobuf ``PrivateKey{Type: Ed25519, Data: <64 bytes>}``: how libp2p marshals an Ed25519 key.
ED25519_PREFIX = bytes.fromhex("08011240")
_PUBLIC_PREFIX = bytes.fromhex("08011220")  # PublicKey{Type: Ed25519, Data: <32 bytes>}
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class IdentityError(ValueError):
    """A LibP2P identity we cannot use."""


def _split(identity: str) -> tuple[bytes, bytes]:
    try:
        raw = bytes.fromhex(identity.strip())
    except ValueError:
        raise IdentityError("not hexadecimal") from None
    if len(raw) != 68 or raw[:4] != ED25519_PREFIX:
        raise IdentityError(
            "must be the hex of a marshalled Ed25519 private key (08011240 and 64 bytes)"
        )
    return raw[4:36], raw[36:]


def _public_key(seed: bytes) -> bytes:
    from nacl.signing import SigningKey

    return bytes(SigningKey(seed).verify_key)


def check_identity(identity: str) -> None:
    """Raise IdentityError unless ``identity`` is upstream's format with matching halves."""
    seed, public = _split(identity)
    if _public_key(seed) != public:
        raise IdentityError("its public half does not match its private half")


def identity_seed(identity: str) -> bytes:
    """The 32-byte Ed25519 seed of a checked identity."""
    check_identity(identity)
    return _split(identity)[0]


def new_identity() -> str:
    """A fresh identity in upstream's format (what its ``colonies p2p generate`` printed)."""
    seed = secrets.token_bytes(32)
    return (ED25519_PREFIX + seed + _public_key(seed)).hex()


def peer_id(identity: str) -> str:
    """The peer ID (``12D3KooW…``) of an identity: base58 of the identity multihash of the
    marshalled public key."""
    _, public = _split(identity)
    digest = bytes([0x00, 36]) + _PUBLIC_PREFIX + public
    number = int(binascii.hexlify(digest), 16)
    text = ""
    while number:
        number, rest = divmod(number, 58)
        text = _BASE58[rest] + text
    return "1" * (len(digest) - len(digest.lstrip(b"\0"))) + text


class JsonValueEnd:
    """Finds where the first complete JSON object or array ends, fed chunk by chunk.

    Upstream's Go client writes a request envelope and keeps its side of the stream open (it
    reads to EOF), so the end of the request is the end of the JSON value, not the stream's.
    Only quotes, backslashes and brackets are looked at (a regular expression jumps between
    them), so a long base64 payload costs next to nothing.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False  # the previous chunk ended in a backslash inside a string
        self.started = False

    def feed(self, chunk: bytes) -> int | None:
        """The index just past the value's end within ``chunk``, or None if not yet there."""
        skip = 0 if self.escaped else -1  # the index of a byte a backslash escapes
        self.escaped = False
        if not self.started:
            first = len(chunk) - len(chunk.lstrip(b" \t\r\n"))
            if first == len(chunk):
                return None
            if chunk[first] not in b"{[":
                return first + 1  # not an object: the pipeline refuses it as bad JSON
            self.started = True
        for match in _SIGNIFICANT.finditer(chunk):
            i = match.start()
            if i == skip:
                continue
            byte = chunk[i]
            if self.in_string:
                if byte == 0x5C:  # backslash: the next byte is taken as it is
                    skip = i + 1
                    self.escaped = skip == len(chunk)
                elif byte == 0x22:
                    self.in_string = False
            elif byte == 0x22:
                self.in_string = True
            elif byte in b"{[":
                self.depth += 1
            elif byte in b"}]":
                self.depth -= 1
                if self.depth <= 0:
                    return i + 1
        return None


_SIGNIFICANT = re.compile(rb'["\\{}\[\]]')
