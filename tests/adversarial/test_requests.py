"""Hostile requests: path payloads replayed on every file route (and on the transfer routes
with tokens signed by the node's own key), the payloads behind the known 500s, slow GraphQL
filters, uploads that can never finish, other users' tasks, and a forged X-Forwarded-For.

A refused request answers 4xx and leaves the volume exactly as it was (a snapshot of every
entry, before and after); another user's requests are answered quickly throughout."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa

from bai.db import tables as t
from tests.adversarial.helpers import (
    TUS,
    Live,
    answers_quickly,
    diff,
    folder_dir,
    forge,
    is_4xx,
    kill_node,
    msg,
    node_token_key,
    send,
    snapshot,
    staged,
    start_node,
    timed,
    upload,
    wait_task,
)
from tests.conftest import InProcessNode, in_process_node, make_config

# ---- path payloads -------------------------------------------------------------------------

# Each must be refused wherever a path is taken (none names a legitimate entry).
ESCAPES = [
    "..",
    "../",
    "../x",
    "a/../../x",
    "./../ok.txt",
    "d/../../..",
    "/",
    "/etc/passwd",
    "//etc/passwd",
    "x\x00y",
    "\x00",
    "ok.txt\x00.jpg",
    "\u202etxt.exe",  # right-to-left override
    "a\u200bb",  # zero-width space
    "\ufeffbom",
    "a\u2028b",
    "a\x1bb",
    "a\nb",
    "\udcff",  # a lone surrogate
    "x" * 256,  # a name over 255 bytes
    "é" * 128,  # 256 bytes in UTF-8
    "d/" * 2049,  # a path over 4096 characters
    "d/" * 300 + "../" * 301 + "x",  # deep, then climbing out
    # through symlinks planted by a session:
    "up/x",
    "up/local",
    "chain/passwd",
    "abs/passwd",
    "sib/secret.txt",
    "relsib/secret.txt",
    "out/target.txt",
    "loop/x",
]
# Planted links themselves: reading through them or making a directory over them is refused
# (acting on the link itself — deleting or renaming it — is legitimate, so not replayed).
LINKS = ["up", "chain", "abs", "sib", "relsib", "out", "loop"]
BAD_NAMES = [
    "..",
    ".",
    "",
    "a/b",
    "../x",
    "/etc/passwd",
    "x\x00",
    "\u202eexe",
    "a\u200b",
    "x" * 256,
    "\udcff",
    "up/x",
]

Req = tuple[str, str, dict[str, Any]]


def query(p: str) -> str:
    """`?path=…` encoded by hand: a lone surrogate travels as the bytes it would be."""
    return "?format=ndjson&path=" + quote(p.encode("utf-8", "surrogatepass"), safe="")


def file_routes(folder: str, p: str) -> Iterator[Req]:
    base = f"/folders/{folder}"
    yield "GET", f"{base}/files{query(p)}", {}
    yield "GET", f"{base}/files", {"json": {"path": p}}  # the official client's GET body
    yield "POST", f"{base}/mkdir", {"json": {"path": p, "parents": True, "exist_ok": True}}
    yield "POST", f"{base}/move-file", {"json": {"src": p, "dst": "moved"}}
    yield "POST", f"{base}/move-file", {"json": {"src": "ok.txt", "dst": p}}
    yield "POST", f"{base}/rename-file", {"json": {"target_path": p, "new_name": "renamed"}}
    yield "DELETE", f"{base}/delete-files", {"json": {"files": [p], "recursive": True}}
    # A batch with one bad path removes nothing at all.
    yield "DELETE", f"{base}/delete-files", {"json": {"files": ["ok.txt", p], "recursive": True}}
    yield "POST", f"{base}/request-upload", {"json": {"path": p, "size": 3}}
    yield "POST", f"{base}/request-download", {"json": {"path": p}}
    yield "POST", f"{base}/request-download", {"json": {"path": p, "archive": True}}


def read_routes(folder: str, p: str) -> Iterator[Req]:
    base = f"/folders/{folder}"
    yield "GET", f"{base}/files{query(p)}", {}
    yield "POST", f"{base}/mkdir", {"json": {"path": p}}
    yield "POST", f"{base}/request-download", {"json": {"path": p}}
    yield "POST", f"{base}/request-download", {"json": {"path": p, "archive": True}}


async def plant_links(live: Live, mine: Path, theirs: Path) -> Path:
    """Links a session could make in its folder: up and out of the volume, chains to /etc,
    into another user's folder (absolute and relative), outside the node, and a loop."""
    outside = live.data_dir.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "target.txt").write_text("outside the node")
    os.symlink("../../../../..", mine / "up")
    os.symlink("chain2", mine / "chain")
    os.symlink("chain3", mine / "chain2")
    os.symlink("/etc", mine / "chain3")
    os.symlink("/etc", mine / "abs")
    os.symlink(str(theirs), mine / "sib")
    os.symlink(os.path.relpath(theirs, mine), mine / "relsib")
    os.symlink(str(outside), mine / "out")
    os.symlink("loop", mine / "loop")
    return outside


