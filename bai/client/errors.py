"""Provides the client's own failures: an unreachable node and local file problems.

`NodeUnreachable` is the only failure worth retrying (the connection failed or dropped); an
error *answer* of the node (4xx/5xx) is rebuilt as its `bai.errors` class and never retried.
"""

from __future__ import annotations

from pathlib import Path

from bai.errors import BaiError, ServiceUnavailable


class NodeUnreachable(ServiceUnavailable):
    """No answer: the connection was refused, timed out, or dropped mid-transfer."""


class LocalFileError(BaiError):
    """A file or directory on this machine could not be read or written."""

    exit_code = 74  # EX_IOERR
    slug = "local-file-error"
    title = "Local file error"


class CannotCreate(LocalFileError):
    """A local output file or directory cannot be created."""

    exit_code = 73  # EX_CANTCREAT


def local_error(e: OSError, what: object) -> LocalFileError:
    return LocalFileError(f"{what}: {e.strerror or type(e).__name__}")


def ensure_dir(path: Path) -> None:
    """Create a local directory (and its parents) for output, or say in one line why not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise CannotCreate(f"cannot create directory {path}: a file is in the way") from None
    except OSError as e:
        raise CannotCreate(
            f"cannot create directory {path}: {e.strerror or type(e).__name__}"
        ) from None
