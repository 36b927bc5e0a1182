"""The contract every volume backend passes (parametrized over the backends this build has)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

import pytest

from bai.config import VolumeConfig
from bai.errors import Conflict, InvalidPath, InvalidRequest, NotFound
from bai.paths import clean_relpath
from bai.storage.base import FolderRef, Volume
from bai.storage.registry import BACKEND_CLASSES


@pytest.fixture(params=sorted(BACKEND_CLASSES))
async def volume(request: pytest.FixtureRequest, tmp_path: Path) -> Volume:
    base = tmp_path
    if request.param == "btrfs":
        base = request.getfixturevalue("btrfs_root") / uuid.uuid4().hex
    cls = BACKEND_CLASSES[request.param]
    vol = cls(VolumeConfig("t", request.param, base / "vol"))
    await vol.init()
    return vol


@pytest.fixture
async def ref(volume: Volume) -> FolderRef:
    r = FolderRef(uuid.uuid4().hex, uuid.uuid4())
    await volume.ensure_scope(r.scope_hex, 0)
    await volume.create_folder(r)
    return r


def P(s: str) -> PurePosixPath:
    return clean_relpath(s)


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


async def put(volume: Volume, ref: FolderRef, path: str, data: bytes) -> None:
    uid = uuid.uuid4().hex
    assert await volume.write_staged(ref, uid, 0, chunks(data), len(data)) == len(data)
    await volume.commit_staged(ref, uid, P(path))


async def read_all(volume: Volume, ref: FolderRef, path: str) -> bytes:
    e = await volume.stat(ref, P(path), follow=True)
    return b"".join([c async for c in volume.read(ref, P(path), 0, e.size)])


async def names(volume: Volume, ref: FolderRef, path: str = ".") -> set[str]:
    return {e.name async for batch in volume.list_dir(ref, P(path)) for e in batch}


async def test_folder_lifecycle(volume: Volume, ref: FolderRef) -> None:
    assert await volume.folder_exists(ref)
    assert await names(volume, ref) == set()
    await put(volume, ref, "a/b.txt", b"hello")
    await volume.remove_folder(ref)
    assert not await volume.folder_exists(ref)
    await volume.remove_folder(ref)  # idempotent: a resumed deletion finds nothing to do


async def test_staged_write_commit_and_usage(volume: Volume, ref: FolderRef) -> None:
    uid = uuid.uuid4().hex
    assert await volume.write_staged(ref, uid, 0, chunks(b"abc"), 6) == 3
    assert await volume.staged_size(ref, uid) == 3
    assert await names(volume, ref) == set()  # nothing visible before the commit
    with pytest.raises(Conflict):
        await volume.write_staged(ref, uid, 1, chunks(b"x"), 6)  # wrong offset
    assert await volume.write_staged(ref, uid, 3, chunks(b"d", b"ef"), 6) == 6
    with pytest.raises(InvalidRequest):
        await volume.write_staged(ref, uid, 6, chunks(b"g"), 6)  # past the declared size
    delta = await volume.commit_staged(ref, uid, P("dir/f.bin"))
    assert (delta.files, delta.bytes) == (1, 6)
    assert await read_all(volume, ref, "dir/f.bin") == b"abcdef"
    # Overwrite: last commit wins, usage changes by the difference.
    uid2 = uuid.uuid4().hex
    await volume.write_staged(ref, uid2, 0, chunks(b"xy"), 2)
    delta = await volume.commit_staged(ref, uid2, P("dir/f.bin"))
    assert (delta.files, delta.bytes) == (0, -4)
    assert await read_all(volume, ref, "dir/f.bin") == b"xy"


async def test_zero_byte_commit(volume: Volume, ref: FolderRef) -> None:
    await volume.commit_staged(ref, uuid.uuid4().hex, P("empty"))
    assert (await volume.stat(ref, P("empty"))).size == 0


async def test_ranges(volume: Volume, ref: FolderRef) -> None:
    data = os.urandom(3 * (1 << 20) + 17)
    await put(volume, ref, "r.bin", data)
    got = b"".join([c async for c in volume.read(ref, P("r.bin"), 1000, 2_500_000)])
    assert got == data[1000:2_500_000]


async def test_mkdir_rules(volume: Volume, ref: FolderRef) -> None:
    await volume.mkdir(ref, P("x"), parents=False, exist_ok=False)
    with pytest.raises(Conflict):
        await volume.mkdir(ref, P("x"), parents=False, exist_ok=False)
    await volume.mkdir(ref, P("x"), parents=False, exist_ok=True)
    with pytest.raises(NotFound):
        await volume.mkdir(ref, P("no/such/parent"), parents=False, exist_ok=False)
    await volume.mkdir(ref, P("deep/er/est"), parents=True, exist_ok=False)
    assert (await volume.stat(ref, P("deep/er/est"))).type == "DIRECTORY"


async def test_move_and_rename(volume: Volume, ref: FolderRef) -> None:
    await put(volume, ref, "a.txt", b"A")
    await volume.mkdir(ref, P("d"), parents=False, exist_ok=False)
    await volume.move(ref, P("a.txt"), P("d"))  # into an existing directory
    assert await names(volume, ref, "d") == {"a.txt"}
    await volume.rename(ref, P("d/a.txt"), "b.txt")
    assert await names(volume, ref, "d") == {"b.txt"}
    await put(volume, ref, "c.txt", b"C")
    with pytest.raises(Conflict):
        await volume.rename(ref, P("c.txt"), "d")
    with pytest.raises(InvalidRequest):
        await volume.move(ref, P("d"), P("d/inner"))
    with pytest.raises(NotFound):
        await volume.move(ref, P("nope"), P("d"))


async def test_delete_rules(volume: Volume, ref: FolderRef) -> None:
    await put(volume, ref, "t/one", b"1")
    await put(volume, ref, "t/sub/two", b"22")
    await volume.mkdir(ref, P("empty"), parents=False, exist_ok=False)
    with pytest.raises(InvalidRequest, match="not empty"):
        await volume.delete(ref, [P("t")], recursive=False)
    assert await names(volume, ref, "t") == {"one", "sub"}  # nothing removed
    with pytest.raises(NotFound):
        await volume.delete(ref, [P("empty"), P("missing")], recursive=False)
    assert "empty" in await names(volume, ref)  # checked all before removing any
    delta = await volume.delete(ref, [P("t"), P("empty")], recursive=True)
    assert (delta.files, delta.bytes) == (-2, -3)
    assert await names(volume, ref) == set()
    with pytest.raises(InvalidRequest):
        await volume.delete(ref, [P(".")], recursive=True)


async def test_listing_is_batched(volume: Volume, ref: FolderRef) -> None:
    await volume.mkdir(ref, P("many"), parents=False, exist_ok=False)
    for i in range(2500):
        await volume.commit_staged(ref, uuid.uuid4().hex, P(f"many/f{i}"))
    sizes = [len(b) async for b in volume.list_dir(ref, P("many"))]
    assert sum(sizes) == 2500 and max(sizes) <= 1000


async def test_clone_copies_everything(volume: Volume, ref: FolderRef) -> None:
    await put(volume, ref, "a/b/c.bin", b"xyz" * 1000)
    await volume.mkdir(ref, P("emptydir"), parents=False, exist_ok=False)
    dst = FolderRef(ref.scope_hex, uuid.uuid4())
    seen: list[tuple[int, int]] = []
    await volume.clone_folder(ref, dst, lambda c, t: seen.append((c, t)))
    assert await read_all(volume, dst, "a/b/c.bin") == b"xyz" * 1000
    assert "emptydir" in await names(volume, dst)
    assert seen[-1] == (3000, 3000)


async def test_walk_lists_tree(volume: Volume, ref: FolderRef) -> None:
    await put(volume, ref, "w/x/y.txt", b"y")
    await volume.mkdir(ref, P("w/empty"), parents=True, exist_ok=False)
    walked = {p: e.type async for p, e in volume.walk(ref, P("w"))}
    assert walked == {"x": "DIRECTORY", "empty": "DIRECTORY", "x/y.txt": "FILE"}


async def test_symlinks_never_lead_out(volume: Volume, ref: FolderRef, tmp_path: Path) -> None:
    if volume.backend not in ("vfs", "btrfs"):
        pytest.skip("symlinks exist only on filesystem backends")
    from bai.storage.vfs import VfsVolume

    assert isinstance(volume, VfsVolume)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s3cret")
    root = volume.folder_path(ref)
    os.symlink(outside, root / "escape")
    os.symlink(outside / "secret", root / "leak")
    await put(volume, ref, "inside.txt", b"ok")
    os.symlink("inside.txt", root / "alias")
    listed = {e.name: e for b in [x async for x in volume.list_dir(ref, P("."))] for e in b}
    assert listed["escape"].type == "SYMLINK" and listed["leak"].symlink_target
    for bad in ("escape/secret", "escape"):
        with pytest.raises(InvalidPath):
            await volume.stat(ref, P(bad), follow=True)
    with pytest.raises(InvalidPath):
        [c async for c in volume.read(ref, P("leak"), 0, 6)]
    with pytest.raises(InvalidPath):
        await put(volume, ref, "escape/new.txt", b"x")
    with pytest.raises(InvalidPath):
        await volume.mkdir(ref, P("escape/d"), parents=True, exist_ok=True)
    assert await read_all(volume, ref, "alias") == b"ok"  # links inside are fine
    await volume.delete(ref, [P("escape"), P("leak")], recursive=True)
    assert (outside / "secret").read_text() == "s3cret"  # removing a link never follows it


async def test_usage_scan_counts_files_and_bytes(volume: Volume, ref: FolderRef) -> None:
    await put(volume, ref, "s/a.bin", b"a" * 1000)
    await put(volume, ref, "s/deep/b.bin", b"b" * 24)
    await volume.mkdir(ref, P("s/empty"), parents=False, exist_ok=False)
    result = await volume.scan_usage(ref)
    assert (result.files, result.bytes, result.complete) == (2, 1024, True)
    cut = await volume.scan_usage(ref, deadline=0.0)  # a deadline already passed
    assert cut.complete is False


async def test_symlink_swapped_in_after_the_check_is_caught(
    volume: Volume, ref: FolderRef, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session could replace a directory with a symlink between the path check and the
    open; the opened descriptor itself is checked, so the swap gains nothing."""
    from bai.storage.vfs import VfsVolume

    if not isinstance(volume, VfsVolume):
        pytest.skip("filesystem backends only")
    outside = tmp_path / "outside-race"
    outside.mkdir()
    (outside / "f").write_text("secret")
    await put(volume, ref, "d/f", b"inside")
    root = volume.folder_path(ref)
    real_resolve = volume._resolve

    def racing_resolve(*args: object, **kwargs: object) -> Path:
        path = real_resolve(*args, **kwargs)  # type: ignore[arg-type]
        if (root / "d").is_dir() and not (root / "d").is_symlink():
            os.rename(root / "d", root / "d-moved")
            os.symlink(outside, root / "d")  # the swap, right after the check
        return path

    monkeypatch.setattr(volume, "_resolve", racing_resolve)
    with pytest.raises(InvalidPath):
        [c async for c in volume.read(ref, P("d/f"), 0, 6)]
    with pytest.raises(InvalidPath):
        [b async for b in volume.list_dir(ref, P("d"))]
    os.unlink(root / "d")
    os.rename(root / "d-moved", root / "d")
    uid = uuid.uuid4().hex
    await volume.write_staged(ref, uid, 0, chunks(b"x"), 1)
    with pytest.raises(InvalidPath):
        await volume.commit_staged(ref, uid, P("d/new"))
    assert sorted(p.name for p in outside.iterdir()) == ["f"]  # nothing written outside


