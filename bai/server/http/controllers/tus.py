"""Provides tus creation on `POST /upload`: creation, creation-with-upload, concatenation.

Authorised by a creation token (request-upload with `creation`): uploads below one
directory of one folder, each checked against the grantee's permission as it is then. The
`path` (or `filename`) of `Upload-Metadata` names the file below that directory.

- A whole small file in the POST (creation-with-upload, `Content-Length` = `Upload-Length`)
  is committed with the others arriving at the same time (`bai.folders.smallfiles`): one
  request, durable before the 201. The middleware takes this case before Litestar's routing
  work, which costs more than the file itself.
- Any other POST creates a pending upload (with what body it carries), continued by PATCH
  at the `Location` the answer gives, exactly as a request-upload ticket.
- `Upload-Concat: partial` creates a part that never appears by itself; `Upload-Concat:
  final;URL URL…` joins complete parts, in that order, into the file.

- `Content-Type: application/x-tar` (bai's own, announced as `bai-tar` in `Tus-Extension`):
  a tar stream of whole regular files, many per request, committed together once the whole
  stream has arrived and been accepted (`bai.folders.tarbatch`); 201 with `{files, bytes}`.

The official client does none of this: it keeps request-upload and PATCH (plain tus 1.0.0).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import PurePosixPath
from urllib.parse import parse_qs, quote, urlsplit

from bai import api
from bai.errors import BaiError, Forbidden, InvalidRequest
from bai.folders.fileio import PendingUpload
from bai.folders.tarbatch import BLOCK, MAX_BYTES, MAX_FILES, TarBatch
from bai.node import Node
from bai.paths import clean_relpath, is_top
from bai.server.http.tokens import TokenIssuer, TransferClaims

EXTENSIONS = "creation,creation-with-upload,concatenation,bai-tar"
TAR = "application/x-tar"
SMALL_BODY = 1 << 20  # a whole file up to this size is committed in a group

# Writes a body into a pending upload from offset 0: the new offset.
WriteBody = Callable[[TransferClaims], Awaitable[int]]


def tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": api.TUS_VERSION, "Cache-Control": "no-store", **extra}


def _metadata(raw: str | None) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64value` pairs."""
    out: dict[str, str] = {}
    for pair in (raw or "").split(","):
        key, _, value = pair.strip().partition(" ")
        if not key:
            continue
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRequest(f"Upload-Metadata value of {key!r} is not base64 UTF-8") from None
    return out


def target(claims: TransferClaims, headers: Mapping[str, str], required: bool = True) -> str:
    meta = _metadata(headers.get("upload-metadata"))
    name = meta.get("path") or meta.get("filename")
    if not name:
        if required:
            raise InvalidRequest("Upload-Metadata needs the file's `path` (base64)")
        return str(clean_relpath(claims.path) / ".bai-part")
    rel = clean_relpath(claims.path) / clean_relpath(name)
    if is_top(clean_relpath(name)):
        raise InvalidRequest("Upload-Metadata `path` must name a file")
    return str(rel)


