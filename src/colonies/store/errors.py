"""Errors the store raises for callers to turn into replies."""


class Conflict(Exception):
    """The request collides with existing data (a duplicate name, a missing parent row)."""


class Replayed(Exception):
    """The request's nonce was used before: a replay, refused without effect."""
