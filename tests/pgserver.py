"""A real, throwaway PostgreSQL cluster for the tests (Debian's `postgresql` package).

`initdb` into a temporary directory, `pg_ctl start` on a free port with its unix socket in
that directory; each test gets a fresh database cloned from a template that already holds the
migrated schema. PostgreSQL refuses to run as root, so under root the cluster runs as the
`postgres` user the Debian package creates.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.s3server import free_port

TEMPLATE = "bai_template"


def pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    part = path.split("/")[4]
    return int(part) if part.isdigit() else 0


def postgres_unavailable() -> str | None:
    """Why no PostgreSQL cluster can be started here, or None when one can."""
    if pg_bindir() is None:
        return "Debian's postgresql package is not installed (scripts/test installs it)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the server as"
    return None


@dataclass
class PgServer:
    port: int = field(default_factory=free_port)
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bai-pg-")))
    _serial: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    def _run(self, *cmd: str) -> subprocess.CompletedProcess[str]:
        bindir = pg_bindir()
        assert bindir is not None
        argv = [str(bindir / cmd[0]), *cmd[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {res.stdout}{res.stderr}")
        return res

    def start(self) -> PgServer:
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self._run("initdb", "-D", str(self.datadir), "-A", "trust", "-U", "bai", "-E", "UTF8")
        # Throwaway data: durability settings off make each test's database fast to make.
        opts = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.base / "log"),
            "-w",
            "-o",
            opts,
            "start",
        )
        return self

    def url(self, db: str) -> str:
        return f"postgresql+asyncpg://bai@127.0.0.1:{self.port}/{db}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        return self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "bai",
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAtc",
            sql,
        ).stdout

    def make_template(self) -> None:
        """Migrate the schema once into the template every test database is cloned from."""
        import asyncio

        from bai.db.engine import create_engine, migrate

        self.psql(f"CREATE DATABASE {TEMPLATE}")

        async def run() -> None:
            engine = create_engine(self.url(TEMPLATE))
            try:
                await migrate(engine)
            finally:
                await engine.dispose()

        asyncio.run(run())

    def new_database(self, migrated: bool = True) -> str:
        """A fresh database's URL: migrated (cloned from the template) or empty."""
        name = f"t{os.getpid()}_{next(self._serial)}"
        template = f" TEMPLATE {TEMPLATE}" if migrated else ""
        self.psql(f"CREATE DATABASE {name}{template}")
        return self.url(name)

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)