async def test_path_payloads_on_every_file_route_are_refused_and_change_nothing(
    live: Live,
) -> None:
    """Suite (and defect 1's "no blocking"): ~500 hostile paths on ls, mkdir, move-file,
    rename-file, delete-files, request-upload and request-download; each answers 4xx and
    the volume (and a directory outside the node) is unchanged; another user is answered
    quickly between the volleys."""
    mallory = await live.new_user("replay-mallory@example.com")
    alice = await live.new_user("replay-alice@example.com")
    minfo = await mallory.post("/folders", json={"name": "m"})
    ainfo = await alice.post("/folders", json={"name": "secret"})
    await upload(mallory, "m", "ok.txt", b"ok")
    await upload(mallory, "m", "d/inner.txt", b"inner")
    await upload(alice, "secret", "secret.txt", b"alice's secret")
    mine, theirs = folder_dir(live.volume, minfo), folder_dir(live.volume, ainfo)
    outside = await plant_links(live, mine, theirs)

    reqs: list[Req] = []
    for p in ESCAPES:
        reqs += file_routes("m", p)
    for p in LINKS:
        reqs += read_routes("m", p)
    for name in BAD_NAMES:
        body = {"target_path": "ok.txt", "new_name": name}
        reqs.append(("POST", "/folders/m/rename-file", {"json": body}))
    # Folders that are not mallory's, or not folders: by name, by id, encoded dots.
    for folder in ("secret", ainfo["id"], "%2E%2E", "..%2F..%2Fsecret", str(uuid.uuid4())):
        reqs += read_routes(folder, "secret.txt")
        reqs.append(
            ("DELETE", f"/folders/{folder}/delete-files", {"json": {"files": ["secret.txt"]}})
        )

    before = snapshot(live.volume, outside)
    failures: list[str] = []

    async def one(req: Req) -> None:
        method, path, kw = req
        r = await send(mallory, method, path, **kw)
        if not is_4xx(r):
            failures.append(f"{method} {path} {str(kw)[:90]} -> {r.status_code} {msg(r)[:100]}")

    for i in range(0, len(reqs), 24):
        await asyncio.gather(*(one(req) for req in reqs[i : i + 24]))
        if i % 120 == 0:
            await answers_quickly(alice, "during the replay")
    assert not failures, f"{len(failures)} of {len(reqs)} not refused:\n" + "\n".join(failures[:25])
    assert before == snapshot(live.volume, outside), diff(before, snapshot(live.volume, outside))
    assert (mine / "ok.txt").read_bytes() == b"ok"


