"""Private keys for the project's clients and CLI (docs/protocol.md §2.2-2.4).

The server itself never needs a private key; these are used to sign requests and to derive IDs
from configured keys.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from binascii import a2b_hex
from hashlib import sha3_256
from typing import Final, Literal

import coincurve
from nacl.signing import SigningKey

from colonies.crypto._verify import SECP256K1_N

__all__ = [
    "ED25519",
    "ED25519_PREFIX",
    "SECP256K1",
    "Ed25519PrivateKey",
    "PrivateKey",
    "Scheme",
    "Secp256k1PrivateKey",
    "generate_private_key",
    "id_from_public_hex",
    "parse_private_key",
]

Scheme = Literal["secp256k1", "ed25519"]
SECP256K1: Final = "secp256k1"
ED25519: Final = "ed25519"
#: Prefix marking an Ed25519 seed in configuration (docs/protocol.md §2.4).
ED25519_PREFIX: Final = "ed25519:"

_HEXDIGITS = frozenset("0123456789abcdefABCDEF")


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in _HEXDIGITS for c in text)


def id_from_public_hex(public_hex: str) -> str:
    """Return the ID for a public key given as hex.

    Accepts a 130-hex uncompressed secp256k1 key (``04||X||Y``) or a 64-hex Ed25519 key; the ID
    is the SHA3-256 of the ASCII of the lowercase hex string. Raises ``ValueError`` otherwise.
    """
    if not (_is_hex(public_hex, 130) and public_hex[:2] == "04") and not _is_hex(public_hex, 64):
        raise ValueError("public key must be 130 hex chars (secp256k1, 04||X||Y) or 64 (Ed25519)")
    return sha3_256(public_hex.lower().encode("ascii")).hexdigest()


class PrivateKey(ABC):
    """A private key of either signature scheme.

    ``repr``/``str`` show only the scheme and the ID, never the secret.
    """

    __slots__ = ("_id", "_public_hex", "_secret")

    _secret: bytes
    _public_hex: str
    _id: str

    def __init__(self, secret: bytes, public_hex: str) -> None:
        self._secret = secret
        self._public_hex = public_hex
        self._id = sha3_256(public_hex.encode("ascii")).hexdigest()

    @property
    @abstractmethod
    def scheme(self) -> Scheme:
        """``"secp256k1"`` or ``"ed25519"``."""

    @property
    def hex(self) -> str:
        """The private scalar (secp256k1) or seed (Ed25519) as 64 lowercase hex chars."""
        return self._secret.hex()

    @property
    @abstractmethod
    def text(self) -> str:
        """The configuration form: plain hex (secp256k1) or ``ed25519:<hex>``."""

    @property
    def public_hex(self) -> str:
        """Lowercase hex of the public key (130 chars secp256k1 uncompressed, 64 Ed25519)."""
        return self._public_hex

    @property
    def id(self) -> str:
        """The 64-hex ID derived from the public key."""
        return self._id

    @abstractmethod
    def sign(self, signed: bytes) -> str:
        """Sign ``signed`` (the ASCII of the base64 payload) and return the ``signature`` field."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} scheme={self.scheme} id={self._id}>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PrivateKey):
            return NotImplemented
        return self.scheme == other.scheme and secrets.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash((self.scheme, self._id))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self._secret,))


class Secp256k1PrivateKey(PrivateKey):
    """A secp256k1 private key (upstream-compatible scheme, docs/protocol.md §2.2)."""

    __slots__ = ("_key",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise ValueError("secp256k1 private key must be 32 bytes")
        if not 0 < int.from_bytes(secret, "big") < SECP256K1_N:
            raise ValueError("secp256k1 private key is out of range [1, n-1]")
        secret = bytes(secret)
        self._key = coincurve.PrivateKey(secret)
        super().__init__(secret, self._key.public_key.format(compressed=False).hex())

    @property
    def scheme(self) -> Scheme:
        return "secp256k1"

    @property
    def text(self) -> str:
        return self._secret.hex()

    def sign(self, signed: bytes) -> str:
        # libsecp256k1 emits low-S r||s||v with deterministic RFC 6979 nonces.
        digest = sha3_256(signed).digest()
        return self._key.sign_recoverable(digest, hasher=None).hex()


class Ed25519PrivateKey(PrivateKey):
    """An Ed25519 private key given by its 32-byte seed (project scheme, docs/protocol.md §2.3)."""

    __slots__ = ("_public", "_signing_key")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("Ed25519 seed must be 32 bytes")
        seed = bytes(seed)
        self._signing_key = SigningKey(seed)
        self._public = bytes(self._signing_key.verify_key)
        super().__init__(seed, self._public.hex())

    @property
    def scheme(self) -> Scheme:
        return "ed25519"

    @property
    def text(self) -> str:
        return ED25519_PREFIX + self._secret.hex()

    def sign(self, signed: bytes) -> str:
        # Plain Ed25519 over the bytes themselves (no pre-hash); field = pub32 || sig64.
        return (self._public + self._signing_key.sign(signed).signature).hex()


def generate_private_key(scheme: str = ED25519) -> PrivateKey:
    """Generate a fresh random private key of ``scheme`` (``"ed25519"`` or ``"secp256k1"``)."""
    if scheme == ED25519:
        return Ed25519PrivateKey(secrets.token_bytes(32))
    if scheme == SECP256K1:
        scalar = secrets.randbelow(SECP256K1_N - 1) + 1
        return Secp256k1PrivateKey(scalar.to_bytes(32, "big"))
    raise ValueError(f"unknown signature scheme {scheme!r}; expected 'ed25519' or 'secp256k1'")


def parse_private_key(text: str) -> PrivateKey:
    """Parse a configured private key (docs/protocol.md §2.4).

    ``ed25519:<64 hex>`` is an Ed25519 seed; plain ``<64 hex>`` is a secp256k1 key. Surrounding
    whitespace is ignored and hex is case-insensitive. Raises ``ValueError`` (which never contains
    the key text) for anything else.
    """
    if not isinstance(text, str):
        raise ValueError("private key must be a string")
    value = text.strip()
    if value[: len(ED25519_PREFIX)].lower() == ED25519_PREFIX:
        body = value[len(ED25519_PREFIX) :]
        if not _is_hex(body, 64):
            raise ValueError("Ed25519 private key must be 'ed25519:' followed by 64 hex chars")
        return Ed25519PrivateKey(a2b_hex(body))
    if not _is_hex(value, 64):
        raise ValueError(
            "private key must be 64 hex chars (secp256k1) or 'ed25519:' followed by 64 hex chars"
        )
    return Secp256k1PrivateKey(a2b_hex(value))
