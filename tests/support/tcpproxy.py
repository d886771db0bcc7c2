"""A TCP forwarder to put between a replica and etcd, so a drill can cut that link alone.

``python tcpproxy.py 127.0.0.1:LISTEN=127.0.0.1:TARGET ...`` (this file) forwards each
listening port to its target and prints ``ready`` once all of them listen. Network namespaces
may be unavailable (CI containers), so a partition is made with real signals instead:
SIGSTOP the proxy and nothing passes either way (established connections hang without a reset,
new ones are accepted by the kernel and never answered, like a partition that drops packets);
SIGCONT heals it. :class:`TcpProxy` runs one such process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected host:port, got {text!r}")
    return host, int(port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()


async def _serve(routes: list[tuple[tuple[str, int], tuple[str, int]]]) -> None:
    servers = []
    for listen, target in routes:

        async def forward(
            reader: asyncio.StreamReader,
            writer: asyncio.StreamWriter,
            target: tuple[str, int] = target,
        ) -> None:
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(*target)
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

        servers.append(await asyncio.start_server(forward, *listen))
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main(argv: list[str]) -> None:
    routes = []
    for item in argv:
        listen, _, target = item.partition("=")
        routes.append((_address(listen), _address(target)))
    if not routes:
        sys.exit("usage: python tcpproxy.py HOST:PORT=HOST:PORT ...")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(_serve(routes))


class TcpProxy:
    """One forwarder process for several (listen port, target port) pairs on loopback."""

    def __init__(
        self, routes: list[tuple[int, int]], host: str = "127.0.0.1", log: Path | None = None
    ) -> None:
        self.routes = routes
        self.host = host
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.cut = False

    def start(self, timeout: float = 10.0) -> None:
        args = [f"{self.host}:{listen}={self.host}:{target}" for listen, target in self.routes]
        log = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, *args],  # standard library only: runs anywhere
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            if not isinstance(log, int):
                log.close()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "ready", or EOF when it failed
        if line.strip() != b"ready":
            self.stop()
            raise RuntimeError(f"tcp proxy {args} did not start")

    def set_cut(self, cut: bool) -> None:
        """Cut (SIGSTOP) or heal (SIGCONT) every link through this proxy."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGSTOP if cut else signal.SIGCONT)
            self.cut = cut

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
                proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


if __name__ == "__main__":
    main(sys.argv[1:])
