"""Identity and signatures (docs/protocol.md §2): hashing, caller-ID recovery and private keys."""

from __future__ import annotations

from colonies.crypto._errors import SignatureError
from colonies.crypto._hash import new_random_id, sha3_hex
from colonies.crypto._keys import (
    Ed25519PrivateKey,
    PrivateKey,
    Scheme,
    Secp256k1PrivateKey,
    generate_private_key,
    id_from_public_hex,
    parse_private_key,
)
from colonies.crypto._verify import recover_caller_id

__all__ = [
    "Ed25519PrivateKey",
    "PrivateKey",
    "Scheme",
    "Secp256k1PrivateKey",
    "SignatureError",
    "generate_private_key",
    "id_from_public_hex",
    "new_random_id",
    "parse_private_key",
    "recover_caller_id",
    "sha3_hex",
]
