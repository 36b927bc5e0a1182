"""`[database]`, `[node]` and `shared = true` in node.toml, `--database-url`, and the mapping
of PostgreSQL's refusals onto bai's errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bai.config import parse_config
from bai.db import tables as t
from bai.db.errors import database_error
from bai.errors import ConfigError, Conflict, InvalidRequest, ServiceUnavailable
from bai.node import Node
from tests.conftest import make_config
from tests.harness import run_bai
from tests.pgserver import PgServer


def test_cluster_settings_parse(tmp_path: Path) -> None:
    cfg = parse_config(
        '[database]\nurl = "postgresql+asyncpg://u:p@db:5432/bai"\n'
        '[node]\nsecret_file = "shared.secret"\nheartbeat = 2\ndown_after = 10\n'
        '[volume.nfs]\nbackend = "vfs"\npath = "/srv/nfs"\nshared = true\n',
        source="n.toml",
        data_dir=tmp_path,
    )
    assert cfg.cluster.database_url == "postgresql+asyncpg://u:p@db:5432/bai"
    assert cfg.cluster.secret_file == tmp_path / "shared.secret"
    assert (cfg.cluster.heartbeat, cfg.cluster.down_after) == (2.0, 10.0)
    assert cfg.volumes["nfs"].shared is True
    default = parse_config("", source="n.toml", data_dir=tmp_path)
    assert default.cluster.database_url is None and not default.volumes["local"].shared


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[database]\nurl = "mysql://x/y"\n', "database.url: unsupported database URL"),
        ("[node]\nheartbeat = 0\n", "node.heartbeat: must be a positive"),
        ("[node]\nheartbeat = 5\ndown_after = 6\n", "node.down_after: must be at least twice"),
        ("[node]\nnodes = 2\n", "node.nodes: unknown setting"),
    ],
)
def test_cluster_settings_errors(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        parse_config(text, source="n.toml", data_dir=tmp_path)


def test_serve_refuses_an_unreachable_database_without_a_traceback(tmp_path: Path) -> None:
    res = run_bai(
        "serve",
        "--data-dir",
        str(tmp_path / "d"),
        "--port",
        "0",
        "--database-url",
        "postgresql+asyncpg://bai:hunter2@127.0.0.1:1/nothere",
    )
    assert res.returncode == 78, res.stderr
    assert "cannot use the database postgresql+asyncpg://bai:***@127.0.0.1:1/nothere" in res.stderr
    assert "hunter2" not in res.stderr and "Traceback" not in res.stderr


async def test_postgresql_refusals_map_to_bai_errors(tmp_path: Path, pg_server: PgServer) -> None:
    url = pg_server.new_database()
    async with Node(make_config(tmp_path, f'[database]\nurl = "{url}"\n')) as node:
        async with node.engine.connect() as conn:
            with pytest.raises(sa.exc.DBAPIError) as nul:
                await conn.execute(sa.select(t.users).where(t.users.c.email == "a\x00b"))
        assert isinstance(database_error(nul.value), InvalidRequest)
        async with node.engine.connect() as conn:
            with pytest.raises(sa.exc.IntegrityError) as dup:
                await conn.execute(
                    t.volumes.insert().values(name="local", backend="vfs", first_seen=sa.func.now())
                )
        assert isinstance(database_error(dup.value), Conflict)
        async with node.engine.connect() as conn:
            await conn.execute(sa.text("SET lock_timeout = '10ms'"))
            async with node.engine.begin() as holder:
                await holder.execute(sa.text("LOCK TABLE volumes IN ACCESS EXCLUSIVE MODE"))
                with pytest.raises(sa.exc.DBAPIError) as busy:
                    await conn.execute(sa.select(t.volumes))
        assert isinstance(database_error(busy.value), ServiceUnavailable)
