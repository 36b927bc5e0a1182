"""Provides `Requests`: what each SFTP request does, for one logged-in caller.

Every request names a place in the caller's tree (`tree.py`) and acts through `FolderFS`,
so `bai.access` decides it and `FileIO` does it. A refusal becomes a version 3 status whose
message says why; since OpenSSH's client prints only the status code ("Failure"), refusals a
user must understand (permission, quota, a folder being deleted, a path that would leave its
folder) are also written to the session's stderr, which the client prints.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from bai.access import FolderAction, Principal
from bai.errors import (
    AuthFailed,
    BaiError,
    Conflict,
    Forbidden,
    InvalidPath,
    InvalidRequest,
    NoSpace,
    NotSupported,
    QuotaExceeded,
    from_os_error,
)
from bai.folders.models import VFolder
from bai.node import Node
from bai.server.sftp import codec as c
from bai.server.sftp.handles import Download, Handle, Listing, Upload
from bai.server.sftp.tree import ROOT_MODE, expand, place, read_only_root, root_entry
from bai.storage.base import Entry

log = logging.getLogger("bai.sftp")

_NAMES_PER_REPLY = 100  # a NAME reply stays far below the client's packet limit
_OWNER = "work"
_RETELL = 5.0  # seconds before the same refusal is written to stderr again
# Refusals a user must read; the rest (a path that does not exist, a directory that does)
# are how clients probe, and stay in the status message only.
_TELL = (Forbidden, AuthFailed, QuotaExceeded, NoSpace, InvalidPath, NotSupported)


class SessionScope:
    """The caller's folders as `FolderFS` asks for them: those of their live sessions."""

    def __init__(self, node: Node, principal: Principal) -> None:
        self.node = node
        self.principal = principal

    async def folder(self, name: str, action: FolderAction) -> VFolder:
        return await self.node.sftp.folder(self.principal, name, action)


