"""Shared steps of the CLI tests: run `bai` expecting success, read its JSON, make a user."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.harness import NodeProcess, run_bai


def ok(*args: str, env: dict[str, str], cwd: Path | None = None) -> str:
    res = run_bai(*args, env=env, cwd=cwd)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def js(*args: str, env: dict[str, str]) -> Any:
    return json.loads(ok(*args, "-o", "json", env=env))


def new_user(node: NodeProcess, email: str) -> dict[str, str]:
    """The environment of a new user of `node` (its own keypair)."""
    env = node.client_env()
    kp = js("admin", "user", "create", email, env=env)["keypair"]
    return {**env, "BACKEND_ACCESS_KEY": kp["access_key"], "BACKEND_SECRET_KEY": kp["secret_key"]}


def one_error_line(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr


def errors_in(stderr: str) -> list[str]:
    """The `error:` lines of `stderr`, which must hold no traceback (bars may be there too)."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error: ")]