async def test_transfer_routes_check_the_paths_in_their_tokens(live: Live) -> None:
    """Suite: download, HEAD and tus PATCH/HEAD with tokens signed by the node's own key but
    naming hostile paths and upload ids: each answers 4xx and nothing changes on disk."""
    mallory = await live.new_user("replay-tokens@example.com")
    alice = await live.new_user("replay-tokens-alice@example.com")
    minfo = await mallory.post("/folders", json={"name": "mt"})
    ainfo = await alice.post("/folders", json={"name": "at"})
    await upload(mallory, "mt", "ok.txt", b"ok")
    await upload(mallory, "mt", "d/inner.txt", b"inner")
    await upload(alice, "at", "secret.txt", b"alice's secret")
    outside = await plant_links(
        live, folder_dir(live.volume, minfo), folder_dir(live.volume, ainfo)
    )
    key = node_token_key(live.data_dir)
    url = live.endpoint
    before = snapshot(live.volume, outside)
    failures: list[str] = []

    async def check(label: str, r: httpx.Response) -> None:
        if not is_4xx(r):
            failures.append(f"{label} -> {r.status_code} {r.content[:100]!r}")

    for p in [*ESCAPES, *LINKS]:
        for archive in (False, True):
            token = forge(
                key, op="download", vol="local", vfid=minfo["id"], relpath=p, archive=archive
            )
            params = {"token": token, **({"archive": "true"} if archive else {})}
            await check(
                f"GET /download {p!r}", await live.http.get(f"{url}/download", params=params)
            )
        await check(
            f"HEAD /download {p!r}",
            await live.http.head(f"{url}/download", params={"token": token}),
        )
        up = forge(key, op="upload", vol="local", vfid=minfo["id"], relpath=p, size=3, session=p)
        await check(
            f"PATCH /upload {p!r}",
            await live.http.patch(
                f"{url}/upload",
                params={"token": up},
                content=b"abc",
                headers={**TUS, "Upload-Offset": "0"},
            ),
        )
        await check(
            f"HEAD /upload {p!r}",
            await live.http.head(f"{url}/upload", params={"token": up, **TUS}),
        )
    await answers_quickly(alice, "after the token replay")
    assert not failures, "\n".join(failures[:25])
    assert before == snapshot(live.volume, outside), diff(before, snapshot(live.volume, outside))


# ---- defect 4: a slow `like` -----------------------------------------------------------------

QUERY = """query($limit:Int!, $offset:Int!, $group_id: UUID, $filter: String, $order: String) {
  vfolder_list(
      limit:$limit, offset:$offset, group_id:$group_id, filter:$filter, order:$order) {
    items { host name created_at creator group permission ownership_type status }
    total_count
  }
}"""


def gql_body(flt: Any = None, **variables: Any) -> dict[str, Any]:
    return {"query": QUERY, "variables": {"limit": 100, "offset": 0, "filter": flt, **variables}}


async def test_like_filters_answer_fast_and_block_nobody(live: Live) -> None:
    """Defect 4: a folder named "a"*64 and `name like "%a%a%a%a%a%a%a%b"` (10.9 s before,
    10× more per extra `%a`) answers in under a second, and so does everyone else meanwhile."""
    mallory = await live.new_user("like-mallory@example.com")
    alice = await live.new_user("like-alice@example.com")
    await mallory.post("/folders", json={"name": "a" * 64})
    filters = [
        'name like "%a%a%a%a%a%a%a%b"',
        'name ilike "' + "%A" * 12 + '%b"',
        'name like "' + "%a" * 30 + '%b" | name ilike "' + "%a" * 30 + '%b"',
    ]
    for flt in filters:
        attack = asyncio.create_task(timed(send(mallory, "POST", "/admin/gql", json=gql_body(flt))))
        await asyncio.sleep(0.05)
        await answers_quickly(alice, f"while {flt[:30]}… runs")
        r, took = await attack
        assert took < 1.0, f"{flt[:40]}…: {took:.2f} s"
        assert r.status_code == 200 and not r.json().get("errors"), r.text[:300]
        assert r.json()["data"]["vfolder_list"]["items"] == []
    # A filter as long as a request allows is refused or answered, quickly.
    huge = 'name like "' + "%a" * 50_000 + '%b"'
    r, took = await timed(send(mallory, "POST", "/admin/gql", json=gql_body(huge)))
    assert took < 1.0 and r.status_code < 500, (took, r.status_code)


# ---- defect 5: 500s that must be 4xx -------------------------------------------------------

