"""Provides the SFTP version 3 wire format (draft-ietf-secsh-filexfer-02, what OpenSSH
speaks): packet types, flags, status codes, and the encoders and decoder of packet fields.
"""

from __future__ import annotations

import stat
import struct
import time
from dataclasses import dataclass

from bai.errors import BaiError, InvalidRequest
from bai.storage.base import Entry

VERSION = 3
# What this server advertises (limits@openssh.com): OpenSSH's own server's sizes; larger
# blocks measured slower here, and OpenSSH's client never asks for more anyway.
MAX_PACKET = 256 * 1024
MAX_IO = MAX_PACKET - 1024  # read and write lengths: a DATA packet's header must fit too
MAX_HANDLES = 1024
EXTENSIONS = (
    ("posix-rename@openssh.com", "1"),
    ("fsync@openssh.com", "1"),
    ("lsetstat@openssh.com", "1"),
    ("limits@openssh.com", "1"),
    ("expand-path@openssh.com", "1"),
)

# Packet types.
INIT, VERSION_REPLY, OPEN, CLOSE, READ, WRITE, LSTAT, FSTAT = 1, 2, 3, 4, 5, 6, 7, 8
SETSTAT, FSETSTAT, OPENDIR, READDIR, REMOVE, MKDIR, RMDIR = 9, 10, 11, 12, 13, 14, 15
REALPATH, STAT, RENAME, READLINK, SYMLINK = 16, 17, 18, 19, 20
STATUS, HANDLE, DATA, NAME, ATTRS = 101, 102, 103, 104, 105
EXTENDED, EXTENDED_REPLY = 200, 201

# Status codes of version 3; later versions' codes mean nothing to a version 3 client
# (OpenSSH prints "Unknown status"), so `v3_status` folds them into these.
OK, EOF, NO_SUCH_FILE, PERMISSION_DENIED, FAILURE, BAD_MESSAGE = 0, 1, 2, 3, 4, 5
NO_CONNECTION, CONNECTION_LOST, OP_UNSUPPORTED = 6, 7, 8
_FOLD = {
    11: FAILURE,  # file already exists
    12: PERMISSION_DENIED,  # write protect
    14: FAILURE,  # no space on file system
    15: FAILURE,  # quota exceeded
    18: FAILURE,  # directory not empty
    19: NO_SUCH_FILE,  # not a directory (OpenSSH's server says so for ENOTDIR)
    20: PERMISSION_DENIED,  # invalid file name: a path that would leave its folder
    21: NO_SUCH_FILE,  # link loop
    24: FAILURE,  # file is a directory
}

# OPEN flags.
FXF_READ, FXF_WRITE, FXF_APPEND, FXF_CREAT, FXF_TRUNC, FXF_EXCL = 1, 2, 4, 8, 16, 32

# Attribute flags.
ATTR_SIZE, ATTR_UIDGID, ATTR_PERMISSIONS, ATTR_ACMODTIME = 1, 2, 4, 8
ATTR_EXTENDED = 0x80000000

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_HEADER = struct.Struct(">IBI")  # length, type, request id


class Malformed(Exception):
    """A packet that does not parse: the connection is closed (the stream is lost)."""


def v3_status(err: BaiError) -> int:
    code = err.sftp_status
    return code if code <= OP_UNSUPPORTED else _FOLD.get(code, FAILURE)


def u32(n: int) -> bytes:
    return _U32.pack(n)


def u64(n: int) -> bytes:
    return _U64.pack(n)


def string(data: bytes | str) -> bytes:
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    return _U32.pack(len(raw)) + raw


def packet(kind: int, rid: int, *fields: bytes) -> bytes:
    """One whole packet: length, type, request id, fields."""
    body = b"".join(fields)
    return _HEADER.pack(len(body) + 5, kind, rid) + body


def data_header(rid: int, size: int) -> bytes:
    """The head of a DATA packet whose `size` payload bytes follow separately (no copy)."""
    return _HEADER.pack(size + 9, DATA, rid) + _U32.pack(size)


