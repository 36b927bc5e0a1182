"""Provides the one error hierarchy of bai; every transport maps these to its own form.

    class                         HTTP  CLI      errno         SFTP
    BaiError                      500  exit 1   EIO           FAILURE
    ├── InvalidRequest            400  exit 65  EINVAL        BAD_MESSAGE
    │   ├── InvalidPath           400  exit 65  EINVAL        INVALID_FILENAME
    │   │   ├── NameTooLong       400  exit 65  ENAMETOOLONG  INVALID_FILENAME
    │   │   └── SymlinkLoop       400  exit 65  ELOOP         LINK_LOOP
    │   ├── NotADirectory         400  exit 65  ENOTDIR       NOT_A_DIRECTORY
    │   ├── IsADirectory          400  exit 65  EISDIR        FILE_IS_A_DIRECTORY
    │   ├── NotEmpty              400  exit 65  ENOTEMPTY     DIR_NOT_EMPTY
    │   └── NotSupported          400  exit 65  EOPNOTSUPP    OP_UNSUPPORTED
    ├── AuthFailed                401  exit 77  EACCES        PERMISSION_DENIED
    ├── Forbidden                 403  exit 77  EACCES        PERMISSION_DENIED
    │   ├── PermissionDenied      403  exit 77  EACCES        PERMISSION_DENIED
    │   └── ReadOnly              403  exit 77  EROFS         WRITE_PROTECT
    ├── NotFound                  404  exit 66  ENOENT        NO_SUCH_FILE
    ├── Conflict                  409  exit 73  EEXIST        FILE_ALREADY_EXISTS
    ├── QuotaExceeded             413  exit 73  EDQUOT        QUOTA_EXCEEDED
    ├── TooManyRequests           429  exit 75  EAGAIN        FAILURE
    ├── NoSpace                   507  exit 73  ENOSPC        NO_SPACE_ON_FILESYSTEM
    ├── ServiceUnavailable        503  exit 69  EIO           CONNECTION_LOST
    └── ConfigError               —    exit 78  EINVAL        (startup only)

Each class carries its HTTP status, CLI exit code (sysexits.h numbers), errno, SFTP status code
and the Backend.AI problem-type slug, so the official client prints our messages the way it
prints the real manager's, and the SFTP adapter raises `OSError(err.errno, err.msg)` without a
table of its own. `from_os_error` turns any OSError of a backend into one of these classes.
Messages say what was wrong and what to do; they never include secrets.
"""

from __future__ import annotations

import errno as _errno
import os
from typing import Any, ClassVar

from bai.fsnames import TO_WIRE

PROBLEM_BASE = "https://api.backend.ai/probs/"

# SFTP status codes (draft-ietf-secsh-filexfer); numbers here so the domain needs no asyncssh.
SFTP_FAILURE = 4
SFTP_NO_SUCH_FILE = 2
SFTP_PERMISSION_DENIED = 3
SFTP_BAD_MESSAGE = 5
SFTP_CONNECTION_LOST = 7
SFTP_OP_UNSUPPORTED = 8
SFTP_FILE_ALREADY_EXISTS = 11
SFTP_WRITE_PROTECT = 12
SFTP_NO_SPACE_ON_FILESYSTEM = 14
SFTP_QUOTA_EXCEEDED = 15
SFTP_DIR_NOT_EMPTY = 18
SFTP_NOT_A_DIRECTORY = 19
SFTP_INVALID_FILENAME = 20
SFTP_LINK_LOOP = 21
SFTP_FILE_IS_A_DIRECTORY = 24


class BaiError(Exception):
    """Base of every error bai reports to a user."""

    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    errno: ClassVar[int] = _errno.EIO
    sftp_status: ClassVar[int] = SFTP_FAILURE
    slug: ClassVar[str] = "internal-server-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(self, msg: str, *, data: dict[str, Any] | None = None) -> None:
        # A path of a name that is not UTF-8 shows in the one spelling JSON can carry.
        msg = msg.translate(TO_WIRE)
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
    errno = _errno.EINVAL
    sftp_status = SFTP_BAD_MESSAGE
    slug = "invalid-api-params"
    title = "Invalid API parameters"


class InvalidPath(InvalidRequest):
    sftp_status = SFTP_INVALID_FILENAME
    title = "Invalid path"


class NameTooLong(InvalidPath):
    errno = _errno.ENAMETOOLONG


class SymlinkLoop(InvalidPath):
    errno = _errno.ELOOP
    sftp_status = SFTP_LINK_LOOP


class NotADirectory(InvalidRequest):
    errno = _errno.ENOTDIR
    sftp_status = SFTP_NOT_A_DIRECTORY


