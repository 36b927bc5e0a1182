"""Unpacking a directory's zip: relative paths and times kept, nothing written outside."""

from __future__ import annotations

import os
import stat
import time
import zipfile
from pathlib import Path

import pytest

from bai.client.archive import unpack
from bai.errors import InvalidRequest


def make_zip(path: Path, entries: list[tuple[str, bytes]], when: tuple[int, ...]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=when)  # type: ignore[arg-type]
            zf.writestr(info, data)
    return path


def test_paths_and_times_are_kept(tmp_path: Path) -> None:
    when = (2021, 3, 4, 5, 6, 8)
    zipped = make_zip(
        tmp_path / "t.zip",
        [("a/", b""), ("a/b/c.txt", b"c"), ("top.txt", b"top"), ("empty/", b"")],
        when,
    )
    out = tmp_path / "out" / "tree"
    got = unpack(zipped, out)
    assert (got.files, got.bytes, got.skipped) == (2, 4, 0)
    assert (out / "a" / "b" / "c.txt").read_bytes() == b"c"
    assert (out / "empty").is_dir()
    expected = time.mktime((*when, 0, 0, -1))
    assert (out / "top.txt").stat().st_mtime == expected
    assert (out / "a").stat().st_mtime == expected


@pytest.mark.parametrize("bad", ["../evil.txt", "/etc/evil", "a/../../evil", "C:/evil", "a\\..\\x"])
def test_an_entry_outside_refuses_the_whole_archive(tmp_path: Path, bad: str) -> None:
    zipped = make_zip(
        tmp_path / "t.zip", [("fine.txt", b"x"), (bad, b"evil")], (2020, 1, 1, 0, 0, 0)
    )
    out = tmp_path / "deep" / "out"
    with pytest.raises(InvalidRequest, match="nothing unpacked"):
        unpack(zipped, out)
    assert not (tmp_path / "deep").exists()
    assert not (tmp_path / "evil.txt").exists()


def test_symlinks_are_skipped_and_local_links_not_followed(tmp_path: Path) -> None:
    zipped = tmp_path / "t.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        link = zipfile.ZipInfo("link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("sub/file.txt", b"data")
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    os.symlink(outside, out / "sub")  # a local link where the archive has a directory
    with pytest.raises(InvalidRequest, match="leads out"):
        unpack(zipped, out)
    assert not (outside / "file.txt").exists()
    (out / "sub").unlink()
    got = unpack(zipped, out)
    assert got.skipped == 1 and not (out / "link").exists()
    assert (out / "sub" / "file.txt").read_bytes() == b"data"
