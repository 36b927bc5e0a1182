"""The storage contract's fixtures: `volume` is every backend this build has (a test of a
capability only for the backends with it), `ref` a fresh folder on it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bai.config import VolumeConfig
from bai.storage.base import FolderRef, Volume
from bai.storage.registry import BACKEND_CLASSES
from tests.s3server import ACCESS_KEY, SECRET_KEY
from tests.storage.contract_kit import new_ref


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test runs on every backend that has what it needs: a test of a capability is
    not generated for a backend without it (that is the backend's contract, not a skip)."""
    if "volume" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("requires")
    backends = [
        name
        for name, cls in sorted(BACKEND_CLASSES.items())
        if marker is None or marker.args[0] in cls.capabilities
    ]
    metafunc.parametrize("volume", backends, indirect=True)


@pytest.fixture
async def volume(request: pytest.FixtureRequest, tmp_path: Path) -> Volume:
    base = tmp_path
    if request.param == "btrfs":
        base = request.getfixturevalue("btrfs_root") / uuid.uuid4().hex
    cls = BACKEND_CLASSES[request.param]
    if request.param == "minio":
        s3 = request.getfixturevalue("s3_server")
        opts = {"minio-access-key": ACCESS_KEY, "minio-secret-key": SECRET_KEY, "part-size": 5}
        vol = cls(VolumeConfig("t", "minio", base / "vol", s3.url, opts))
    else:
        vol = cls(VolumeConfig("t", request.param, base / "vol"))
    await vol.init()
    return vol


@pytest.fixture
async def ref(volume: Volume) -> FolderRef:
    return await new_ref(volume)
