"""Provides path confinement: turning a user's path into a safe path relative to a folder.

Refused with `InvalidPath` (HTTP 400), before anything on disk is touched: absolute paths,
`..` components, NUL and other control characters, Unicode format characters (bidi
overrides, zero-width joiners) and line separators, lone surrogates, and components longer
than 255 bytes. Symlinks are checked where a path meets the disk (`bai.storage.vfs`).
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

from bai.errors import InvalidPath

MAX_PATH = 4096
MAX_NAME_BYTES = 255
_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def check_name(name: str, what: str = "file name") -> str:
    """One path component (also used for rename targets)."""
    if name in ("", ".", ".."):
        raise InvalidPath(f"{what} {name!r} is not allowed")
    if "/" in name:
        raise InvalidPath(f"{what} {name!r} must not contain '/'")
    for ch in name:
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            raise InvalidPath(
                f"{what} {name!r} contains the invisible or control character "
                f"U+{ord(ch):04X}; rename it without that character"
            )
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidPath(f"{what} {name!r} is not valid Unicode") from None
    if size > MAX_NAME_BYTES:
        raise InvalidPath(f"{what} is {size} bytes long; the limit is {MAX_NAME_BYTES} bytes")
    return name


def clean_relpath(raw: str) -> PurePosixPath:
    """A path inside a folder: `""` and `"."` are its top; `./a//b/` is `a/b`."""
    if not isinstance(raw, str):
        raise InvalidPath("path must be a string")
    if len(raw) > MAX_PATH:
        raise InvalidPath(f"path is longer than {MAX_PATH} characters")
    if raw.startswith("/"):
        raise InvalidPath(
            f"absolute path {raw!r} is not allowed; give a path relative to the folder's top"
        )
    parts = []
    for part in raw.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise InvalidPath(f"path {raw!r} climbs out with '..'; paths stay inside the folder")
        parts.append(check_name(part, "path component"))
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def is_top(rel: PurePosixPath) -> bool:
    return rel == PurePosixPath(".")
