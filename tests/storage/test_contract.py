"""The contract every volume backend passes (parametrized over the backends this build has).

Tests of what only some backends can do are selected by capability (`@requires(...)`), never
by backend name: such a test is generated only for the backends that have the capability.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from bai.errors import (
    Conflict,
    InvalidPath,
    InvalidRequest,
    IsADirectory,
    NotADirectory,
    NotFound,
    NotSupported,
    SymlinkLoop,
)
from bai.storage.base import Capability, FolderRef, Volume
from tests.storage.contract_kit import (
    P,
    names,
    new_ref,
    put,
    read_all,
    read_range,
    requires,
)


async def test_folder_lifecycle(volume: Volume, ref: FolderRef) -> None:
    assert await volume.folder_exists(ref)
    assert await names(volume, ref) == set()
    await put(volume, ref, "a/b.txt", b"hello")
    await volume.remove_folder(ref)
    assert not await volume.folder_exists(ref)
    await volume.remove_folder(ref)  # idempotent: a resumed deletion finds nothing to do


async def test_upload_handle_commit_and_usage(volume: Volume, ref: FolderRef) -> None:
    uid = uuid.uuid4().hex
    up = await volume.open_upload(ref, uid, P("dir/f.bin"))
    assert await up.write(0, [b"abc"]) == 3
    assert await up.size() == 3
    await up.close()
    assert await names(volume, ref) == set()  # nothing visible before the commit
    assert await volume.staged_size(ref, uid) == 3
    up = await volume.open_upload(ref, uid, P("dir/f.bin"))  # reopened (a restart)
    assert await up.size() == 3
    assert await up.write(3, [b"d", memoryview(b"ef")]) == 3
    delta = await up.commit()
    assert (delta.files, delta.bytes) == (1, 6)
    assert await read_all(volume, ref, "dir/f.bin") == b"abcdef"
    # Overwrite: last commit wins, usage changes by the difference.
    up = await volume.open_upload(ref, uuid.uuid4().hex, P("dir/f.bin"))
    await up.write(0, [b"xy"])
    delta = await up.commit()
    assert (delta.files, delta.bytes) == (0, -4)
    assert await read_all(volume, ref, "dir/f.bin") == b"xy"


async def test_upload_writes_out_of_order(volume: Volume, ref: FolderRef) -> None:
    """S3 multipart parts and parallel SFTP writes arrive in any order."""
    up = await volume.open_upload(ref, uuid.uuid4().hex, P("parts.bin"))
    await up.write(4, [b"4567"])
    await up.write(0, [b"0123"])
    assert await up.size() == 8
    await up.commit()
    assert await read_all(volume, ref, "parts.bin") == b"01234567"


async def test_abort_leaves_nothing(volume: Volume, ref: FolderRef) -> None:
    uid = uuid.uuid4().hex
    up = await volume.open_upload(ref, uid, P("gone"))
    await up.write(0, [b"gone"])
    await up.abort()
    await up.abort()  # twice is fine
    assert await names(volume, ref) == set()
    assert await volume.staged_size(ref, uid) == 0


async def test_sweep_keeps_only_what_is_owned(volume: Volume, ref: FolderRef) -> None:
    kept, orphan = uuid.uuid4().hex, uuid.uuid4().hex
    for uid in (kept, orphan):
        up = await volume.open_upload(ref, uid, P(uid))
        await up.write(0, [b"staged"])
        await up.close()
    assert await volume.sweep_staging({kept}) >= 1
    assert await volume.staged_size(ref, kept) == 6
    assert await volume.staged_size(ref, orphan) == 0


async def test_zero_byte_commit(volume: Volume, ref: FolderRef) -> None:
    up = await volume.open_upload(ref, uuid.uuid4().hex, P("empty"))
    await up.commit()
    assert (await volume.stat(ref, P("empty"))).size == 0


async def test_ranges(volume: Volume, ref: FolderRef) -> None:
    data = os.urandom(3 * (1 << 20) + 17)
    await put(volume, ref, "r.bin", data)
    assert await read_range(volume, ref, "r.bin", 1000, 2_500_000) == data[1000:2_500_000]


async def test_copy_between_handles(volume: Volume, ref: FolderRef) -> None:
    data = os.urandom(200_000)
    await put(volume, ref, "src.bin", data)
    other = await new_ref(volume, ref.scope_hex)
    async with await volume.open_read(ref, P("src.bin")) as reader:
        up = await volume.open_upload(other, uuid.uuid4().hex, P("copy.bin"))
        assert await up.copy_from(reader) == len(data)
        await up.commit()
    assert await read_all(volume, other, "copy.bin") == data


async def test_only_regular_files_open_for_reading(volume: Volume, ref: FolderRef) -> None:
    await volume.mkdir(ref, P("adir"), parents=False, exist_ok=False)
    with pytest.raises(IsADirectory):
        await volume.open_read(ref, P("adir"))
    with pytest.raises(NotFound):
        await volume.open_read(ref, P("missing"))


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
    await put(volume, ref, "old.bin", b"12345")
    delta = await volume.move(ref, P("c.txt"), P("old.bin"))  # replaces it, like mv
    assert (delta.files, delta.bytes) == (-1, -5)
    assert await read_all(volume, ref, "old.bin") == b"C"


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

    async def touch(i: int) -> None:
        await (await volume.open_upload(ref, uuid.uuid4().hex, P(f"many/f{i}"))).commit()

    for start in range(0, 2500, 50):  # concurrently: an object store answers each slowly
        await asyncio.gather(*(touch(i) for i in range(start, start + 50)))
    sizes = [len(b) async for b in volume.list_dir(ref, P("many"))]
    assert sum(sizes) == 2500 and max(sizes) <= 1000


async def test_remove_folder_leaves_no_empty_prefixes(volume: Volume) -> None:
    ref = await new_ref(volume)
    await put(volume, ref, "x", b"x")
    await volume.remove_folder(ref)
    again = await new_ref(volume, ref.scope_hex)  # the scope stays usable
    assert await volume.folder_exists(again)
    if volume.has(Capability.BIND_MOUNT):
        host = await volume.acquire_mount(again)
        await volume.release_mount(again)
        await volume.remove_folder(again)
        scope_dir = host.parent.parent.parent
        # Only the scope's own bookkeeping is left: no aa/bb directories of removed folders.
        assert all(p.name.startswith(".") for p in scope_dir.iterdir())


@requires(Capability.BIND_MOUNT)
async def test_mounts_are_reference_counted(volume: Volume, ref: FolderRef) -> None:
    first = await volume.acquire_mount(ref)
    second = await volume.acquire_mount(ref)
    assert first == second and volume.mount_count(ref) == 2
    await put(volume, ref, "seen.txt", b"hi")
    assert (first / "seen.txt").read_bytes() == b"hi"  # the host path shows the folder
    await volume.release_mount(ref)
    assert volume.mount_count(ref) == 1
    await volume.release_mount(ref)
    assert volume.mount_count(ref) == 0


@requires(Capability.CHANGE_EVENTS)
async def test_change_events_name_the_folder(volume: Volume, ref: FolderRef) -> None:
    import asyncio

    host = await volume.acquire_mount(ref)
    stop = asyncio.Event()
    seen: set[str] = set()

    async def watch() -> None:
        async for batch in volume.watch(stop):
            seen.update(batch)
            if ref.location in seen:
                stop.set()

    task = asyncio.create_task(watch())
    await asyncio.sleep(0.3)
    (host / "behind-the-back.txt").write_text("x")
    await asyncio.wait_for(task, 10)
    assert ref.location in seen
    await volume.release_mount(ref)


async def test_walk_lists_tree(volume: Volume, ref: FolderRef) -> None:
    await put(volume, ref, "w/x/y.txt", b"y")
    await volume.mkdir(ref, P("w/empty"), parents=True, exist_ok=False)
    walked = {p: e.type async for p, e in volume.walk(ref, P("w"))}
    assert walked == {"x": "DIRECTORY", "empty": "DIRECTORY", "x/y.txt": "FILE"}


@requires(Capability.SYMLINKS)
async def test_symlinks_never_lead_out(volume: Volume, ref: FolderRef, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s3cret")
    root = await volume.acquire_mount(ref)
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
        await volume.open_read(ref, P("leak"))
    with pytest.raises(InvalidPath):
        await put(volume, ref, "escape/new.txt", b"x")
    with pytest.raises(InvalidPath):
        await volume.mkdir(ref, P("escape/d"), parents=True, exist_ok=True)
    assert await read_all(volume, ref, "alias") == b"ok"  # links inside are fine
    await volume.delete(ref, [P("escape"), P("leak")], recursive=True)
    assert (outside / "secret").read_text() == "s3cret"  # removing a link never follows it
    await volume.release_mount(ref)


@requires(Capability.SYMLINKS)
async def test_symlink_loops_and_special_files_give_clear_errors(
    volume: Volume, ref: FolderRef
) -> None:
    """What a compute session can plant: `ln -s loop loop`, a FIFO. Opening either must end
    at once in a clear error, never hang or surface a bare OSError."""
    root = await volume.acquire_mount(ref)
    os.symlink("loop", root / "loop")
    os.mkfifo(root / "fifo")
    with pytest.raises(SymlinkLoop):
        await volume.open_read(ref, P("loop"))
    with pytest.raises(NotSupported, match="fifo"):
        await volume.open_read(ref, P("fifo"))  # O_NONBLOCK: no wait for a writer
    listed = {e.name: e.type async for b in volume.list_dir(ref, P(".")) for e in b}
    assert listed == {"loop": "SYMLINK", "fifo": "FIFO"}
    walked = {p: e.type async for p, e in volume.walk(ref, P("."))}
    assert walked == {"loop": "SYMLINK", "fifo": "FIFO"}
    await volume.symlink(ref, P("made"), "fifo")
    assert (await volume.stat(ref, P("made"))).symlink_target == "fifo"
    await volume.release_mount(ref)


async def test_usage_scan_counts_files_and_bytes(volume: Volume, ref: FolderRef) -> None:
    await put(volume, ref, "s/a.bin", b"a" * 1000)
    await put(volume, ref, "s/deep/b.bin", b"b" * 24)
    await volume.mkdir(ref, P("s/empty"), parents=False, exist_ok=False)
    result = await volume.scan_usage(ref)
    assert (result.files, result.bytes, result.complete) == (2, 1024, True)
    cut = await volume.scan_usage(ref, deadline=0.0)  # a deadline already passed
    assert cut.complete is False


@requires(Capability.SYMLINKS)
async def test_symlink_swapped_in_after_the_check_is_caught(
    volume: Volume, ref: FolderRef, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session could replace a directory with a symlink between the path check and the
    open; the opened descriptor itself is checked, so the swap gains nothing."""
    outside = tmp_path / "outside-race"
    outside.mkdir()
    (outside / "f").write_text("secret")
    await put(volume, ref, "d/f", b"inside")
    root = await volume.acquire_mount(ref)
    real_resolve = volume._resolve  # type: ignore[attr-defined]

    def racing_resolve(*args: object, **kwargs: object) -> Path:
        path = real_resolve(*args, **kwargs)  # type: ignore[arg-type]
        if (root / "d").is_dir() and not (root / "d").is_symlink():
            os.rename(root / "d", root / "d-moved")
            os.symlink(outside, root / "d")  # the swap, right after the check
        return path

    monkeypatch.setattr(volume, "_resolve", racing_resolve)
    with pytest.raises(InvalidPath):
        await volume.open_read(ref, P("d/f"))
    with pytest.raises(InvalidPath):
        [b async for b in volume.list_dir(ref, P("d"))]
    os.unlink(root / "d")
    os.rename(root / "d-moved", root / "d")
    up = await volume.open_upload(ref, uuid.uuid4().hex, P("d/new"))
    await up.write(0, [b"x"])
    with pytest.raises(InvalidPath):
        await up.commit()
    assert sorted(p.name for p in outside.iterdir()) == ["f"]  # nothing written outside


