"""Server-side signature verification: derive the caller ID (docs/protocol.md §2.1-2.3).

This is the hot path of every request. All failures raise :class:`SignatureError`.
"""

from __future__ import annotations

from binascii import a2b_hex
from hashlib import sha3_256

from coincurve import PublicKey
from nacl.bindings import crypto_sign_open

from colonies.crypto._errors import SignatureError

__all__ = ["SECP256K1_N", "recover_caller_id"]

#: Order of the secp256k1 group.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# Big-endian 32-byte forms, so that range checks are plain byte comparisons (for equal-length
# byte strings, lexicographic order equals numeric order).
_N_BYTES = SECP256K1_N.to_bytes(32, "big")
_HALF_N_BYTES = (SECP256K1_N // 2).to_bytes(32, "big")
_ZERO32 = bytes(32)

_SECP256K1_HEX_LEN = 130
_ED25519_HEX_LEN = 192

_from_signature_and_message = PublicKey.from_signature_and_message


def _decode_hex(signature: str) -> bytes:
    try:
        # a2b_hex is case-insensitive, rejects whitespace and odd lengths, and raises
        # ValueError (binascii.Error) for non-ASCII str input.
        return a2b_hex(signature)
    except (ValueError, TypeError):
        raise SignatureError("Invalid signature encoding") from None


def _recover_secp256k1(raw: bytes, signed: bytes) -> str:
    r = raw[:32]
    s = raw[32:64]
    if r == _ZERO32 or r >= _N_BYTES:
        raise SignatureError("Invalid signature r value")
    if s == _ZERO32 or s >= _N_BYTES:
        raise SignatureError("Invalid signature s value")
    if s > _HALF_N_BYTES:
        raise SignatureError("Signature s value is over half the order")
    if raw[64] > 3:
        raise SignatureError("Invalid signature recovery id")
    try:
        digest = sha3_256(signed).digest()
        public = _from_signature_and_message(raw, digest, hasher=None).format(compressed=False)
    except Exception:
        raise SignatureError("Invalid signature") from None
    return sha3_256(public.hex().encode("ascii")).hexdigest()


def _verify_ed25519(raw: bytes, signed: bytes) -> str:
    public = raw[:32]
    try:
        # Same as nacl.signing.VerifyKey(public).verify(signed, raw[32:]), without the
        # intermediate objects: libsodium's crypto_sign_open over signature || message.
        crypto_sign_open(raw[32:] + signed, public)
    except Exception:
        raise SignatureError("Invalid signature") from None
    return sha3_256(public.hex().encode("ascii")).hexdigest()


def recover_caller_id(signature: str, signed: bytes) -> str:
    """Return the 64-hex caller ID proven by ``signature`` over ``signed``.

    ``signature`` is the envelope's ``signature`` field; ``signed`` is the ASCII of the
    envelope's base64 ``payload`` text exactly as transmitted. The scheme is chosen by the
    length of ``signature``: 130 hex chars is secp256k1 with public-key recovery, 192 is
    Ed25519 (``public_key || signature``). Raises :class:`SignatureError` on any failure.
    """
    try:
        length = len(signature)
    except TypeError:
        raise SignatureError("Invalid signature encoding") from None
    if length == _SECP256K1_HEX_LEN:
        return _recover_secp256k1(_decode_hex(signature), signed)
    if length == _ED25519_HEX_LEN:
        return _verify_ed25519(_decode_hex(signature), signed)
    raise SignatureError("Invalid signature length")
