"""Requests OpenSSH's `sftp` does not send, from asyncssh's real SFTP client: what is not
supported is refused with a status (never a traceback in the node's log, which every node
fixture checks when it stops), and what is supported keeps its promises — parallel writes
out of order, exact renames, exclusive creation, long directory listings."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncssh
import pytest

from tests.harness import random_file, sha256
from tests.sftp.conftest import SftpWorld, User

pytestmark = pytest.mark.node
T = TypeVar("T")


def with_sftp(world: SftpWorld, user: User, fn: Callable[[asyncssh.SFTPClient], Awaitable[T]]) -> T:
    key = str(user.key())

    async def run() -> T:
        async with (
            asyncssh.connect(
                "127.0.0.1",
                world.node.sftp_port,
                username="work",
                client_keys=[key],
                known_hosts=str(world.known_hosts),
                agent_path=None,
            ) as conn,
            conn.start_sftp_client() as sftp,
        ):
            return await fn(sftp)

    return asyncio.run(run())


def test_protocol_edges(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    user.folder("proto")
    user.start("proto")
    src = random_file(tmp_path / "src.bin", 9 << 20)
    for i in range(250):
        (tmp_path / "many").mkdir(exist_ok=True)
        (tmp_path / "many" / f"f{i:03d}").write_text(str(i))

    async def edges(sftp: asyncssh.SFTPClient) -> None:
        # Many writes in flight, completing in any order, make the exact file.
        await sftp.put(str(src), "/proto/src.bin", block_size=64 << 10, max_requests=128)
        await sftp.get("/proto/src.bin", str(tmp_path / "back.bin"), max_requests=128)
        assert sha256(tmp_path / "back.bin") == sha256(src)
        # Writes land at their offsets, whatever order they are sent in.
        async with sftp.open("/proto/holes.bin", "wb") as f:
            await asyncio.gather(f.write(b"B" * 10, 10), f.write(b"A" * 10, 0))
        async with sftp.open("/proto/holes.bin", "rb") as f:
            assert await f.read() == b"A" * 10 + b"B" * 10
        # A listing longer than one reply arrives whole.
        await sftp.put(str(tmp_path / "many"), "/proto/", recurse=True)
        names = await sftp.listdir("/proto/many")
        assert len([n for n in names if n.startswith("f")]) == 250
        # Exclusive creation, and the two kinds of rename.
        with pytest.raises(asyncssh.SFTPFailure):
            await sftp.open("/proto/holes.bin", "xb")
        with pytest.raises(asyncssh.SFTPFailure):
            await sftp.rename("/proto/holes.bin", "/proto/src.bin")
        await sftp.posix_rename("/proto/holes.bin", "/proto/src.bin")
        assert (await sftp.stat("/proto/src.bin")).size == 20
        with pytest.raises(asyncssh.SFTPError):
            await sftp.posix_rename("/proto/src.bin", "/proto/many")
        # Not offered here: made symlinks, hard links, statvfs; writes on a read handle.
        with pytest.raises(asyncssh.SFTPOpUnsupported):
            await sftp.symlink("src.bin", "/proto/link")
        with pytest.raises(asyncssh.SFTPError):
            await sftp.link("/proto/src.bin", "/proto/hard")
        with pytest.raises(asyncssh.SFTPError):
            await sftp.statvfs("/proto")
        async with sftp.open("/proto/src.bin", "rb") as f:
            with pytest.raises(asyncssh.SFTPError):
                await f.write(b"x", 0)
            with pytest.raises(asyncssh.SFTPError):
                await f.read(10, 1 << 63)
        # The root is the session's folders; nothing else is there to see.
        assert sorted(await sftp.listdir("/")) == ["proto"]
        assert await sftp.realpath("/../../proto/../..") == "/"

    with_sftp(world, user, edges)
    assert os.path.getsize(src) == 9 << 20
