"""Backend.AI's mount-spec grammar, targets and their refusals (no sandbox needed)."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from bai.enums import Permission
from bai.errors import InvalidRequest
from bai.sessions.mountspec import (
    MountRequest,
    check_targets,
    merge_requests,
    parse_mount_spec,
    resolve_target,
)

P = PurePosixPath


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("mydata1", MountRequest("mydata1")),
        ("mydata1:out", MountRequest("mydata1", "out")),
        ("mydata1=/data/in", MountRequest("mydata1", "/data/in")),
        ("a=b:c", MountRequest("a", "b:c")),  # `=` wins over `:`
        (
            "type=bind,source=mydata1,target=/data,perm=ro",
            MountRequest("mydata1", "/data", Permission.RO),
        ),
        ("source=x,dst=y", MountRequest("x", "y")),
        ("type=bind,src=x,destination=/d,permission=rw", MountRequest("x", "/d", Permission.RW)),
        (r"we\:ird:in\,side", MountRequest("we:ird", "in,side")),
        (r"a\=b=c\\d", MountRequest("a=b", "c\\d")),
        (r"source=a\,b,target=x\=y", MountRequest("a,b", "x=y")),
    ],
)
def test_parses(spec: str, expected: MountRequest) -> None:
    assert parse_mount_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("", "empty mount spec"),
        (":x", "names no folder"),
        ("x:", "empty path"),
        ("type=volume,source=x", "not supported"),
        ("target=/x,perm=ro", "no source"),
        ("source=x,perm=wd", "not ro or rw"),
        ("source=x,colour=red", "unknown mount spec key"),
        ("source=x,source=y", "given twice"),
        ("source=x,junk", "not KEY=VALUE"),
        (r"a\qb", "unknown escape"),
    ],
)
def test_refuses(spec: str, words: str) -> None:
    with pytest.raises(InvalidRequest, match=words):
        parse_mount_spec(spec)


def test_targets() -> None:
    assert resolve_target("mydata1", None) == P("/home/work/mydata1")
    assert resolve_target("d", "sub/dir") == P("/home/work/sub/dir")
    assert resolve_target("d", "/data") == P("/data")
    assert resolve_target("d", "/home/work/x") == P("/home/work/x")
    for bad in ("/usr", "/usr/local/x", "/etc", "/proc/x", "/tmp/x", "/", "/home/work", "."):
        with pytest.raises(InvalidRequest):
            resolve_target("d", bad)
    with pytest.raises(InvalidRequest, match=r"\.\."):
        resolve_target("d", "../../etc")


def test_overlaps_and_duplicates() -> None:
    check_targets([("a", P("/home/work/a")), ("b", P("/home/work/b"))])
    with pytest.raises(InvalidRequest, match="overlap"):
        check_targets([("a", P("/home/work/a")), ("b", P("/home/work/a"))])
    with pytest.raises(InvalidRequest, match="overlap"):
        check_targets([("a", P("/data")), ("b", P("/data/b"))])
    with pytest.raises(InvalidRequest, match="under /home/work"):
        check_targets([("a", P("/home/other"))])
    with pytest.raises(InvalidRequest, match="mounted twice"):
        merge_requests(["a", "a:x"], {})


def test_official_client_mount_map() -> None:
    # `backend.ai run -m a=/data -m b` sends mounts=[a, b], mount_map={a: /data}.
    reqs = merge_requests(["a", "b"], {"a": "/data"})
    assert reqs == [MountRequest("a", "/data"), MountRequest("b")]
