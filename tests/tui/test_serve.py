"""`bai tui --serve` in a real browser: Debian's headless Chromium loads the page, and the
app's output reaching it over textual-serve's websocket shows the storage page.

The terminal is drawn on a canvas, so the test reads what the page receives: Chromium's
DevTools protocol reports each websocket frame the page gets."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from bai.client import ClientConfig
from tests.harness import REPO

pytestmark = pytest.mark.node


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("TUI BROWSER TEST NOT RUN: Debian's chromium is not installed (scripts/test)")
    return exe


class Cdp:
    """A minimal DevTools-protocol client: commands, and the events of one page session."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, session: str | None = None, **params: Any) -> Any:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    async def pump(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                while True:
                    self.events.append(json.loads(await self.ws.recv()))
        except TimeoutError:
            pass


def received_text(events: list[dict[str, Any]]) -> bytes:
    out = b""
    for ev in events:
        if ev.get("method") == "Network.webSocketFrameReceived":
            frame = ev["params"]["response"]
            data = frame["payloadData"]
            out += base64.b64decode(data) if frame.get("opcode") == 2 else data.encode()
    return out


async def test_served_app_renders_the_storage_page_in_chromium(
    user: ClientConfig, tmp_path: Path
) -> None:
    browser = chromium()
    port = free_port()
    env = {
        **os.environ,
        "BACKEND_ENDPOINT": user.endpoint,
        "BACKEND_ACCESS_KEY": user.access_key,
        "BACKEND_SECRET_KEY": user.secret_key,
    }
    serve = subprocess.Popen(
        [sys.executable, "-m", "bai", "tui", "--serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    profile = tmp_path / "chromium"
    chrome = None
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 20
        async with httpx.AsyncClient() as h:
            while True:
                try:
                    page = await h.get(url)
                    break
                except httpx.TransportError:
                    assert serve.poll() is None, serve.stdout.read().decode()  # type: ignore[union-attr]
                    assert time.monotonic() < deadline, "bai tui --serve did not listen"
                    await asyncio.sleep(0.2)
        assert page.status_code == 200 and "textual" in page.text.lower()
        chrome = subprocess.Popen(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1280,900",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not active.exists() or len(active.read_text().split()) < 2:
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            await asyncio.sleep(0.1)
        cdp_port, path = active.read_text().split()[:2]
        async with websockets.connect(f"ws://127.0.0.1:{cdp_port}{path}", max_size=None) as ws:
            cdp = Cdp(ws)
            target = await cdp.call("Target.createTarget", url="about:blank")
            attached = await cdp.call(
                "Target.attachToTarget", targetId=target["targetId"], flatten=True
            )
            session = attached["sessionId"]
            await cdp.call("Network.enable", session)
            await cdp.call("Page.navigate", session, url=url)
            text = b""
            deadline = time.monotonic() + 30
            while b"Storage Status" not in text and time.monotonic() < deadline:
                await cdp.pump(1.0)
                text = received_text(cdp.events)
        assert b"Storage Status" in text, text[-2000:]
        assert b"Folders" in text and b"Invitations" in text
    finally:
        for proc in (chrome, serve):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
