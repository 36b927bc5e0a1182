"""Resource exhaustion against a real node: many clients that read slowly or not at all,
many requests for things that would block (FIFOs, zips holding one), big filters, and a
directory of 100,000 entries — while another user's requests must be answered quickly."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Coroutine
from typing import Any

import httpx

from tests.adversarial.helpers import (
    MIB,
    Live,
    answers_quickly,
    folder_dir,
    is_4xx,
    make_files,
    msg,
    send,
)

# The node's volume is on tmpfs: making 100,000 files then takes a second, not tens.
VOLUME_ON_TMPFS = True


async def test_slow_readers_do_not_starve_other_users(live: Live) -> None:
    """Defect 1 (no operation holds a shared thread): 40 downloads of a 32 MiB file whose
    clients read one chunk and then stall; another user is answered quickly meanwhile, and
    everything is answered again once they go away."""
    mallory = await live.new_user("slow-mallory@example.com")
    alice = await live.new_user("slow-alice@example.com")
    info = await mallory.post("/folders", json={"name": "slow"})
    await alice.post("/folders", json={"name": "fine"})
    with open(folder_dir(live.volume, info) / "big.bin", "wb") as f:
        f.truncate(32 * MIB)
    res = await mallory.post("/folders/slow/request-download", json={"path": "big.bin"})
    url = f"{live.endpoint}/download"
    stalled: list[httpx.Response] = []
    try:
        for _ in range(40):
            request = live.http.build_request("GET", url, params={"token": res["token"]})
            r = await asyncio.wait_for(live.http.send(request, stream=True), 10)
            assert r.status_code == 200
            stalled.append(r)
        for r in stalled[:10]:
            await anext(r.aiter_raw())  # one chunk, then stall
        for _ in range(3):
            await answers_quickly(alice, "with 40 stalled downloads")
            await asyncio.sleep(0.2)
        r = await asyncio.wait_for(
            send(alice, "GET", "/folders/fine/files", params={"format": "ndjson"}), 6
        )
        assert r.status_code == 200
    finally:
        for r in stalled:
            await r.aclose()
    await asyncio.sleep(0.3)
    await answers_quickly(alice, "after the stalled downloads went away")
    whole = await asyncio.wait_for(live.http.get(url, params={"token": res["token"]}), 20)
    assert whole.status_code == 200 and len(whole.content) == 32 * MIB


async def test_a_volley_of_blocking_requests_leaves_the_node_answering(live: Live) -> None:
    """Defect 1 and 4: at once, downloads of a file swapped for a FIFO, zips of a directory
    holding FIFOs, request-downloads of a FIFO, listings of a FIFO as a directory, uploads
    under a FIFO and the biggest filters a request may carry: every one is answered within
    10 s, the FIFO ones 4xx, and another user is answered quickly throughout."""
    mallory = await live.new_user("volley-mallory@example.com")
    alice = await live.new_user("volley-alice@example.com")
    info = await mallory.post("/folders", json={"name": "a" * 64})
    name = "a" * 64
    root = folder_dir(live.volume, info)
    (root / "dir").mkdir()
    (root / "dir" / "x.txt").write_text("x")
    for i in range(5):
        os.mkfifo(root / "dir" / f"fifo{i}")
    (root / "swapped.bin").write_bytes(b"s" * 100)
    grant = await mallory.post(f"/folders/{name}/request-download", json={"path": "swapped.bin"})
    os.mkfifo(root / "tmp-fifo")
    os.replace(root / "tmp-fifo", root / "swapped.bin")
    zipped = await mallory.post(
        f"/folders/{name}/request-download", json={"path": "dir", "archive": True}
    )
    big_filter = 'name like "' + "%a" * 2000 + '%b"'
    query = "query($filter: String) { vfolder_list(filter: $filter) { items { name } } }"
    url = f"{live.endpoint}/download"

    async def get(token: str) -> httpx.Response:
        return await live.http.get(url, params={"token": token})

    attacks: list[tuple[str, asyncio.Task[httpx.Response]]] = []

    def launch(label: str, coro: Coroutine[Any, Any, httpx.Response]) -> None:
        attacks.append((label, asyncio.create_task(asyncio.wait_for(coro, 10))))

    for _ in range(10):
        launch("fifo download", get(grant["token"]))
        launch("zip", get(zipped["token"]))
        launch(
            "request-download fifo",
            send(mallory, "POST", f"/folders/{name}/request-download", json={"path": "dir/fifo0"}),
        )
        launch(
            "ls fifo",
            send(mallory, "GET", f"/folders/{name}/files", params={"path": "dir/fifo1"}),
        )
        launch(
            "upload under fifo",
            send(
                mallory,
                "POST",
                f"/folders/{name}/request-upload",
                json={"path": "dir/fifo2/x", "size": 1},
            ),
        )
    for _ in range(6):
        body = {"query": query, "variables": {"filter": big_filter}}
        launch("big filter", send(mallory, "POST", "/admin/gql", json=body))
    t0 = time.monotonic()
    for _ in range(3):
        await answers_quickly(alice, "during the volley")
        await asyncio.sleep(0.1)
    problems = []
    for label, task in attacks:
        try:
            r = await task
        except TimeoutError:
            problems.append(f"{label}: no answer in 10 s")
            continue
        if label == "zip":
            if r.status_code != 200:
                problems.append(f"zip: {r.status_code}")
        elif label == "big filter":
            if r.status_code >= 500:
                problems.append(f"big filter: {r.status_code}")
        elif not is_4xx(r):
            problems.append(f"{label}: {r.status_code} {msg(r)[:80]}")
    assert not problems, f"after {time.monotonic() - t0:.1f} s:\n" + "\n".join(problems[:20])


async def test_a_directory_of_100000_entries(live: Live) -> None:
    """Suite: a session makes 100,000 entries in one directory. Listing it streams every
    entry while another user is answered quickly, and the folder's usage counts them all
    (the watcher and reconcile cope with the flood)."""
    mallory = await live.new_user("flood-mallory@example.com")
    alice = await live.new_user("flood-alice@example.com")
    info = await mallory.post("/folders", json={"name": "flood"})
    count = 100_000
    make_files(folder_dir(live.volume, info) / "many", count)

    async def listing() -> int:
        n = 0
        params = {"path": "many", "format": "ndjson"}
        request = mallory.build("GET", "/folders/flood/files", params=params)
        r = await live.http.send(request, stream=True)
        try:
            assert r.status_code == 200, await r.aread()
            async for line in r.aiter_lines():
                if line.strip():
                    n += 1
        finally:
            await r.aclose()
        return n

    t0 = time.monotonic()
    task = asyncio.create_task(listing())
    await asyncio.sleep(0.2)
    await answers_quickly(alice, "while 100,000 entries are listed")
    listed = await asyncio.wait_for(task, 60)
    took = time.monotonic() - t0
    assert listed == count, f"listed {listed} of {count}"
    assert took < 30, f"listing 100,000 entries took {took:.1f} s"
    # The watcher and the reconcile it triggers cope with the flood: all of it is counted.
    deadline = time.monotonic() + 15
    state: tuple[int, int] = (-1, -1)
    while time.monotonic() < deadline:
        got = await mallory.get("/folders/flood")
        state = (got["num_files"], got["cur_size"])
        if state == (count, 0):
            break
        await asyncio.sleep(0.3)
    assert state == (count, 0), f"usage of the 100,000 empty files: {state}"
    await answers_quickly(alice, "after the flood")
