"""Provides `TarBatch`: an incremental reader of a tar stream of whole small files (bai's own
`POST /upload` with `Content-Type: application/x-tar`, many files per request).

The stream is hostile until proven otherwise. Only regular files are taken: a symlink, hard
link, device, FIFO, directory or any other entry refuses the whole request (400), as do a bad
header checksum, sizes beyond the batch's bounds, pax or GNU long-name records that are too
long or malformed, names that are not UTF-8, and a stream that ends before its end-of-archive
blocks. The caller confines every name (`bai.paths.clean_relpath`) and commits the files only
after `finish` has accepted the whole stream, so a request cut short leaves nothing.
Memory is bounded by the batch's limits: bytes are consumed as they arrive and only the
members' data is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from bai.errors import InvalidRequest

BLOCK = 512
MAX_FILES = 1024
MAX_BYTES = 64 << 20  # the members' data in one request
_MAX_META = 64 << 10  # a pax record set or a GNU long name
_REGULAR = (b"0", b"\x00")
_KINDS = {
    b"1": "hard link",
    b"2": "symlink",
    b"3": "character device",
    b"4": "block device",
    b"5": "directory",
    b"6": "FIFO",
    b"7": "contiguous file",
    b"g": "global pax header",
    b"S": "sparse file",
}


@dataclass(frozen=True)
class TarMember:
    name: str
    data: bytes


def _octal(field: bytes, what: str) -> int:
    if field[:1] and field[0] & 0x80:
        raise InvalidRequest(f"tar {what} in base-256 is not accepted (too large for a batch)")
    text = field.split(b"\x00", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise InvalidRequest(f"tar header has a malformed {what} field") from None


def _text(raw: bytes, what: str) -> str:
    if b"\x00" in raw:
        raise InvalidRequest(f"tar {what} contains NUL")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(f"tar {what} {raw!r} is not UTF-8; rename the file") from None


def _pax(raw: bytes) -> dict[bytes, bytes]:
    """pax extended header records: `LEN KEY=VALUE\\n`."""
    out: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(raw):
        if raw[pos:].strip(b"\x00") == b"":
            break
        space = raw.find(b" ", pos)
        if space < 0 or not raw[pos:space].isdigit():
            raise InvalidRequest("tar pax header is malformed")
        length = int(raw[pos:space])
        record = raw[space + 1 : pos + length]
        if length <= space - pos or not record.endswith(b"\n") or b"=" not in record:
            raise InvalidRequest("tar pax header is malformed")
        key, _, value = record[:-1].partition(b"=")
        out[key] = value
        pos += length
    return out


class TarBatch:
    """Feed bytes as they arrive; `finish` returns the members of a complete archive."""

    def __init__(self, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> None:
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.members: list[TarMember] = []
        self.bytes = 0
        self._buf = bytearray()
        self._pos = 0
        self._ended = False
        self._pending: tuple[bytes, int, int] | None = None  # (typeflag, size, padded)
        self._name: str | None = None  # from a pax or GNU long-name record
        self._header: bytes = b""

    def feed(self, data: bytes) -> None:
        if self._ended:
            return  # whatever follows the end-of-archive blocks is padding
        self._buf += data
        while not self._ended and self._step():
            pass
        if self._pos > (1 << 20):
            del self._buf[: self._pos]
            self._pos = 0

    def finish(self) -> list[TarMember]:
        if not self._ended:
            raise InvalidRequest(
                "the tar stream ended before its end-of-archive blocks (cut short?); "
                "nothing was written: send the batch again"
            )
        return self.members

    def _available(self) -> int:
        return len(self._buf) - self._pos

    def _step(self) -> bool:
        if self._pending is None:
            if self._available() < BLOCK:
                return False
            block = bytes(self._buf[self._pos : self._pos + BLOCK])
            self._pos += BLOCK
            if block == b"\x00" * BLOCK:
                if self._name is not None:
                    raise InvalidRequest("tar stream ends after a long-name record")
                self._ended = True
                return False
            self._header = block
            self._pending = self._parse(block)
            return True
        flag, size, padded = self._pending
        if self._available() < padded:
            return False
        data = bytes(self._buf[self._pos : self._pos + size])
        self._pos += padded
        self._pending = None
        if flag == b"x":
            fields = _pax(data)
            if b"path" in fields:
                self._name = _text(fields[b"path"], "name")
            if b"size" in fields:
                raise InvalidRequest("tar pax `size` records are not accepted in a batch")
        elif flag == b"L":
            self._name = _text(data.rstrip(b"\x00"), "name")
        else:
            name = self._name if self._name is not None else self._header_name(self._header)
            self._name = None
            self.members.append(TarMember(name, data))
        return True

    def _parse(self, block: bytes) -> tuple[bytes, int, int]:
        expected = _octal(block[148:156], "checksum")
        if sum(block[:148]) + 8 * 32 + sum(block[156:]) != expected:
            raise InvalidRequest("a tar header's checksum is wrong (not a tar stream, or damaged)")
        flag = block[156:157]
        size = _octal(block[124:136], "size")
        if flag in (b"x", b"L"):
            if size > _MAX_META:
                raise InvalidRequest("a tar long-name or pax record is too long")
        elif flag in _REGULAR:
            if len(self.members) >= self.max_files:
                raise InvalidRequest(
                    f"a batch holds at most {self.max_files} files; send the rest in another"
                )
            self.bytes += size
            if self.bytes > self.max_bytes:
                raise InvalidRequest(
                    f"a batch holds at most {self.max_bytes} bytes of files; send fewer at once"
                )
        else:
            kind = _KINDS.get(flag, f"entry of type {flag!r}")
            name = self._name if self._name is not None else self._header_name(block)
            raise InvalidRequest(
                f"tar entry {name!r} is a {kind}; only regular files can be uploaded in a "
                "batch; nothing was written"
            )
        return flag, size, -(-size // BLOCK) * BLOCK

    @staticmethod
    def _header_name(block: bytes) -> str:
        name = block[0:100].split(b"\x00", 1)[0]
        if block[257:262] == b"ustar" and block[263:265] == b"00":  # POSIX ustar: a prefix
            prefix = block[345:500].split(b"\x00", 1)[0]
            if prefix:
                name = prefix + b"/" + name
        return _text(name, "name")
