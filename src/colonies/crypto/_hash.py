"""SHA3-256 helpers (docs/protocol.md §2.1)."""

from __future__ import annotations

from hashlib import sha3_256
from uuid import uuid4

__all__ = ["new_random_id", "sha3_hex"]


def sha3_hex(data: bytes) -> str:
    """Return the lowercase hex SHA3-256 (FIPS 202, not Keccak) digest of ``data``."""
    return sha3_256(data).hexdigest()


def new_random_id() -> str:
    """Return a fresh random 64-hex ID: ``hex(SHA3-256(str(uuid4())))``."""
    return sha3_256(str(uuid4()).encode("ascii")).hexdigest()