def _length(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidRequest(f"{name} must be a byte count")
    return int(raw)


def whole_body(headers: Mapping[str, str]) -> int | None:
    """The size of a whole small file sent in the POST itself, else None."""
    if "upload-concat" in headers:
        return None
    try:
        length, body = _length(headers, "upload-length"), _length(headers, "content-length")
    except InvalidRequest:
        return None
    if length is None or length > SMALL_BODY or (body or 0) != length:
        return None
    return length


def _location(services: Node, tokens: TokenIssuer, claims: TransferClaims) -> str:
    return f"{services.config.endpoint}/upload?token={tokens.issue(claims)}"


def _upload_claims(claims: TransferClaims, pending: PendingUpload) -> TransferClaims:
    return TransferClaims(
        "upload",
        claims.host,
        claims.folder_id,
        str(pending.rel),
        size=pending.size,
        upload_id=pending.id,
        access_key=claims.access_key,
    )


async def put_whole(
    services: Node,
    tokens: TokenIssuer,
    claims: TransferClaims,
    headers: Mapping[str, str],
    body: bytes,
) -> dict[str, str]:
    """Creation-with-upload of a whole small file: committed (durable) on return."""
    rel = target(claims, headers)
    await services.files.small.put(claims.access_key, claims.folder_id, PurePosixPath(rel), body)
    # The upload is over and nothing is left to resume, so its Location only names it (a
    # token per file would cost more than the file): the file's path in the folder.
    location = f"{services.config.endpoint}/upload#{quote(rel)}"
    return tus_headers(Location=location, **{"Upload-Offset": str(len(body))})


def _part_id(url: str, tokens: TokenIssuer, claims: TransferClaims) -> str:
    token = parse_qs(urlsplit(url.strip()).query).get("token", [""])[0]
    part = tokens.verify(token, "upload")
    if part.folder_id != claims.folder_id or part.access_key != claims.access_key:
        raise Forbidden("a final upload can only join parts granted to the same keypair")
    return part.upload_id


async def create(
    services: Node,
    tokens: TokenIssuer,
    claims: TransferClaims,
    headers: Mapping[str, str],
    read_body: Callable[[], Awaitable[bytes]],
    write_body: WriteBody,
    join: Callable[[PurePosixPath, list[str]], Awaitable[int]],
) -> dict[str, str]:
    """Every form of `POST /upload` (see the module docstring); the answer's headers.
    `join(path, ids)` joins the parts while no PATCH can write to them."""
    concat = headers.get("upload-concat", "").strip()
    if concat.startswith("final"):
        _, _, urls = concat.partition(";")
        parts = [_part_id(u, tokens, claims) for u in urls.split()]
        rel = target(claims, headers)
        total = await join(PurePosixPath(rel), parts)
        done = TransferClaims(
            "upload", claims.host, claims.folder_id, rel, size=total, access_key=claims.access_key
        )
        return tus_headers(Location=_location(services, tokens, done))
    if concat and concat != "partial":
        raise InvalidRequest("Upload-Concat must be `partial` or `final;URL…`")
    length = _length(headers, "upload-length")
    if length is None:
        raise InvalidRequest("POST /upload needs Upload-Length (deferred lengths are not offered)")
    if whole_body(headers) is not None:
        return await put_whole(services, tokens, claims, headers, await read_body())
    partial = concat == "partial"
    path = PurePosixPath(target(claims, headers, required=not partial))
    pending = await services.files.create_upload(
        claims.access_key, claims.folder_id, path, length, partial
    )
    upload = _upload_claims(claims, pending)
    offset = 0
    if (_length(headers, "content-length") or 0) > 0:
        offset = await write_body(upload)
    return tus_headers(
        Location=_location(services, tokens, upload), **{"Upload-Offset": str(offset)}
    )


def is_tar(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").split(";")[0].strip().lower() == TAR


async def put_tar(
    services: Node,
    claims: TransferClaims,
    headers: Mapping[str, str],
    body: AsyncIterator[bytes],
) -> dict[str, int]:
    """A tar batch of whole files below the grant's directory: all of them written (durable
    on return), or, when the stream is refused, none."""
    length = _length(headers, "content-length")
    if length is not None and length > MAX_BYTES + (MAX_FILES * 3 + 2) * BLOCK:
        raise InvalidRequest(f"a tar batch holds at most {MAX_BYTES} bytes of files")
    batch = TarBatch()
    async for chunk in body:
        batch.feed(chunk)
    base = clean_relpath(claims.path)
    files: dict[PurePosixPath, bytes] = {}
    for member in batch.finish():
        name = clean_relpath(member.name)
        if is_top(name):
            raise InvalidRequest(f"tar entry {member.name!r} names no file; nothing was written")
        if base / name in files:
            raise InvalidRequest(f"tar entry {member.name!r} comes twice; nothing was written")
        files[base / name] = member.data
    if not files:
        return {"files": 0, "bytes": 0}
    items = list(files.items())
    results = await services.files.small.put_batch(claims.access_key, claims.folder_id, items)
    failed = [
        (rel, r) for (rel, _), r in zip(items, results, strict=True) if isinstance(r, BaiError)
    ]
    if failed:
        listed = "; ".join(f"{rel}: {err}" for rel, err in failed[:5])
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        raise type(failed[0][1])(
            f"{len(items) - len(failed)} of {len(items)} files were written; not written: "
            f"{listed}{more}"
        )
    return {"files": len(items), "bytes": sum(len(d) for d in files.values())}
