"""The SFTP tree's path arithmetic and the status codes a version 3 client is sent."""

from __future__ import annotations

import pytest

from bai import errors
from bai.server.sftp import codec
from bai.server.sftp.tree import expand, place


@pytest.mark.parametrize(
    ("path", "name", "rel"),
    [
        ("/", None, "."),
        ("", None, "."),
        (".", None, "."),
        ("/..", None, "."),
        ("../../..", None, "."),
        ("/data", "data", "."),
        ("data/", "data", "."),
        ("/data/a/b.txt", "data", "a/b.txt"),
        ("/data/../../etc/passwd", "etc", "passwd"),  # a folder named etc, if one is served
        ("/data/a/../../../x", "x", "."),
        ("//data//./a//", "data", "a"),
        ("/data/a/..", "data", "."),
    ],
)
def test_paths_resolve_as_in_a_chroot(path: str, name: str | None, rel: str) -> None:
    where = place(path)
    assert (where.name, where.rel) == (name, rel)
    assert ".." not in where.path.split("/")


def test_home_is_the_root() -> None:
    assert expand("~").is_root
    assert (expand("~/data/x").name, expand("~/data/x").rel) == ("data", "x")
    assert expand("~other").name == "~other"  # no other users' homes here


def test_version_3_clients_get_version_3_codes() -> None:
    assert codec.v3_status(errors.NotFound("x")) == codec.NO_SUCH_FILE
    assert codec.v3_status(errors.Forbidden("x")) == codec.PERMISSION_DENIED
    assert codec.v3_status(errors.ReadOnly("x")) == codec.PERMISSION_DENIED
    assert codec.v3_status(errors.InvalidPath("x")) == codec.PERMISSION_DENIED
    assert codec.v3_status(errors.QuotaExceeded("x")) == codec.FAILURE
    assert codec.v3_status(errors.Conflict("x")) == codec.FAILURE
    assert codec.v3_status(errors.NotSupported("x")) == codec.OP_UNSUPPORTED
    assert codec.v3_status(errors.NotADirectory("x")) == codec.NO_SUCH_FILE
    for cls in (errors.NoSpace, errors.NotEmpty, errors.IsADirectory, errors.SymlinkLoop):
        assert codec.v3_status(cls("x")) <= codec.OP_UNSUPPORTED
