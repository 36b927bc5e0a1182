"""Provides folder-name rules (Backend.AI's, made strict where it is loose)."""

from __future__ import annotations

import re
import unicodedata

from bai.errors import InvalidRequest

MAX_NAME = 64
RESERVED = frozenset({".terminfo", ".jupyter", ".tmux.conf", ".ssh"})
SYSTEM_PATHS = frozenset(
    {
        "bin",
        "boot",
        "dev",
        "etc",
        "home",
        "lib",
        "lib64",
        "media",
        "mnt",
        "opt",
        "proc",
        "root",
        "run",
        "sbin",
        "srv",
        "sys",
        "tmp",
        "usr",
        "var",
    }
)
_RC = re.compile(r"^\.[a-z0-9]+rc$")
_PROFILE = re.compile(r"^\.[a-z0-9]+_profile$")


def check_folder_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidRequest("folder name must not be empty")
    if len(name) > MAX_NAME:
        raise InvalidRequest(f"folder name is {len(name)} characters; the limit is {MAX_NAME}")
    if name != name.strip():
        raise InvalidRequest(f"folder name {name!r} must not start or end with spaces")
    if "/" in name or "\\" in name:
        raise InvalidRequest(f"folder name {name!r} must not contain '/' or '\\'")
    if name in (".", ".."):
        raise InvalidRequest(f"folder name {name!r} is not allowed")
    for ch in name:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            raise InvalidRequest(
                f"folder name contains the control or invisible character U+{ord(ch):04X}"
            )
    if name in RESERVED or _RC.match(name) or _PROFILE.match(name):
        raise InvalidRequest(
            f"folder name {name!r} is reserved (it would shadow a file sessions rely on); "
            "choose another name"
        )
    if name.lower() in SYSTEM_PATHS or name.lower() == "home/work":
        raise InvalidRequest(f"folder name {name!r} is reserved for a system path")
    return name