# Wrong types, unknown operators and fields, broken syntax, nesting past any bound: errors.
BAD_FILTERS = [
    "name < 5",
    "name in 5",
    'cur_size > "a"',
    'name == "\\x"',
    "(" * 3000 + 'name == "a"' + ")" * 3000,
    "(" * 2000 + 'name == "a"' + ")" * 2000,
    'name ~~ "a"',
    'nosuch == "a"',
    '"unterminated',
    'name == "a" &',
    "cur_size > 1e999",
    "name == " + "9" * 5000,
    "created_at < 5",
    ")(",
]
BAD_VARIABLES: list[dict[str, Any]] = [
    {"offset": "abc"},
    {"limit": -1},
    {"limit": "1"},
    {"offset": 1.5},
    {"filter": 5},
    {"filter": ["name == 'a'"]},
    {"order": ["name"]},
    {"order": "nosuch"},
    {"order": {"a": 1}},
    {"group_id": 5},
]
# Odd but answerable: an error or an answer, never a 500.
ODD_FILTERS = [
    "name like 5",
    'name in ["a", 5, [1]]',
    "cur_size > " + "9" * 400,
    "name is 5",
]
ODD_VARIABLES: list[dict[str, Any]] = [{"limit": 10**30}, {"group_id": "not-a-uuid"}]


def gql_refused(r: httpx.Response) -> bool:
    """A 4xx, or GraphQL's 200 with an `errors` array — never a 500, never data."""
    if is_4xx(r):
        return True
    if r.status_code != 200:
        return False
    body = r.json()
    return bool(body.get("errors")) and not body.get("data")


async def test_graphql_payloads_are_refused_not_500(node: InProcessNode) -> None:
    """Defect 5: GraphQL filters with wrong types or unknown operators, 3000 nested brackets,
    `offset: "abc"`, a list as `vfolder_host`, non-string queries: errors, never a 500."""
    mallory = await node.new_user("gql-mallory@example.com")
    await mallory.post("/folders", json={"name": "x"})
    must: list[tuple[Any, dict[str, Any]]] = [(mallory, gql_body(f)) for f in BAD_FILTERS]
    must += [(mallory, {"query": QUERY, "variables": {"limit": 10, **v}}) for v in BAD_VARIABLES]
    must += [
        (mallory, {"query": 5}),
        (mallory, {"query": None}),
        (mallory, {"query": QUERY, "variables": []}),
        (mallory, {"query": QUERY, "variables": "x"}),
        (mallory, {"query": "{" * 5000 + "}" * 5000}),
    ]
    vol_query = "query($vfolder_host: String!) { storage_volume(id: $vfolder_host) { id } }"
    for host in (["local"], {"a": 1}, 5, ["local", "x"]):
        for var in ("vfolder_host", "id"):
            must.append((node.admin, {"query": vol_query, "variables": {var: host}}))
    odd: list[tuple[Any, dict[str, Any]]] = [(mallory, gql_body(f)) for f in ODD_FILTERS]
    odd += [(mallory, {"query": QUERY, "variables": {"limit": 10, **v}}) for v in ODD_VARIABLES]
    odd.append(
        (mallory, {"query": "query { vfolder_list(" + "(" * 5000 + ") { items { name } } }"})
    )
    odd += [
        (node.admin, {"query": vol_query, "variables": {v: None}}) for v in ("vfolder_host", "id")
    ]
    bad = []
    for group, refused in ((must, gql_refused), (odd, lambda r: r.status_code < 500)):
        for client, body in group:
            r = await send(client, "POST", "/admin/gql", json=body)
            if not refused(r):
                shown = body.get("variables") if body.get("query") in (QUERY, vol_query) else body
                bad.append(f"{str(shown)[:100]} -> {r.status_code} {r.text[:150]}")
    assert not bad, f"{len(bad)} of {len(must) + len(odd)}:\n" + "\n".join(bad)


async def test_dates_of_year_1_and_9999_are_401(node: InProcessNode) -> None:
    """Defect 5: a Date of year 1 or 9999 (which overflows once made UTC) is a 401 before
    sign-in, not a 500."""
    mallory = await node.new_user("date-mallory@example.com")
    bad = []
    dates = [
        ("Date", "0001-01-01T00:00:00+05:00"),
        ("Date", "9999-12-31T23:59:59-05:00"),
        ("Date", "Mon, 01 Jan 0001 00:00:00 +0500"),
        ("X-BackendAI-Date", "9999-12-31T23:59:59-14:00"),
        ("X-BackendAI-Date", "0001-01-01T00:00:00.000001+23:59"),
    ]
    for header, value in dates:
        request = mallory.build("GET", "/folders")
        request.headers[header] = value
        if header != "Date":
            del request.headers["Date"]
        r = await mallory.http.send(request)
        if r.status_code != 401:
            bad.append(f"{header}: {value} -> {r.status_code} {msg(r)}")
    assert not bad, "\n".join(bad)


