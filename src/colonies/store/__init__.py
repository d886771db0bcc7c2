"""PostgreSQL: the pool, numbered migrations, one module per aggregate."""

from colonies.store.db import Store, connect
from colonies.store.errors import (
    Conflict,
    InvalidInput,
    Replayed,
    StoreError,
    TooLarge,
    Unavailable,
    store_error,
)
from colonies.store.migrate import migrate

__all__ = [
    "Conflict",
    "InvalidInput",
    "Replayed",
    "Store",
    "StoreError",
    "TooLarge",
    "Unavailable",
    "connect",
    "migrate",
    "store_error",
]