class Requests:
    def __init__(self, node: Node, principal: Principal, say: Callable[[str], None]) -> None:
        self.node = node
        self.fs = node.fs
        self.scope = SessionScope(node, principal)
        self.say = say
        self.handles: dict[bytes, Handle] = {}
        # Files this connection is writing, by place: they appear in the folder only when
        # closed, but to this connection they exist from the moment it opened them (sshfs,
        # and so rsync into a mount, stat a file right after creating it).
        self.writing: dict[tuple[str, str], Upload] = {}
        self._next = 0
        self._said: dict[str, float] = {}  # refusals told recently, and when
        self.uid, self.gid = os.getuid(), os.getgid()

    # ---- answers ---------------------------------------------------------------------------

    def answer(self, rid: int, err: BaiError | None) -> bytes:
        if err is None:
            return c.status(rid, c.OK)
        now = time.monotonic()
        if isinstance(err, _TELL) and now - self._said.get(err.msg, -60.0) > _RETELL:
            # Once per refusal, not once for every block of a refused upload and its close.
            if len(self._said) > 256:
                self._said.clear()
            self._said[err.msg] = now
            self.say(f"bai: {err.msg}\n")
        return c.status(rid, c.v3_status(err), err.msg)

    def failure(self, rid: int, e: Exception) -> bytes:
        if isinstance(e, BaiError):
            return self.answer(rid, e)
        if isinstance(e, OSError):
            return self.answer(rid, from_os_error(e, "the request"))
        log.exception("SFTP request failed", exc_info=e)
        return c.status(rid, c.FAILURE, "internal error in the node; the node log has the details")

    def _attrs(self, mode: int, size: int, mtime: float) -> bytes:
        return c.encode_attrs(mode, size, mtime, self.uid, self.gid)

    def _entry_attrs(self, e: Entry) -> bytes:
        return self._attrs(c.mode_of(e), e.size, e.modified)

    def _names(self, rid: int, rows: list[tuple[str, int, int, float]]) -> bytes:
        body = [c.u32(len(rows))]
        for name, mode, size, mtime in rows:
            body += [
                c.string(name),
                c.string(c.longname(name, mode, size, mtime, _OWNER)),
                self._attrs(mode, size, mtime),
            ]
        return c.packet(c.NAME, rid, *body)

    def _room(self) -> None:
        """Refuse a new handle before anything is opened for it."""
        if len(self.handles) >= c.MAX_HANDLES:
            raise InvalidRequest(f"too many open files (at most {c.MAX_HANDLES} per connection)")

    def _new_handle(self, h: Handle) -> bytes:
        key = self._next.to_bytes(4, "big")
        self._next = (self._next + 1) & 0xFFFFFFFF
        self.handles[key] = h
        return key

    def _handle(self, key: bytes) -> Handle:
        h = self.handles.get(key)
        if h is None:
            raise InvalidRequest("unknown or closed handle")
        return h

    # ---- the hot path: reads and writes run side by side ------------------------------

    def read(self, rid: int, r: c.Reader, send: Callable[[bytes], None]) -> asyncio.Task[None]:
        h = self._handle(r.bytes())
        offset, length = r.offset(), min(r.u32(), c.MAX_IO)
        if not isinstance(h, Download) or h.handle is None:
            raise NotSupported("this handle was not opened for reading")
        self._activity(h)
        return h.track(h.read(rid, offset, length, send, self.failure))

    def write(self, rid: int, r: c.Reader, send: Callable[[bytes], None]) -> asyncio.Future[None]:
        h = self._handle(r.bytes())
        offset = r.offset()
        data = r.raw()
        if not isinstance(h, Upload):
            raise NotSupported("this handle was not opened for writing")
        if len(data) > c.MAX_IO:
            raise InvalidRequest(f"a write may carry at most {c.MAX_IO} bytes")
        self._activity(h)
        return h.write(rid, offset, data, send, self.answer)

    def _activity(self, h: Handle) -> None:
        # A transfer longer than the idle timeout must not end its own session.
        if h.active():
            assert h.folder_id is not None
            self.node.sftp.touch(self.scope.principal.access_key, h.folder_id)

    # ---- everything else, in the order it came -----------------------------------------

    async def handle(self, kind: int, rid: int, r: c.Reader) -> bytes:
        method = self._table.get(kind)
        if method is None:
            return c.status(rid, c.OP_UNSUPPORTED, f"request type {kind} is not supported")
        try:
            return await method(self, rid, r)
        except Exception as e:
            return self.failure(rid, e)

    async def _open(self, rid: int, r: c.Reader) -> bytes:
        where, flags, attrs = place(r.text()), r.u32(), r.attrs()
        self._room()
        if where.is_root:
            raise read_only_root("/") if flags & c.FXF_WRITE else NotSupported("/ is a directory")
        assert where.name is not None
        if not flags & c.FXF_WRITE:
            folder, handle = await self.fs.open_read(self.scope, where.name, where.rel)
            down = Download(folder_id=folder.id, name=where.name, rel=where.rel, handle=handle)
            return c.packet(c.HANDLE, rid, c.string(self._new_handle(down)))
        if where.is_top and where.name not in await self._folder_names():
            raise read_only_root(where.path)
        folder, wh, old = await self.fs.open_write(
            self.scope,
            where.name,
            where.rel,
            create=bool(flags & c.FXF_CREAT),
            truncate=bool(flags & c.FXF_TRUNC),
            exclusive=bool(flags & c.FXF_EXCL),
        )
        up = Upload(
            folder_id=folder.id,
            folder=folder,
            handle=wh,
            old=old,
            keep_on_loss=not flags & c.FXF_TRUNC,
            place=(where.name, where.rel),
        )
        self.writing[up.place] = up
        if old is not None:
            up.mode = old.mode & 0o777  # keeps its mode, as in place (never setuid/setgid)
        elif attrs.mode is not None:
            up.mode = attrs.mode & 0o755  # a new file: the client's mode under umask 022
        return c.packet(c.HANDLE, rid, c.string(self._new_handle(up)))

    async def _close(self, rid: int, r: c.Reader) -> bytes:
        key = r.bytes()
        h = self._handle(key)
        del self.handles[key]
        if isinstance(h, Upload):
            self.writing.pop(h.place, None)
            await h.finish()
            assert h.folder is not None
            try:
                await self.fs.apply_attributes(h.folder, h.rel, mode=h.mode, times=h.times)
            except NotSupported:
                if h.asked:
                    raise  # the client asked for these attributes; a default may go unset
        else:
            await h.release()
        return c.status(rid, c.OK)

    async def _stat(self, rid: int, r: c.Reader, follow: bool = True) -> bytes:
        where = place(r.text())
        if where.is_root:
            return c.packet(c.ATTRS, rid, self._attrs(ROOT_MODE, 0, 0))
        assert where.name is not None
        if (up := self.writing.get((where.name, where.rel))) is not None:
            mode, size, mtime = await up.attributes()
            return c.packet(c.ATTRS, rid, self._attrs(mode, size, mtime))
        entry = await self.fs.stat(self.scope, where.name, where.rel, follow=follow)
        return c.packet(c.ATTRS, rid, self._entry_attrs(entry))

    async def _fstat(self, rid: int, r: c.Reader) -> bytes:
        h = self._handle(r.bytes())
        await h.settle()
        if isinstance(h, Upload):
            return c.packet(c.ATTRS, rid, self._attrs(*await h.attributes()))
        if isinstance(h, Download) and h.handle is not None:
            return c.packet(c.ATTRS, rid, self._entry_attrs(h.handle.entry))
        raise NotSupported("a directory handle has no attributes here; stat its path")

    async def _setstat(self, rid: int, r: c.Reader) -> bytes:
        where, attrs = place(r.text()), r.attrs()
        if where.is_root:
            raise read_only_root("/")
        assert where.name is not None
        if (up := self.writing.get((where.name, where.rel))) is not None:
            await up.set_attributes(attrs.size, attrs.mode, attrs.times)
            return c.status(rid, c.OK)
        if attrs.size is not None:
            entry = await self.fs.stat(self.scope, where.name, where.rel)
            if entry.size != attrs.size:
                raise NotSupported("changing a file's size in place is not supported")
        await self.fs.set_attributes(
            self.scope, where.name, where.rel, mode=attrs.mode, times=attrs.times
        )
        return c.status(rid, c.OK)

    async def _fsetstat(self, rid: int, r: c.Reader) -> bytes:
        h = self._handle(r.bytes())
        attrs = r.attrs()
        if isinstance(h, Upload):
            await h.set_attributes(attrs.size, attrs.mode, attrs.times)
        elif isinstance(h, Download):
            await self.fs.set_attributes(
                self.scope, h.name, h.rel, mode=attrs.mode, times=attrs.times
            )
        else:
            raise NotSupported("set attributes of a directory by its path")
        return c.status(rid, c.OK)

    async def _opendir(self, rid: int, r: c.Reader) -> bytes:
        where = place(r.text())
        self._room()
        if where.is_root:
            listing = Listing(ready=[root_entry(f) for f in await self._folders()], done=True)
        else:
            assert where.name is not None
            batches = await self.fs.list_dir(self.scope, where.name, where.rel)
            listing = Listing(batches=batches)
        return c.packet(c.HANDLE, rid, c.string(self._new_handle(listing)))

    async def _readdir(self, rid: int, r: c.Reader) -> bytes:
        h = self._handle(r.bytes())
        if not isinstance(h, Listing):
            raise NotSupported("this handle is not a directory")
        batch = await h.next_batch(_NAMES_PER_REPLY)
        if not batch:
            return c.status(rid, c.EOF, "end of directory")
        rows = [(e.name, c.mode_of(e), e.size, e.modified) for e in batch]
        return self._names(rid, rows)

    async def _remove(self, rid: int, r: c.Reader, directory: bool = False) -> bytes:
        where = place(r.text())
        if where.is_root or where.is_top:
            raise read_only_root(where.path)
        assert where.name is not None
        await self.fs.remove(self.scope, where.name, where.rel, directory=directory)
        return c.status(rid, c.OK)

    async def _mkdir(self, rid: int, r: c.Reader) -> bytes:
        where = place(r.text())
        r.attrs()  # a new directory takes the node's default mode
        if where.is_root or where.is_top:
            if where.name in await self._folder_names():
                raise Conflict(f"{where.path} already exists")
            raise read_only_root(where.path)
        assert where.name is not None
        await self.fs.mkdir(self.scope, where.name, where.rel)
        return c.status(rid, c.OK)

    async def _realpath(self, rid: int, r: c.Reader, home: bool = False) -> bytes:
        raw = r.text()
        where = expand(raw) if home else place(raw)
        return self._names(rid, [(where.path, ROOT_MODE if where.is_root else 0, 0, 0)])

    async def _rename(self, rid: int, r: c.Reader, replace: bool = False) -> bytes:
        src, dst = place(r.text()), place(r.text())
        for where in (src, dst):
            if where.is_root or where.is_top:
                raise read_only_root(where.path)
        assert src.name is not None and dst.name is not None
        await self.fs.rename(self.scope, src.name, src.rel, dst.name, dst.rel, replace=replace)
        return c.status(rid, c.OK)

    async def _readlink(self, rid: int, r: c.Reader) -> bytes:
        where = place(r.text())
        if where.is_root:
            raise InvalidRequest("/ is not a symbolic link")
        assert where.name is not None
        entry = await self.fs.stat(self.scope, where.name, where.rel, follow=False)
        if entry.symlink_target is None:
            raise InvalidRequest(f"{where.path} is not a symbolic link")
        return self._names(rid, [(entry.symlink_target, 0o120777, 0, entry.modified)])

    async def _symlink(self, rid: int, r: c.Reader) -> bytes:
        raise NotSupported("symbolic links cannot be made over SFTP on this node")

    async def _extended(self, rid: int, r: c.Reader) -> bytes:
        name = r.text()
        if name == "posix-rename@openssh.com":
            return await self._rename(rid, r, replace=True)
        if name == "lsetstat@openssh.com":
            return await self._setstat(rid, r)
        if name == "expand-path@openssh.com":
            return await self._realpath(rid, r, home=True)
        if name == "fsync@openssh.com":
            await self._handle(r.bytes()).settle()  # closing makes the file durable anyway
            return c.status(rid, c.OK)
        if name == "limits@openssh.com":
            limits = (c.MAX_PACKET, c.MAX_IO, c.MAX_IO, c.MAX_HANDLES)
            return c.packet(c.EXTENDED_REPLY, rid, *(c.u64(n) for n in limits))
        return c.status(rid, c.OP_UNSUPPORTED, f"extension {name!r} is not supported")

    _table: ClassVar[dict[int, Callable[[Requests, int, c.Reader], Coroutine[Any, Any, bytes]]]] = {
        c.OPEN: _open,
        c.CLOSE: _close,
        c.LSTAT: lambda self, rid, r: self._stat(rid, r, follow=False),
        c.FSTAT: _fstat,
        c.SETSTAT: _setstat,
        c.FSETSTAT: _fsetstat,
        c.OPENDIR: _opendir,
        c.READDIR: _readdir,
        c.REMOVE: _remove,
        c.MKDIR: _mkdir,
        c.RMDIR: lambda self, rid, r: self._remove(rid, r, directory=True),
        c.REALPATH: _realpath,
        c.STAT: _stat,
        c.RENAME: _rename,
        c.READLINK: _readlink,
        c.SYMLINK: _symlink,
        c.EXTENDED: _extended,
    }

    # ---- the root --------------------------------------------------------------------------

    async def _folders(self) -> list[VFolder]:
        return await self.node.sftp.root(self.scope.principal)

    async def _folder_names(self) -> set[str]:
        return {f.name for f in await self._folders()}

    # ---- the end of the connection ---------------------------------------------------

    async def close_all(self) -> None:
        """The connection is gone: uploads that replaced a file are dropped (the old file
        stays), updates keep what arrived; everything else is released."""
        handles, self.handles = list(self.handles.values()), {}
        self.writing.clear()
        for h in handles:
            try:
                await (h.drop() if isinstance(h, Upload) else h.release())
            except BaiError as e:
                log.info("closing a handle of a lost SFTP connection: %s", e.msg)
            except Exception:
                log.exception("closing a handle of a lost SFTP connection failed")