@requires(Capability.SYMLINKS)
async def test_mutations_through_a_swapped_parent_touch_nothing_outside(
    volume: Volume, ref: FolderRef, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside-mut"
    (outside / "victim").mkdir(parents=True)
    (outside / "victim" / "keep.txt").write_text("keep")
    (outside / "file.txt").write_text("keep")
    root = await volume.acquire_mount(ref)
    real_resolve = volume._resolve  # type: ignore[attr-defined]
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


@requires(Capability.BIND_MOUNT)
async def test_names_that_are_not_utf8_round_trip(volume: Volume, ref: FolderRef) -> None:
    """A session can make any bytes a name; the wire spells byte 0xHH as U+EF00+HH and the
    same spelling sent back names those bytes (bai.fsnames)."""
    root = await volume.acquire_mount(ref)
    os.mkdir(os.fsencode(root) + b"/dir\xff")
    with open(os.fsencode(root) + b"/dir\xff/f\xfe.txt", "wb") as f:
        f.write(b"12345")
    listed = {e.name async for b in volume.list_dir(ref, P(".")) for e in b}
    assert listed == {"dir\uefff"}
    walked = {p async for p, _ in volume.walk(ref, P("."))}
    assert walked == {"dir\uefff", "dir\uefff/f\ueffe.txt"}
    assert await read_all(volume, ref, "dir\uefff/f\ueffe.txt") == b"12345"
    await volume.rename(ref, P("dir\uefff/f\ueffe.txt"), "plain.txt")
    assert os.path.exists(os.fsencode(root) + b"/dir\xff/plain.txt")
    delta = await volume.delete(ref, [P("dir\uefff")], recursive=True)
    assert (delta.files, delta.bytes) == (-1, -5)
    assert await names(volume, ref) == set()
    await volume.release_mount(ref)


async def test_locations_are_trusted_only_in_their_own_shape(volume: Volume) -> None:
    ref = await new_ref(volume)
    for bad in ("/etc/ssl/certs/x", "../../../x", f"{ref.scope_hex}/aa/bb/../../..", "a/b/c"):
        with pytest.raises(InvalidPath):
            await volume.stat(FolderRef(ref.scope_hex, ref.id, bad), P("."))


@requires(Capability.CHANGE_EVENTS)
async def test_changes_are_named_by_their_real_folder(volume: Volume) -> None:
    """A symlink in folder A pointing up and out must not make B's changes count for A."""
    import asyncio

    a, b = await new_ref(volume), await new_ref(volume)
    host_a, host_b = await volume.acquire_mount(a), await volume.acquire_mount(b)
    os.symlink("../../../..", host_a / "up")
    stop = asyncio.Event()
    seen: set[str] = set()

    async def watch() -> None:
        async for batch in volume.watch(stop):
            seen.update(batch)
            if b.location in seen:
                stop.set()

    task = asyncio.create_task(watch())
    await asyncio.sleep(0.3)
    (host_b / "written-in-b.txt").write_text("x")
    await asyncio.wait_for(task, 10)
    assert b.location in seen and a.location not in seen
    await volume.release_mount(a)
    await volume.release_mount(b)


async def test_listing_a_missing_path_or_a_file_says_which(volume: Volume, ref: FolderRef) -> None:
    await put(volume, ref, "d/f.txt", b"x")
    await volume.mkdir(ref, P("empty"), parents=False, exist_ok=False)
    assert await names(volume, ref, "empty") == set()
    assert await names(volume, ref, "d") == {"f.txt"}
    with pytest.raises(NotFound):
        await names(volume, ref, "nothing-here")
    with pytest.raises(NotADirectory):
        await names(volume, ref, "d/f.txt")
