"""The S3 side of ColonyFS: objects in, objects out, checksums checked (docs/protocol.md §13).

Built on miniopy-async (asyncio, over the aiohttp the SDK already uses). Every failure becomes
one of the SDK's own errors with a sentence a user can act on: S3 settings missing, S3 not
reachable, credentials refused, a checksum that does not match.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO

import aiohttp
from miniopy_async.api import Minio
from miniopy_async.error import InvalidResponseError, S3Error, ServerError

from colonies.config import S3Config

#: Files up to this size go up in one PUT; larger ones in parts of this size, one part in
#: memory at a time per transfer.
PART_SIZE = 16 * 1024 * 1024
_CHUNK = 1024 * 1024
_DENIED = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AuthorizationHeaderMalformed",
}

#: Called with a number of bytes moved, for progress bars.
Progress = Callable[[int], None]

SHA256_OF_NOTHING = hashlib.sha256(b"").hexdigest()


class ColonyFSError(Exception):
    """A ColonyFS operation failed; the message says why in one line."""


class S3Unreachable(ColonyFSError):
    """No connection to the S3 endpoint, or no answer in time."""


class S3AccessDenied(ColonyFSError):
    """S3 refused the access key or secret key."""


class ChecksumMismatch(ColonyFSError):
    """Downloaded bytes do not have the checksum ColonyFS recorded; nothing was written."""


class _HashingReader:
    """A file read in worker threads, hashed as it goes (the upload and the checksum are one
    pass over the bytes)."""

    def __init__(self, f: IO[bytes], progress: Progress | None) -> None:
        self.f = f
        self.hash = hashlib.sha256()
        self.size = 0
        self.progress = progress

    def _read(self, n: int) -> bytes:
        data = self.f.read(n)
        self.hash.update(data)
        return data

    async def read(self, n: int = -1) -> bytes:
        data = await asyncio.to_thread(self._read, n)
        self.size += len(data)
        if self.progress is not None and data:
            self.progress(len(data))
        return data


def _read_whole(path: Path) -> tuple[bytes, str]:
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()


class S3Store:
    """One S3 endpoint and bucket, with a connection pool sized for ``concurrency`` transfers."""

    def __init__(self, config: S3Config, *, concurrency: int = 8) -> None:
        self.config = config
        self.bucket = config.bucket
        self.concurrency = concurrency
        self._minio: Minio | None = None
        self._session: aiohttp.ClientSession | None = None
        self._bucket_ready = False
        self._bucket_lock = asyncio.Lock()

    @property
    def where(self) -> str:
        return f"{'https' if self.config.tls else 'http'}://{self.config.endpoint}"

    def _client(self) -> Minio:
        if self._minio is None:
            context: ssl.SSLContext | bool = False
            if self.config.tls:
                context = ssl.create_default_context()
                if self.config.skip_verify:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=max(2, self.concurrency * 2), ssl=context),
                timeout=aiohttp.ClientTimeout(sock_connect=10, sock_read=120),
            )
            self._minio = Minio(
                self.config.endpoint,
                access_key=self.config.access_key,
                secret_key=self.config.secret_key,
                secure=self.config.tls,
                region=self.config.region or None,
                session=self._session,
            )
        return self._minio

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session, self._minio = None, None

    async def __aenter__(self) -> S3Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def _errors(self, what: str) -> AsyncIterator[None]:
        """Translate the S3 library's and aiohttp's failures into ColonyFS errors."""
        try:
            yield
        except ColonyFSError:
            raise
        except S3Error as exc:
            if exc.code in _DENIED:
                raise S3AccessDenied(
                    f"{what}: S3 at {self.where} refused the credentials ({exc.code}); "
                    "check AWS_S3_ACCESSKEY and AWS_S3_SECRETKEY"
                ) from None
            raise ColonyFSError(f"{what}: S3 said {exc.code}: {exc.message}") from None
        except (ServerError, InvalidResponseError) as exc:
            raise ColonyFSError(f"{what}: S3 at {self.where} failed: {exc}") from None
        except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
            raise S3Unreachable(f"{what}: TLS with S3 at {self.where} failed: {exc}") from None
        except (aiohttp.ClientConnectorError, ConnectionError) as exc:
            raise S3Unreachable(
                f"{what}: cannot reach S3 at {self.where} ({exc.strerror or exc})"
                if isinstance(exc, OSError)
                else f"{what}: cannot reach S3 at {self.where}"
            ) from None
        except (asyncio.TimeoutError, TimeoutError):
            raise S3Unreachable(f"{what}: no answer from S3 at {self.where} in time") from None
        except aiohttp.ClientError as exc:
            raise S3Unreachable(f"{what}: connection to S3 at {self.where} failed: {exc}") from None

    async def ensure_bucket(self) -> None:
        """Create the bucket when it is missing (once per store)."""
        if self._bucket_ready:
            return
        async with self._bucket_lock:
            if self._bucket_ready:
                return
            try:
                client = self._client()
                async with self._errors(f"bucket {self.bucket}"):
                    if not await client.bucket_exists(self.bucket):
                        try:
                            await client.make_bucket(self.bucket)
                        except S3Error as exc:  # made meanwhile by someone else
                            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                                raise
            except ValueError as exc:  # the library's name check
                raise ColonyFSError(f"AWS_S3_BUCKET: {exc}") from None
            self._bucket_ready = True

    # --- objects ------------------------------------------------------------------------------
    async def put_file(
        self, path: Path, key: str, progress: Progress | None = None
    ) -> tuple[str, int]:
        """Upload a file as object ``key``: (hex SHA-256 of the bytes sent, size).

        A zero-byte file makes no object (ColonyFS registers it without one).
        """
        await self.ensure_bucket()
        size = (await asyncio.to_thread(path.stat)).st_size
        if size == 0:
            return SHA256_OF_NOTHING, 0
        client = self._client()
        async with self._errors(f"upload {path.name}"):
            if size <= PART_SIZE:
                data, checksum = await asyncio.to_thread(_read_whole, path)
                await client.put_object(self.bucket, key, io.BytesIO(data), len(data))
                if progress is not None:
                    progress(len(data))
                return checksum, len(data)
            f = await asyncio.to_thread(path.open, "rb")
            try:
                reader = _HashingReader(f, progress)
                await client.put_object(
                    self.bucket, key, reader,  # type: ignore[arg-type]  # read() may be async
                    size, part_size=PART_SIZE, num_parallel_uploads=1,
                )  # fmt: skip
            finally:
                f.close()
            if reader.size != size:
                raise ColonyFSError(f"upload {path.name}: the file changed size while uploading")
            return reader.hash.hexdigest(), reader.size

    async def put_bytes(self, data: bytes, key: str) -> str:
        """Upload ``data`` as object ``key`` (nothing for zero bytes); its hex SHA-256."""
        await self.ensure_bucket()
        if data:
            async with self._errors(f"upload {key}"):
                await self._client().put_object(self.bucket, key, io.BytesIO(data), len(data))
        return hashlib.sha256(data).hexdigest()

    async def _chunks(self, bucket: str, key: str, what: str) -> AsyncIterator[bytes]:
        async with self._errors(what):
            response = await self._client().get_object(bucket or self.bucket, key)
            try:
                async for chunk in response.content.iter_chunked(_CHUNK):
                    yield chunk
            finally:
                response.close()
                response.release()

    async def get_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        checksum: str,
        size: int,
        progress: Progress | None = None,
    ) -> None:
        """Download object ``key`` to ``path`` (replaced only once the bytes check out).

        ``checksum`` is the expected hex SHA-256 ("" skips the check); ``size`` 0 means no
        object: an empty file.
        """
        what = f"download {path.name}"
        partial = path.with_name(f".{path.name}.colonyfs-part")
        digest = hashlib.sha256()
        out = await asyncio.to_thread(_open_partial, partial)
        try:
            with out:
                if size > 0:
                    async for chunk in self._chunks(bucket, key, what):
                        out.write(chunk)
                        digest.update(chunk)
                        if progress is not None:
                            progress(len(chunk))
            _check(what, key, checksum, digest.hexdigest())
            os.replace(partial, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)

    async def get_bytes(self, bucket: str, key: str, checksum: str, size: int) -> bytes:
        parts: list[bytes] = []
        if size > 0:
            async for chunk in self._chunks(bucket, key, f"download {key}"):
                parts.append(chunk)
        data = b"".join(parts)
        _check(f"download {key}", key, checksum, hashlib.sha256(data).hexdigest())
        return data

    async def remove(self, bucket: str, key: str) -> None:
        """Remove an object (removing one that is not there is not an error, as in S3)."""
        if not key:
            return
        async with self._errors(f"remove {key}"):
            await self._client().remove_object(bucket or self.bucket, key)


def _open_partial(partial: Path) -> IO[bytes]:
    partial.parent.mkdir(parents=True, exist_ok=True)
    return partial.open("wb")


def _check(what: str, key: str, expected: str, actual: str) -> None:
    if expected and expected.lower() != actual:
        raise ChecksumMismatch(
            f"{what}: checksum mismatch (S3 object {key} has SHA-256 {actual[:16]}..., "
            f"ColonyFS recorded {expected[:16]}...); nothing was written"
        )


def hash_file(path: Path) -> tuple[str, int]:
    """(hex SHA-256, size) of a local file, read in 1 MiB blocks (run it in a thread)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
