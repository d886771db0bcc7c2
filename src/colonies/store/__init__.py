"""PostgreSQL: the pool, numbered migrations, one module per aggregate."""

from colonies.store.db import Store, connect
from colonies.store.errors import Conflict, Replayed
from colonies.store.migrate import migrate

__all__ = ["Conflict", "Replayed", "Store", "connect", "migrate"]