async def test_mutations_through_a_swapped_parent_touch_nothing_outside(
    volume: Volume, ref: FolderRef, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bai.storage.vfs import VfsVolume

    if not isinstance(volume, VfsVolume):
        pytest.skip("filesystem backends only")
    outside = tmp_path / "outside-mut"
    (outside / "victim").mkdir(parents=True)
    (outside / "victim" / "keep.txt").write_text("keep")
    (outside / "file.txt").write_text("keep")
    root = volume.folder_path(ref)
    real_resolve = volume._resolve
    armed = {"on": False}

    def racing_resolve(*args: object, **kwargs: object) -> Path:
        path = real_resolve(*args, **kwargs)  # type: ignore[arg-type]
        if armed["on"] and (root / "d").is_dir() and not (root / "d").is_symlink():
            os.rename(root / "d", root / "d-moved")
            os.symlink(outside, root / "d")
        return path

    monkeypatch.setattr(volume, "_resolve", racing_resolve)

    async def attempt(op: object) -> None:
        if (root / "d").is_symlink():
            os.unlink(root / "d")
            os.rename(root / "d-moved", root / "d")
        armed["on"] = True
        with pytest.raises(InvalidPath):
            await op  # type: ignore[misc]
        armed["on"] = False

    await volume.mkdir(ref, P("d/victim"), parents=True, exist_ok=False)
    await put(volume, ref, "d/file.txt", b"mine")
    await attempt(volume.delete(ref, [P("d/victim")], recursive=True))
    await attempt(volume.delete(ref, [P("d/file.txt")], recursive=False))
    await attempt(volume.mkdir(ref, P("d/newdir"), parents=False, exist_ok=False))
    await attempt(volume.rename(ref, P("d/file.txt"), "renamed.txt"))
    assert (outside / "victim" / "keep.txt").read_text() == "keep"
    assert sorted(p.name for p in outside.iterdir()) == ["file.txt", "victim"]
