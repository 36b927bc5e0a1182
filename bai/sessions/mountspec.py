"""Provides Backend.AI's mount-spec grammar and the rules for where a folder may be mounted.

A spec is `NAME`, `NAME:PATH`, `NAME=PATH`, or the key-value form
`type=bind,source=NAME,target=PATH,perm=ro`; `\\,`, `\\:`, `\\=` and `\\\\` escape the
separators inside names and paths. Without a target a folder goes to `/home/work/NAME`; a
relative target goes under `/home/work/`; an absolute target is used as is unless it is a
system path of the image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from bai.enums import Permission
from bai.errors import InvalidRequest

HOME = PurePosixPath("/home/work")
PIPELINE = PurePosixPath("/pipeline")
# Paths a folder may never cover: the image's system directories and what the sandbox
# itself provides (a folder over /tmp or /proc would hide what programs rely on).
RESERVED = frozenset(
    PurePosixPath(p)
    for p in (
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32",
        "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
    )
)  # fmt: skip
_KEYS = {
    "type": "type",
    "source": "source",
    "src": "source",
    "target": "target",
    "dst": "target",
    "destination": "target",
    "perm": "perm",
    "permission": "perm",
}


@dataclass(frozen=True)
class MountRequest:
    """One `-m` argument: a folder (name or id), where to mount it, and how."""

    source: str
    target: str | None = None
    perm: Permission | None = None  # None: what the caller holds (ro stays ro)


def _split(text: str, sep: str, maxsplit: int = -1) -> list[str]:
    """Split on unescaped `sep`, keeping escapes for `_unescape`."""
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            if text[i + 1] not in ",:=\\":
                raise InvalidRequest(
                    f"unknown escape '\\{text[i + 1]}' in mount spec; only \\, \\: \\= and "
                    "\\\\ are escapes"
                )
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _is_key_value(text: str) -> bool:
    if len(_split(text, ",")) > 1:
        return True
    key = _split(text, "=", 1)[0]
    return key in ("type", "source", "src")


def parse_mount_spec(text: str) -> MountRequest:
    """One spec as the user typed it; refuses what it cannot read, saying how to write it."""
    if not text or not text.strip():
        raise InvalidRequest("empty mount spec; write NAME, NAME:PATH or NAME=PATH")
    if _is_key_value(text):
        return _parse_key_value(text)
    parts = _split(text, "=", 1)
    if len(parts) == 1:
        parts = _split(text, ":", 1)
    source = _unescape(parts[0])
    target = _unescape(parts[1]) if len(parts) == 2 else None
    if not source:
        raise InvalidRequest(f"mount spec {text!r} names no folder; write NAME:PATH")
    if target == "":
        raise InvalidRequest(f"mount spec {text!r} has an empty path after the folder name")
    return MountRequest(source, target)


def _parse_key_value(text: str) -> MountRequest:
    values: dict[str, str] = {}
    for item in _split(text, ","):
        kv = _split(item, "=", 1)
        if len(kv) != 2:
            raise InvalidRequest(
                f"mount spec item {item!r} is not KEY=VALUE; write "
                "type=bind,source=NAME,target=PATH,perm=ro"
            )
        key = _KEYS.get(kv[0].strip().lower())
        if key is None:
            raise InvalidRequest(
                f"unknown mount spec key {kv[0]!r}; use type, source, target and perm"
            )
        if key in values:
            raise InvalidRequest(f"mount spec key {key!r} is given twice in {text!r}")
        values[key] = _unescape(kv[1])
    if values.get("type", "bind") != "bind":
        raise InvalidRequest(f"mount type {values['type']!r} is not supported; use type=bind")
    source = values.get("source")
    if not source:
        raise InvalidRequest(f"mount spec {text!r} has no source=NAME")
    perm = values.get("perm")
    if perm is not None and perm not in ("ro", "rw"):
        raise InvalidRequest(f"mount permission {perm!r} is not ro or rw")
    target = values.get("target")
    if target == "":
        raise InvalidRequest(f"mount spec {text!r} has an empty target")
    return MountRequest(source, target, Permission(perm) if perm else None)


def merge_requests(specs: Iterable[str], mount_map: dict[str, str]) -> list[MountRequest]:
    """The official client sends names in `mounts` and paths in `mount_map`; bai sends specs.
    Both become one list; a folder named twice is refused."""
    out: list[MountRequest] = []
    for spec in specs:
        req = parse_mount_spec(spec)
        if req.target is None and req.source in mount_map:
            req = MountRequest(req.source, mount_map[req.source], req.perm)
        out.append(req)
    named = {r.source for r in out}
    for name, target in mount_map.items():
        if name not in named:
            out.append(MountRequest(name, target))
    seen: set[str] = set()
    for r in out:
        if r.source in seen:
            raise InvalidRequest(f"folder {r.source!r} is mounted twice; mount it once")
        seen.add(r.source)
    return out


def resolve_target(name: str, target: str | None) -> PurePosixPath:
    """Where a folder appears inside the sandbox."""
    if target is None:
        return HOME / name
    path = PurePosixPath(target)
    if ".." in path.parts:
        raise InvalidRequest(f"mount path {target!r} may not contain '..'")
    if "\0" in target:
        raise InvalidRequest("mount path may not contain NUL characters")
    if not path.is_absolute():
        if path == PurePosixPath("."):
            raise InvalidRequest(f"mount path {target!r} names /home/work itself")
        return HOME / path
    if path == HOME or path in RESERVED or any(path.is_relative_to(r) for r in _SYSTEM_TREES):
        raise InvalidRequest(
            f"mount path {target!r} is a system path of the sandbox; choose a path under "
            "/home/work or a new top-level directory such as /data"
        )
    return path


# Whole trees a folder may not go inside; /home is allowed only below /home/work.
_SYSTEM_TREES = tuple(r for r in RESERVED if r not in (PurePosixPath("/"), PurePosixPath("/home")))


def check_targets(targets: Iterable[tuple[str, PurePosixPath]]) -> None:
    """Refuse two mounts at one path, or one inside another."""
    seen: list[tuple[str, PurePosixPath]] = []
    for name, path in targets:
        if path.parent == PurePosixPath("/home") or (
            path.is_relative_to("/home") and not path.is_relative_to(HOME)
        ):
            raise InvalidRequest(f"mount path {str(path)!r} for {name!r} must be under /home/work")
        for other, opath in seen:
            if path == opath or path.is_relative_to(opath) or opath.is_relative_to(path):
                raise InvalidRequest(
                    f"mount paths overlap: {name!r} at {path} and {other!r} at {opath}; "
                    "give each folder its own path"
                )
        seen.append((name, path))