async def test_upload_offsets_that_are_not_ascii_digits_are_400(live: Live) -> None:
    """Defect 5: `Upload-Offset: ²` (a digit `int()` refuses) and other odd offsets are
    400s (a well-formed offset past the data is a 4xx too); the upload still completes.
    Against a real node: the raw header bytes must reach the server as sent."""
    mallory = await live.new_user("offset-mallory@example.com")
    await mallory.post("/folders", json={"name": "o"})
    res = await mallory.post("/folders/o/request-upload", json={"path": "f.bin", "size": 4})
    url = f"{live.endpoint}/upload?token={res['token']}"
    odd: list[bytes] = [
        "²".encode("latin-1"),
        "²".encode(),
        "١".encode(),
        b"-1",
        b"+0",
        b"0x0",
        b"1e3",
        b"",
        b"0 0",
        b"\xff",
    ]
    bad = []
    for value in odd:
        r = await live.http.patch(
            url,
            content=b"abcd",
            headers=[
                *((k.encode(), v.encode()) for k, v in TUS.items()),
                (b"Upload-Offset", value),
            ],
        )
        if r.status_code != 400:
            bad.append(f"Upload-Offset: {value!r} -> {r.status_code} {r.text[:120]}")
    r = await live.http.patch(url, content=b"ab", headers={**TUS, "Upload-Offset": "9" * 40})
    if not is_4xx(r):
        bad.append(f"Upload-Offset: 9×40 -> {r.status_code} {r.text[:120]}")
    assert not bad, "\n".join(bad)
    r = await live.http.patch(url, content=b"abcd", headers={**TUS, "Upload-Offset": "0"})
    assert r.status_code == 204, r.text


async def test_json_nested_100000_deep_is_400(node: InProcessNode) -> None:
    """Defect 5: a JSON body nested 100,000 deep is a 400 on every kind of JSON route."""
    mallory = await node.new_user("deep-mallory@example.com")
    await mallory.post("/folders", json={"name": "deep"})
    n = 100_000
    bodies = [
        b"[" * n + b"]" * n,
        b'{"a":' * n + b"1" + b"}" * n,
        b'{"path": ' + b"[" * n + b"]" * n + b"}",
    ]
    routes = [
        (mallory, "POST", "/folders"),
        (mallory, "POST", "/admin/gql"),
        (mallory, "DELETE", "/folders/deep/delete-files"),
        (mallory, "GET", "/folders/deep/files"),
        (mallory, "POST", "/folders/deep/request-upload"),
        (mallory, "POST", "/folders/deep/mkdir"),
        (mallory, "DELETE", "/folders"),
        (node.admin, "PUT", "/admin/quota-scopes/local/deep-mallory@example.com"),
    ]
    bad = []
    for client, method, path in routes:
        for body in bodies:
            r = await send(client, method, path, content=body)
            if r.status_code != 400:
                bad.append(f"{method} {path} {body[:12]!r}… -> {r.status_code} {msg(r)[:100]}")
    assert not bad, "\n".join(bad)


# ---- defect 6: uploads that can never finish -----------------------------------------------


async def test_uploads_onto_a_directory_or_under_a_file_are_refused_at_request(
    node: InProcessNode,
) -> None:
    """Defect 6: request-upload to an existing directory, or to a path under a file (or
    under a FIFO), is refused at request time: no token, nothing staged, no upload row."""
    mallory = await node.new_user("nofinish@example.com")
    info = await mallory.post("/folders", json={"name": "nf"})
    await upload(mallory, "nf", "file.txt", b"a file")
    await mallory.post("/folders/nf/mkdir", json={"path": "dir/sub", "parents": True})
    volume = node.config.volumes["local"].path
    assert volume is not None
    os.mkfifo(folder_dir(volume, info) / "fifo")
    bad = []
    for path in ("dir", "dir/", "dir/sub", "file.txt/x", "file.txt/x/y", "fifo/x"):
        r = await send(
            mallory, "POST", "/folders/nf/request-upload", json={"path": path, "size": 10}
        )
        if not is_4xx(r):
            bad.append(f"request-upload {path!r} -> {r.status_code} {r.text[:100]}")
    assert not bad, "\n".join(bad)
    assert staged(volume) == []
    async with node.node.engine.connect() as conn:
        rows = (await conn.execute(sa.select(t.uploads.c.path))).all()
    assert rows == [], f"upload rows left: {rows}"


