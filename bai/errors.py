"""Provides the one error hierarchy of bai; every transport maps these to its own form.

    BaiError                      500  exit 1   SFTP FAILURE
    ├── InvalidRequest            400  exit 65  SFTP BAD_MESSAGE
    │   └── InvalidPath           400  exit 65  SFTP INVALID_FILENAME … (NO_SUCH_FILE for v3)
    ├── AuthFailed                401  exit 77  SFTP PERMISSION_DENIED
    ├── Forbidden                 403  exit 77  SFTP PERMISSION_DENIED
    ├── NotFound                  404  exit 66  SFTP NO_SUCH_FILE
    ├── Conflict                  409  exit 73  SFTP FILE_ALREADY_EXISTS
    ├── QuotaExceeded             413  exit 73  SFTP QUOTA_EXCEEDED
    ├── TooManyRequests           429  exit 75  SFTP FAILURE
    ├── ServiceUnavailable        503  exit 69  SFTP CONNECTION_LOST
    └── ConfigError               —    exit 78  (startup only)

Each class carries its HTTP status, CLI exit code (sysexits.h numbers), SFTP status code and the
Backend.AI problem-type slug, so the official client prints our messages the way it prints the
real manager's. Messages say what was wrong and what to do; they never include secrets.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://api.backend.ai/probs/"

# SFTP status codes (draft-ietf-secsh-filexfer); numbers here so the domain needs no asyncssh.
SFTP_FAILURE = 4
SFTP_NO_SUCH_FILE = 2
SFTP_PERMISSION_DENIED = 3
SFTP_BAD_MESSAGE = 5
SFTP_CONNECTION_LOST = 7
SFTP_FILE_ALREADY_EXISTS = 11
SFTP_QUOTA_EXCEEDED = 15
SFTP_INVALID_FILENAME = 20


class BaiError(Exception):
    """Base of every error bai reports to a user."""

    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    sftp_status: ClassVar[int] = SFTP_FAILURE
    slug: ClassVar[str] = "internal-server-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(self, msg: str, *, data: dict[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.data = data or {}

    @property
    def problem_type(self) -> str:
        return PROBLEM_BASE + self.slug

    def to_problem(self) -> dict[str, Any]:
        """The Backend.AI JSON problem body (`type`, `title`, `msg`, optional `data`)."""
        body: dict[str, Any] = {"type": self.problem_type, "title": self.title, "msg": self.msg}
        if self.data:
            body["data"] = self.data
        return body

    def __str__(self) -> str:
        return self.msg


class InvalidRequest(BaiError):
    status = 400
    exit_code = 65
    sftp_status = SFTP_BAD_MESSAGE
    slug = "invalid-api-params"
    title = "Invalid API parameters"


class InvalidPath(InvalidRequest):
    sftp_status = SFTP_INVALID_FILENAME
    title = "Invalid path"


class AuthFailed(BaiError):
    status = 401
    exit_code = 77
    sftp_status = SFTP_PERMISSION_DENIED
    slug = "auth-failed"
    title = "Authentication failed"


class Forbidden(BaiError):
    status = 403
    exit_code = 77
    sftp_status = SFTP_PERMISSION_DENIED
    slug = "forbidden"
    title = "Forbidden operation"


class NotFound(BaiError):
    status = 404
    exit_code = 66
    sftp_status = SFTP_NO_SUCH_FILE
    slug = "object-not-found"
    title = "No such object"


class Conflict(BaiError):
    status = 409
    exit_code = 73
    sftp_status = SFTP_FILE_ALREADY_EXISTS
    slug = "conflict"
    title = "Conflict"


class QuotaExceeded(BaiError):
    status = 413
    exit_code = 73
    sftp_status = SFTP_QUOTA_EXCEEDED
    slug = "quota-exceeded"
    title = "Quota exceeded"


class TooManyRequests(BaiError):
    status = 429
    exit_code = 75
    slug = "too-many-requests"
    title = "Too many requests"


class ServiceUnavailable(BaiError):
    status = 503
    exit_code = 69
    sftp_status = SFTP_CONNECTION_LOST
    slug = "service-unavailable"
    title = "Service unavailable"


class ConfigError(BaiError):
    """A broken node.toml or data directory: reported once at startup, exit 78 (EX_CONFIG)."""

    exit_code = 78
    slug = "config-error"
    title = "Configuration error"


_BY_SLUG_AND_STATUS: dict[tuple[str, int], type[BaiError]] = {}
_BY_STATUS: dict[int, type[BaiError]] = {}


def _register(cls: type[BaiError]) -> None:
    _BY_SLUG_AND_STATUS.setdefault((cls.slug, cls.status), cls)
    _BY_STATUS.setdefault(cls.status, cls)
    for sub in cls.__subclasses__():
        _register(sub)


_register(BaiError)


def from_problem(status: int, body: Any) -> BaiError:
    """Rebuild a `BaiError` from an HTTP error response (used by `bai.client`)."""
    if isinstance(body, dict) and isinstance(body.get("type"), str):
        slug = body["type"].rsplit("/", 1)[-1]
        msg = str(body.get("msg") or body.get("title") or f"HTTP {status}")
        data = body.get("data") if isinstance(body.get("data"), dict) else None
        cls = _BY_SLUG_AND_STATUS.get((slug, status)) or _BY_STATUS.get(status, BaiError)
        if body.get("title") == InvalidPath.title and cls is InvalidRequest:
            cls = InvalidPath
        return cls(msg, data=data)
    cls = _BY_STATUS.get(status, BaiError)
    return cls(f"HTTP {status}: {str(body)[:200]}")
