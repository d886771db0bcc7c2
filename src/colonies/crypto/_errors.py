"""Errors raised by the signature layer."""

from __future__ import annotations

__all__ = ["SignatureError"]


class SignatureError(ValueError):
    """A request signature could not be decoded, verified or recovered (docs/protocol.md §2).

    The message is short and safe to return to the caller (HTTP 403).
    """