# ---- defect 9: other users' tasks, host paths in messages ----------------------------------


async def test_other_users_tasks_are_not_readable(live: Live) -> None:
    """Defect 9: bob cannot read alice's clone or delete task (404), by id or as events."""
    alice = await live.new_user("task-alice@example.com")
    bob = await live.new_user("task-bob@example.com")
    await alice.post("/folders", json={"name": "mine", "cloneable": True})
    res = await alice.post("/folders/mine/clone", json={"target_name": "mine2"})
    clone_id = res["bgtask_id"]
    await wait_task(alice, clone_id)
    await alice.request("DELETE", "/folders/mine2")
    res = await alice.post("/folders/delete-from-trash-bin", json={"vfolder_id": "mine2"})
    delete_id = res["bgtask_id"]
    await wait_task(alice, delete_id)
    for task_id in (clone_id, delete_id):
        r = await send(bob, "GET", f"/tasks/{task_id}")
        assert r.status_code == 404, f"bob reads alice's task: {r.status_code} {r.text[:200]}"
        r = await send(bob, "GET", "/events/background-task", params={"task_id": task_id})
        assert r.status_code == 404, f"bob follows alice's task: {r.status_code}"


async def test_a_failed_tasks_message_has_no_host_path(tmp_path: Path) -> None:
    """Defect 9: a deletion that fails on disk (the folder's directory was replaced by a
    file) fails its task with a message that names no absolute host path."""
    config = make_config(tmp_path)
    volume = config.volumes["local"].path
    assert volume is not None
    async with in_process_node(config, allow_tracebacks=True) as n:
        alice = await n.new_user("task-path@example.com")
        info = await alice.post("/folders", json={"name": "doomed"})
        await upload(alice, "doomed", "f.txt", b"data")
        await alice.request("DELETE", "/folders/doomed")
        path = folder_dir(volume, info)
        for entry in path.iterdir():
            entry.unlink()
        path.rmdir()
        path.write_text("a file where the folder's directory was")
        res = await alice.post("/folders/delete-from-trash-bin", json={"vfolder_id": info["id"]})
        task = await wait_task(alice, res["bgtask_id"], node=n)
        message = str(task["message"])
        for needle in (str(tmp_path), str(volume), ".bai-trash", ".bai-staging"):
            assert needle not in message, f"task message shows {needle!r}: {message}"
        if task["status"] == "failed":
            assert message.strip(), "a failed task says why"


# ---- defect 10: X-Forwarded-For ------------------------------------------------------------


async def test_forwarded_for_does_not_dodge_the_sign_in_throttle(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Defect 10: from 127.0.0.1, a new `X-Forwarded-For` on every failed sign-in does not
    make a new address: after the limit the connection's address is blocked (429)."""
    data = tmp_path_factory.mktemp("xff") / "bai-data"
    proc = start_node(data, "[auth]\nthrottle_failures = 3\nthrottle_window = 60\n")
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            live = Live(proc, http)
            admin = live.admin
            statuses = []
            for i in range(6):
                request = admin.build("GET", "/folders")
                request.headers["Authorization"] = request.headers["Authorization"][:-8] + "0" * 8
                request.headers["X-Forwarded-For"] = f"203.0.113.{i + 1}"
                statuses.append((await http.send(request)).status_code)
            assert statuses[:3] == [401, 401, 401], statuses
            assert statuses[3:] == [429, 429, 429], (
                f"failed sign-ins with a new X-Forwarded-For each: {statuses}"
            )
            request = admin.build("GET", "/folders")
            request.headers["X-Forwarded-For"] = "198.51.100.7"
            r = await http.send(request)
            assert r.status_code == 429, (
                f"a good signature from the blocked address: {r.status_code}"
            )
    finally:
        kill_node(proc)
