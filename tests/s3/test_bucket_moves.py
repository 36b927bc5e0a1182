"""Directory moves on a bucket: a background task with progress, consistent when it fails."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bai.client.tasks import TaskFailed
from bai.errors import ServiceUnavailable
from bai.folders import moves
from tests.conftest import InProcessNode, in_process_node, make_config
from tests.s3server import S3Server


@pytest.fixture
async def s3node(tmp_path: Path, s3_server: S3Server) -> AsyncIterator[InProcessNode]:
    cfg = make_config(tmp_path, "\n" + s3_server.volume_toml("minio", "part-size = 5\n"))
    async with in_process_node(cfg) as n:
        yield n


async def fill(n: InProcessNode, s3: S3Server, name: str, count: int) -> str:
    info = await n.admin.folders.create(name, "minio")
    bucket = f"bai-{info.id.hex}"
    client = s3.client()
    await asyncio.gather(
        *(
            asyncio.to_thread(client.put_object, bucket, f"src/f{i:04d}", io.BytesIO(b"x" * 10), 10)
            for i in range(count)
        )
    )
    await n.admin.quota.reconcile(folder=str(info.id))
    return bucket


async def test_a_long_directory_move_becomes_a_task_with_progress(
    s3node: InProcessNode, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = await fill(s3node, s3_server, "movebig", 120)
    # The request answers at once with the task (it would otherwise wait up to moves.WAIT
    # and answer with the finished move).
    monkeypatch.setattr(moves, "WAIT", 0.0)
    res = await s3node.admin.files.move("movebig", "src", "dst")
    assert res.task_id is not None
    seen = [t async for t in s3node.admin.tasks.follow(res.task_id, interval=0.05)]
    assert seen[-1].status == "done" and seen[-1].current == seen[-1].total == 120
    keys = [o.object_name for o in s3_server.client().list_objects(bucket, recursive=True)]
    assert len(keys) == 120 and all(k.startswith("dst/") for k in keys)
    info = await s3node.admin.folders.info("movebig")
    assert info.num_files == 120 and info.cur_size == 1200


async def test_a_failed_copy_leaves_the_source_whole_and_says_so(
    s3node: InProcessNode, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = await fill(s3node, s3_server, "movefail", 30)
    from bai.storage import s3moves

    real = s3moves.copy_object
    calls = {"n": 0}

    async def flaky(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 10:  # the S3 service fails in the middle of the copy
            raise ServiceUnavailable("the S3 service is unreachable; try again later")
        await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(s3moves, "copy_object", flaky)
    monkeypatch.setattr(moves, "WAIT", 0.0)  # answer with the task, to follow it
    res = await s3node.admin.files.move("movefail", "src", "dst")
    assert res.task_id is not None
    with pytest.raises(TaskFailed, match="the copies were removed and src is unchanged"):
        [t async for t in s3node.admin.tasks.follow(res.task_id, interval=0.05)]
    keys = [o.object_name for o in s3_server.client().list_objects(bucket, recursive=True)]
    assert len(keys) == 30 and all(k.startswith("src/") for k in keys)
