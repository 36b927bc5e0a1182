"""An error *answer* is never retried: `bai` against a stand-in node that answers 5xx/4xx,
or breaks every download off, fails in one try (or a few) with one `error:` line."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli.helpers import errors_in, one_error_line
from tests.harness import run_bai

PROBLEM_500 = {"type": "https://api.backend.ai/probs/internal-server-error", "title": "x"}
PROBLEM_503 = {"type": "https://api.backend.ai/probs/service-unavailable", "title": "x"}


@dataclass
class Stub:
    """What the stand-in node answers, per route; it records every request it gets."""

    mode: str
    url: str = ""
    seen: list[str] = field(default_factory=list)

    def env(self, tmp_path: Path) -> dict[str, str]:
        return {
            "BACKEND_ENDPOINT": self.url,
            "BACKEND_ACCESS_KEY": "AKIASTUBSTUBSTUB0000",
            "BACKEND_SECRET_KEY": "x" * 40,
            "XDG_STATE_HOME": str(tmp_path / "state"),
        }

    def count(self, prefix: str) -> int:
        return sum(1 for s in self.seen if s.startswith(prefix))


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _json(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _any(self) -> None:
            path = self.path.split("?")[0]
            stub.seen.append(f"{self.command} {path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if stub.mode == "503":
                self._json(503, {**PROBLEM_503, "msg": "node is busy"})
            elif path.endswith(("/request-upload", "/request-download")):
                kind = "upload" if "upload" in path else "download"
                self._json(200, {"url": f"{stub.url}/{kind}", "token": "t"})
            elif stub.mode == "breaks" and path == "/download":
                # Promise 1000 bytes, send 10, hang up: the node failing mid-stream.
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.send_header("ETag", '"v1"')
                self.end_headers()
                self.wfile.write(b"x" * 10)
                self.wfile.flush()
                self.close_connection = True
            else:
                self._json(500, {**PROBLEM_500, "msg": "storage error on x"})

        do_GET = do_POST = do_PATCH = do_HEAD = do_DELETE = do_PUT = _any

    return Handler


@pytest.fixture
def stub(request: pytest.FixtureRequest) -> Iterator[Stub]:
    s = Stub(mode=request.param)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    s.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield s
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("stub", ["503"], indirect=True)
def test_a_503_answer_is_not_retried(stub: Stub, tmp_path: Path) -> None:
    (tmp_path / "f.bin").write_bytes(b"y" * 1000)
    for args in (["upload", "f", "f.bin"], ["download", "f", "f.bin"]):
        stub.seen.clear()
        started = time.monotonic()
        res = run_bai("vfolder", *args, env=stub.env(tmp_path), cwd=tmp_path)
        assert time.monotonic() - started < 8
        assert res.returncode == 69, res.stderr
        one_error_line(res.stderr)
        assert "node is busy" in res.stderr
        assert len(stub.seen) == 1, stub.seen


@pytest.mark.parametrize("stub", ["500"], indirect=True)
def test_a_500_answer_to_a_transfer_is_not_retried(stub: Stub, tmp_path: Path) -> None:
    (tmp_path / "f.bin").write_bytes(b"y" * 1000)
    res = run_bai("vfolder", "upload", "f", "f.bin", env=stub.env(tmp_path), cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert len(errors_in(res.stderr)) == 1, res.stderr
    assert stub.count("PATCH /upload") == 1, stub.seen

    res = run_bai("vfolder", "download", "f", "f.bin", env=stub.env(tmp_path), cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    one_error_line(res.stderr)
    assert stub.count("GET /download") == 1, stub.seen


@pytest.mark.parametrize("stub", ["breaks"], indirect=True)
def test_a_download_that_always_breaks_off_gives_up_soon(stub: Stub, tmp_path: Path) -> None:
    started = time.monotonic()
    res = run_bai("vfolder", "download", "f", "f.bin", env=stub.env(tmp_path), cwd=tmp_path)
    assert time.monotonic() - started < 8
    assert res.returncode == 69, res.stderr
    assert "keeps breaking off" in errors_in(res.stderr)[0]
    # The first try, then a few that brought no new byte (the ranged downloader retries a
    # range a few times before it gives up on the file): not 30.
    assert 2 <= stub.count("GET /download") <= 8, stub.seen
