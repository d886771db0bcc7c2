"""High availability: the election and the leader's tick loops, the LISTEN/NOTIFY event bus.

Modules here import asyncpg only where they hold connections of their own, outside the store's
pool: the event bus's LISTEN connection (events.py) and the advisory lock's (advisory_lock.py,
opened by _connect.py).
"""