def status(rid: int, code: int, message: str = "") -> bytes:
    return packet(STATUS, rid, u32(code), string(message), string(""))


class Reader:
    """Fields of one packet, read in order."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes | memoryview, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos

    def u32(self) -> int:
        end = self.pos + 4
        if end > len(self.buf):
            raise Malformed("packet ends inside a field")
        (n,) = _U32.unpack_from(self.buf, self.pos)
        self.pos = end
        return int(n)

    def u64(self) -> int:
        end = self.pos + 8
        if end > len(self.buf):
            raise Malformed("packet ends inside a field")
        (n,) = _U64.unpack_from(self.buf, self.pos)
        self.pos = end
        return int(n)

    def offset(self) -> int:
        """A file offset: the OS takes signed 64-bit ones, and no file reaches 2**62."""
        n = self.u64()
        if n > 1 << 62:
            raise InvalidRequest(f"offset {n} is beyond any file")
        return n

    def raw(self) -> memoryview:
        """A string field as a view of the packet (write data is never copied here)."""
        n = self.u32()
        end = self.pos + n
        if end > len(self.buf):
            raise Malformed("packet ends inside a string")
        view = memoryview(self.buf)[self.pos : end]
        self.pos = end
        return view

    def bytes(self) -> bytes:
        return bytes(self.raw())

    def text(self) -> str:
        # Names travel as bytes; bytes that are not UTF-8 survive the round trip.
        return self.bytes().decode("utf-8", "surrogateescape")

    def attrs(self) -> Attrs:
        flags = self.u32()
        size = self.u64() if flags & ATTR_SIZE else None
        if flags & ATTR_UIDGID:
            self.u32(), self.u32()  # owners are the node's; a request cannot change them
        mode = self.u32() if flags & ATTR_PERMISSIONS else None
        times = None
        if flags & ATTR_ACMODTIME:
            atime = self.u32()
            times = (float(atime), float(self.u32()))
        if flags & ATTR_EXTENDED:
            for _ in range(self.u32()):
                self.raw(), self.raw()
        return Attrs(size, mode, times, bool(flags & ATTR_UIDGID))


@dataclass(frozen=True)
class Attrs:
    """What a request asks to set (None: leave as is)."""

    size: int | None = None
    mode: int | None = None
    times: tuple[float, float] | None = None
    owner: bool = False  # a uid/gid was given


_KIND_BITS = {
    "FILE": stat.S_IFREG,
    "DIRECTORY": stat.S_IFDIR,
    "SYMLINK": stat.S_IFLNK,
    "FIFO": stat.S_IFIFO,
    "SOCKET": stat.S_IFSOCK,
    "DEVICE": stat.S_IFCHR,
}


def mode_of(entry: Entry) -> int:
    return _KIND_BITS.get(entry.type, stat.S_IFREG) | stat.S_IMODE(entry.mode)


def encode_attrs(mode: int, size: int, mtime: float, uid: int, gid: int) -> bytes:
    when = int(mtime) & 0xFFFFFFFF
    return (
        u32(ATTR_SIZE | ATTR_UIDGID | ATTR_PERMISSIONS | ATTR_ACMODTIME)
        + u64(max(size, 0))
        + u32(uid)
        + u32(gid)
        + u32(mode)
        + u32(when)
        + u32(when)
    )


def longname(name: str, mode: int, size: int, mtime: float, owner: str) -> str:
    """`ls -l`'s line, which OpenSSH's `ls -l` prints as the server sends it."""
    age = time.time() - mtime
    fmt = "%b %e %H:%M" if 0 <= age < 182 * 86400 else "%b %e  %Y"
    when = time.strftime(fmt, time.localtime(mtime))
    links = 2 if stat.S_ISDIR(mode) else 1
    return f"{stat.filemode(mode)} {links:>4} {owner:<8} {owner:<8} {size:>12} {when} {name}"
