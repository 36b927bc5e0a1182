"""Imports may not reach into what the node owns: a trashed folder's bucket, the space new
folders go to, or the host's own endpoint spelled differently."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bai import api
from bai.errors import Conflict, InvalidRequest
from tests.conftest import InProcessNode, in_process_node, make_config
from tests.s3server import S3Server


@pytest.fixture
async def s3node(tmp_path: Path, s3_server: S3Server) -> AsyncIterator[InProcessNode]:
    cfg = make_config(tmp_path, "\n" + s3_server.volume_toml("minio"))
    async with in_process_node(cfg) as n:
        yield n


def req(source: str, name: str, **kw: object) -> api.BucketImport:
    return api.BucketImport(
        source=source,
        name=name,
        host="minio",
        owner="admin@bai.local",
        **kw,  # type: ignore[arg-type]
    )


async def test_imports_cannot_alias_folders_the_node_made(
    s3node: InProcessNode, s3_server: S3Server
) -> None:
    c = s3node.admin
    info = await c.folders.create("mine", "minio")
    bucket = f"bai-{info.id.hex}"
    await c.folders.delete("mine")  # restorable: its data is still the folder's
    with pytest.raises(Conflict, match="folders it makes"):
        await c.folders.import_bucket(req(bucket, "alias"))
    with pytest.raises(Conflict, match="folders it makes"):  # the same, spelled as a URL
        await c.folders.import_bucket(req(bucket, "alias", endpoint=s3_server.url.upper()))
    with pytest.raises(InvalidRequest, match="bare"):
        await c.folders.import_bucket(
            req("somebucket", "x", endpoint=f"{s3_server.url}/,allow_other,umask=0000")
        )


async def test_a_trashed_import_still_holds_its_bucket(
    s3node: InProcessNode, s3_server: S3Server
) -> None:
    c = s3node.admin
    client = s3_server.client()
    if not client.bucket_exists("held-bucket"):
        client.make_bucket("held-bucket")
    await c.folders.import_bucket(req("held-bucket", "first"))
    await c.folders.delete("first")  # in the trash, restorable
    with pytest.raises(Conflict, match="overlaps folder 'first'"):
        await c.folders.import_bucket(req("held-bucket/sub", "second"))
