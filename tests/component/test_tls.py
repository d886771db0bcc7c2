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


async def test_a_renewed_certificate_is_served_without_a_restart(
    db_url, server_key, tmp_path, monkeypatch
):
    """The certificate files change (a Secret update swaps the files): new connections get the
    new certificate; a broken pair is not loaded and the old one stays."""
    import hashlib
    import ssl

    from colonies.server import run

    monkeypatch.setattr(run, "CERTIFICATE_CHECK_INTERVAL", 0.1)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _, cert1, key1 = await asyncio.to_thread(make_ca_and_certificate, first)
    _, cert2, key2 = await asyncio.to_thread(make_ca_and_certificate, second)
    live = tmp_path / "live"
    live.mkdir()
    (live / "tls.crt").write_bytes(cert1.read_bytes())
    (live / "tls.key").write_bytes(key1.read_bytes())
    config = make_config(
        db_url, server_key, tls_cert=str(live / "tls.crt"), tls_key=str(live / "tls.key")
    )
    stop = asyncio.Event()
    serving = asyncio.create_task(run.serve(config, stop))

    async def served_fingerprint() -> str:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        _, writer = await asyncio.open_connection("127.0.0.1", config.port, ssl=context)
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        return hashlib.sha256(der).hexdigest()

    def fingerprint(pem: Path) -> str:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.read_text())).hexdigest()

    async def until(expected: str) -> None:
        for _ in range(100):
            try:
                if await served_fingerprint() == expected:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError("the expected certificate is not served")

    try:
        await until(fingerprint(cert1))
        # A broken pair (the new certificate with the old key) is refused: still the first.
        (live / "tls.crt").write_bytes(cert2.read_bytes())
        await asyncio.sleep(0.5)
        assert await served_fingerprint() == fingerprint(cert1)
        # The whole renewal: the second certificate, without a restart.
        (live / "tls.key").write_bytes(key2.read_bytes())
        await until(fingerprint(cert2))
        assert not serving.done()
    finally:
        stop.set()
        await asyncio.wait_for(serving, 15)
