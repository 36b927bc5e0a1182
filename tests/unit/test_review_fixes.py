"""Hostile-review fixes that need no running node: output back-pressure, limit ceilings,
dotfile paths, event-stream caps, endpoint spelling."""

from __future__ import annotations

import asyncio

import pytest

from bai.config import ImageConfig
from bai.errors import InvalidRequest, TooManyRequests
from bai.folders.events import MAX_PER_OWNER, EventHub
from bai.sessions import runs
from bai.sessions.dotfiles import check_path
from bai.sessions.limits import limits_for
from bai.storage.s3client import normalize_endpoint


async def test_a_command_that_prints_without_end_waits_for_its_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runs, "MAX_PENDING", 1000)
    run = runs.Run()
    fed = 0

    async def body(r: runs.Run) -> int:
        nonlocal fed
        while fed < 10_000:  # `yes`, more or less
            r.feed("stdout", b"y\n" * 50)
            fed += 100
            await r.room()
        return 0

    run.start(body)
    await asyncio.sleep(0.2)
    assert 1000 < fed <= 1100  # held back once a poll's worth is waiting
    first = await run.poll(0)
    assert first.console == [("stdout", "y\n" * (fed // 2))]  # one merged item
    got = len(first.console[0][1])
    while not (p := await run.poll(1)).finished:
        got += sum(len(t) for _, t in p.console)
    got += sum(len(t) for _, t in p.console)
    assert got == 10_000 and p.exit_code == 0


def test_limits_are_ceilings_and_finite() -> None:
    image = ImageConfig(name="tiny", rootfs=__import__("pathlib").Path("/"), cpu=2, pids=16)
    assert limits_for(image, {"pids": "8"}).pids == 8
    for bad, message in (
        ({"pids": "999999"}, "more than this image allows"),
        ({"cpu": "64"}, "more than this image allows"),
        ({"cpu": "nan"}, "positive number"),
        ({"cpu": "inf"}, "positive number"),
    ):
        with pytest.raises(InvalidRequest, match=message):
            limits_for(image, bad)


@pytest.mark.parametrize("path", [".", "./", "", "/etc/passwd", "a/../../x", ".ssh"])
def test_dotfile_paths_that_are_refused(path: str) -> None:
    with pytest.raises(InvalidRequest):
        check_path(path)


def test_event_streams_per_access_key_are_capped() -> None:
    hub = EventHub()
    subs = [hub.subscribe(owner="AKIAONE") for _ in range(MAX_PER_OWNER)]
    with pytest.raises(TooManyRequests, match="close one"):
        hub.subscribe(owner="AKIAONE")
    hub.subscribe(owner="AKIATWO")  # someone else is not affected
    subs[0].close()
    hub.subscribe(owner="AKIAONE")


@pytest.mark.parametrize(
    "url",
    [
        "http://h:9000/,allow_other,umask=0000",
        "http://h:9000,use_cache=/x",
        "ftp://h",
        "http://user:pw@h",
        "http://h/path",
        "http://h?x=1",
    ],
)
def test_import_endpoints_cannot_smuggle_s3fs_options(url: str) -> None:
    with pytest.raises(InvalidRequest):
        normalize_endpoint(url)


def test_endpoints_compare_however_spelled() -> None:
    assert normalize_endpoint("HTTP://Minio.Example.com:9000/") == "http://minio.example.com:9000"
