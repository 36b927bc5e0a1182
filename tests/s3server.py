"""A real S3-compatible server process for the tests: `moto_server` from `moto[server]`.

The MinIO server binary is not in the registries this project may use; moto speaks the same
S3 API (buckets, multipart uploads, copies, batched deletes) over HTTP on a local port.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field

ACCESS_KEY = "baitestaccess"
SECRET_KEY = "baitestsecret-do-not-log-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class S3Server:
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> S3Server:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}")
            try:
                urllib.request.urlopen(self.url + "/", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not answer within 30 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def client(self):  # type: ignore[no-untyped-def]
        from minio import Minio

        return Minio(
            f"127.0.0.1:{self.port}", access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False
        )

    def volume_toml(self, name: str = "minio", extra: str = "") -> str:
        """The seed's `[volume.minio]` block, pointed at this server."""
        return (
            f'[volume.{name}]\nbackend = "minio"\nendpoint = "{self.url}"\n\n'
            f'[volume.{name}.options]\nminio-access-key = "{ACCESS_KEY}"\n'
            f'minio-secret-key = "{SECRET_KEY}"\n{extra}'
        )
