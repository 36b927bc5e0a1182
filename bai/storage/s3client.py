"""Provides S3 connections for bucket volumes: endpoints, credentials, error translation.

Everything speaks the plain S3 API through the `minio` package, so MinIO, Ceph RGW, AWS S3
and other compatible stores all work. The package is synchronous (urllib3), so every call
runs in a worker thread; `call` is the one place that does it and turns S3's errors into the
project's errors — without ever echoing credentials.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.credentials.providers import (
    ChainedProvider,
    EnvAWSProvider,
    EnvMinioProvider,
    IamAwsProvider,
    Provider,
    StaticProvider,
)
from minio.error import S3Error

from bai.errors import (
    BaiError,
    ConfigError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    ServiceUnavailable,
)

T = TypeVar("T")

# Options a `[volume.NAME.options]` table of a minio volume may hold.
OPTIONS = {
    "minio-access-key": "access key (with minio-secret-key); else the environment or an IAM role",
    "minio-secret-key": "secret key",
    "region": "the S3 region (default: asked of the server)",
    "verify-tls": "check the endpoint's TLS certificate (default true)",
    "bucket": "put every new folder under a prefix of this one bucket (default: a bucket each)",
    "prefix": "the prefix under `bucket` for new folders (default 'bai/')",
    "bucket-prefix": "name prefix of the bucket each new folder gets (default 'bai-')",
    "part-size": "multipart part size in MiB (default 16; 5 to 5120)",
    "max-mounts": "live s3fs mounts before the node warns (default 100)",
    "s3fs-options": "extra `-o` options for s3fs, comma-separated",
}


@dataclass(frozen=True)
class Endpoint:
    """Where an S3 service is and how to reach it. `secret_key` never reaches a repr."""

    url: str
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    region: str | None = None
    verify_tls: bool = True

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def secure(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    def check(self, where: str) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{where}: endpoint must be an http:// or https:// URL")
        if parts.path not in ("", "/") or parts.query:
            raise ConfigError(f"{where}: endpoint must be a bare URL (no path or query)")
        if (self.access_key is None) != (self.secret_key is None):
            raise ConfigError(f"{where}: give both minio-access-key and minio-secret-key, or none")

    def provider(self) -> Provider:
        """Static keys when given; otherwise the environment (AWS_* or MINIO_*), then the
        instance's IAM role — the seed's "wider range of authentication methods"."""
        if self.access_key is not None and self.secret_key is not None:
            return StaticProvider(self.access_key, self.secret_key)
        return ChainedProvider([EnvAWSProvider(), EnvMinioProvider(), IamAwsProvider()])

    def keys(self) -> tuple[str, str, str | None]:
        """(access key, secret key, session token) for s3fs's password file."""
        creds = self.provider().retrieve()
        if creds is None:  # pragma: no cover - providers raise instead
            raise ConfigError(f"no S3 credentials for {self.host}")
        return creds.access_key, creds.secret_key, creds.session_token

    def client(self) -> Minio:
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=10, read=300),
            maxsize=64,  # SFTP keeps many reads in flight
            cert_reqs="CERT_REQUIRED" if self.verify_tls else "CERT_NONE",
            retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503]),
        )
        if not self.verify_tls:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return Minio(
            self.host,
            secure=self.secure,
            region=self.region,
            credentials=self.provider(),
            http_client=http,
            cert_check=self.verify_tls,
        )


def volume_endpoint(name: str, url: str | None, options: Mapping[str, Any]) -> Endpoint:
    where = f"volume.{name}"
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(
            f"{where}.options: unknown option {unknown[0]!r}; known: {', '.join(sorted(OPTIONS))}"
        )
    verify = options.get("verify-tls", True)
    if not isinstance(verify, bool):
        raise ConfigError(f"{where}.options.verify-tls: must be true or false")
    ep = Endpoint(
        url=(url or "").rstrip("/"),
        access_key=_opt_str(options, "minio-access-key", where),
        secret_key=_opt_str(options, "minio-secret-key", where),
        region=_opt_str(options, "region", where),
        verify_tls=verify,
    )
    ep.check(where)
    return ep


def _opt_str(options: Mapping[str, Any], key: str, where: str) -> str | None:
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.options.{key}: must be a non-empty string")
    return value


def normalize_endpoint(url: str) -> str:
    """An S3 endpoint a user gave (an import's): a bare http(s) URL, nothing that could
    smuggle options into s3fs's comma-separated `-o url=…`."""
    parts = urlsplit(url.strip())
    bad = any(ch in url for ch in ",\n\r\t ")
    if bad or parts.scheme not in ("http", "https") or not parts.netloc or parts.username:
        raise InvalidRequest(f"{url!r} is not an S3 endpoint; give a bare http(s)://HOST[:PORT]")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidRequest(f"{url!r} has a path or query; give a bare http(s)://HOST[:PORT]")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def env_has_keys() -> bool:
    return any(os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "MINIO_ACCESS_KEY"))


_S3_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NoSuchPrefix"}
_S3_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}


def translate(e: BaseException, what: str) -> BaiError:
    """An S3 or network failure as one of the project's errors; `what` names the object
    in the folder's own terms (never a key with the folder's location or a credential)."""
    if isinstance(e, BaiError):
        return e
    if isinstance(e, S3Error):
        if e.code in _S3_NOT_FOUND:
            return NotFound(f"{what} does not exist")
        if e.code in _S3_DENIED:
            return Forbidden(
                f"the S3 service refused access to {what} ({e.code}); check the credentials "
                "of the storage host or of the imported bucket"
            )
        if e.code in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
            return Conflict(f"{what}: the bucket already exists")
        if e.code in ("EntityTooLarge", "EntityTooSmall", "InvalidPart", "InvalidPartOrder"):
            return InvalidRequest(f"{what}: the S3 service refused the upload ({e.code})")
        return ServiceUnavailable(f"the S3 service failed on {what} ({e.code}); try again")
    if isinstance(e, (urllib3.exceptions.HTTPError, OSError)):
        return ServiceUnavailable(
            f"the S3 service is unreachable while working on {what}; try again later"
        )
    raise e


async def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one blocking S3 call in a worker thread, errors translated."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except (S3Error, urllib3.exceptions.HTTPError, OSError) as e:
        raise translate(e, what) from None
