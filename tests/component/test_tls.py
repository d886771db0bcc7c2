"""Native TLS with a throwaway CA: the SDK and pycolonies over HTTPS, plain HTTP refused."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import aiohttp
import pytest

from colonies.client import AsyncClient, TLSError
from colonies.core import Colony
from colonies.crypto import generate_private_key
from tests.helpers import make_config, start_server


def make_ca_and_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1/localhost signed by it (openssl)."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
        "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (directory / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem")  # fmt: skip
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


@pytest.fixture
async def tls_server(db_url, server_key, tmp_path):
    ca, cert, key = await asyncio.to_thread(make_ca_and_certificate, tmp_path)
    config = make_config(db_url, server_key, tls_cert=str(cert), tls_key=str(key))
    runner, _ = await start_server(config)
    try:
        yield config, ca
    finally:
        await runner.cleanup()


async def test_sdk_and_pycolonies_over_tls(tls_server, server_key):
    config, ca = tls_server
    url = f"https://127.0.0.1:{config.port}"
    owner = generate_private_key("secp256k1")
    async with AsyncClient(url, server_key, ca_file=str(ca)) as client:
        await client.add_colony(Colony(colonyid=owner.id, name="secure"))
        assert [c.name for c in await client.get_colonies()] == ["secure"]

    def with_pycolonies() -> list[str]:
        from pycolonies import Colonies

        os.environ["REQUESTS_CA_BUNDLE"] = str(ca)
        try:
            client = Colonies("127.0.0.1", config.port, tls=True)
            return [c["name"] for c in client.list_colonies(server_key.hex)]
        finally:
            del os.environ["REQUESTS_CA_BUNDLE"]

    assert await asyncio.to_thread(with_pycolonies) == ["secure"]
    # Without the CA the certificate is not trusted: the client refuses to talk.
    async with AsyncClient(url, server_key, retry_seconds=0) as untrusting:
        with pytest.raises(TLSError) as err:
            await untrusting.get_colonies()
        assert "certificate verify failed" in str(err.value)


async def test_plain_http_to_the_tls_port_fails_cleanly(tls_server, server_key):
    config, ca = tls_server
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.post(f"http://127.0.0.1:{config.port}/api", data=b"{}") as reply:
                await reply.read()
    # The server keeps serving TLS clients.
    async with AsyncClient(f"https://127.0.0.1:{config.port}", server_key, ca_file=str(ca)) as c:
        assert await c.get_colonies() == []