class IsADirectory(InvalidRequest):
    errno = _errno.EISDIR
    sftp_status = SFTP_FILE_IS_A_DIRECTORY


class NotEmpty(InvalidRequest):
    errno = _errno.ENOTEMPTY
    sftp_status = SFTP_DIR_NOT_EMPTY


class NotSupported(InvalidRequest):
    errno = _errno.EOPNOTSUPP
    sftp_status = SFTP_OP_UNSUPPORTED


class AuthFailed(BaiError):
    status = 401
    exit_code = 77
    errno = _errno.EACCES
    sftp_status = SFTP_PERMISSION_DENIED
    slug = "auth-failed"
    title = "Authentication failed"


class Forbidden(BaiError):
    status = 403
    exit_code = 77
    errno = _errno.EACCES
    sftp_status = SFTP_PERMISSION_DENIED
    slug = "forbidden"
    title = "Forbidden operation"


class PermissionDenied(Forbidden):
    """The storage itself refused (EACCES/EPERM), not bai's permission decision."""


class ReadOnly(Forbidden):
    errno = _errno.EROFS
    sftp_status = SFTP_WRITE_PROTECT


class NotFound(BaiError):
    status = 404
    exit_code = 66
    errno = _errno.ENOENT
    sftp_status = SFTP_NO_SUCH_FILE
    slug = "object-not-found"
    title = "No such object"


class Conflict(BaiError):
    status = 409
    exit_code = 73
    errno = _errno.EEXIST
    sftp_status = SFTP_FILE_ALREADY_EXISTS
    slug = "conflict"
    title = "Conflict"


class QuotaExceeded(BaiError):
    status = 413
    exit_code = 73
    errno = _errno.EDQUOT
    sftp_status = SFTP_QUOTA_EXCEEDED
    slug = "quota-exceeded"
    title = "Quota exceeded"


class TooManyRequests(BaiError):
    status = 429
    exit_code = 75
    errno = _errno.EAGAIN
    slug = "too-many-requests"
    title = "Too many requests"


class NoSpace(BaiError):
    status = 507
    exit_code = 73
    errno = _errno.ENOSPC
    sftp_status = SFTP_NO_SPACE_ON_FILESYSTEM
    slug = "insufficient-storage"
    title = "Insufficient storage"


class ServiceUnavailable(BaiError):
    status = 503
    exit_code = 69
    sftp_status = SFTP_CONNECTION_LOST
    slug = "service-unavailable"
    title = "Service unavailable"


class ConfigError(BaiError):
    """A broken node.toml or data directory: reported once at startup, exit 78 (EX_CONFIG)."""

    exit_code = 78
    errno = _errno.EINVAL
    slug = "config-error"
    title = "Configuration error"


def from_os_error(e: OSError, what: object) -> BaiError:
    """The `BaiError` for an OSError met while acting on `what` (a path in a folder).

    Every errno a storage call can meet maps to a class that says what went wrong; only an
    errno nobody expects stays a generic (500) error, still with a message and no traceback.
    """
    code = e.errno or _errno.EIO
    reason = os.strerror(code)
    match code:
        case _errno.ENOENT:
            return NotFound(f"no such file or directory: {what}")
        case _errno.EEXIST:
            return Conflict(f"{what} already exists")
        case _errno.ENOTDIR:
            return NotADirectory(f"a component of {what} is not a directory")
        case _errno.EISDIR:
            return IsADirectory(f"{what} is a directory")
        case _errno.ENOTEMPTY:
            return NotEmpty(f"directory {what} is not empty")
        case _errno.ELOOP:
            return SymlinkLoop(
                f"{what}: too many levels of symbolic links (a symlink loop); remove or fix "
                "the link"
            )
        case _errno.ENAMETOOLONG:
            return NameTooLong(f"path {what} is too long for the filesystem")
        case _errno.EACCES | _errno.EPERM:
            return PermissionDenied(f"the storage refused access to {what}: {reason}")
        case _errno.EROFS:
            return ReadOnly(f"{what} is on read-only storage")
        case _errno.EDQUOT:
            return QuotaExceeded(
                f"quota exceeded while writing {what}; free space or ask an admin to raise "
                "the quota"
            )
        case _errno.ENOSPC:
            return NoSpace(
                f"no space left on the storage volume while writing {what}; ask an admin"
            )
        case _errno.EXDEV | _errno.EOPNOTSUPP | _errno.EINVAL:
            return NotSupported(f"the storage cannot do this with {what}: {reason}")
        case _errno.ENXIO | _errno.EAGAIN:
            return InvalidRequest(f"{what} is not a regular file that can be opened: {reason}")
    return BaiError(f"storage error on {what}: {reason}")


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
