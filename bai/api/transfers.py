"""Provides the transfer bodies: request-upload and request-download, and their ticket.

A ticket's `url` is the storage-proxy route (`/upload`, tus 1.0.0; `/download`, ranged GET);
the `token` goes in its `?token=` query. Only JSON bodies live here: the tus PATCH/HEAD and
the download carry raw bytes and headers.
"""

from __future__ import annotations

from bai.api.base import WireRequest, WireResponse

TUS_VERSION = "1.0.0"


class UploadRequest(WireRequest):
    path: str
    size: int  # the whole file's length in bytes
    # bai's own: a grant to create uploads below the directory `path` with tus creation
    # (`POST /upload`, creation-with-upload, concatenation); `size` is then ignored.
    creation: bool = False


class DownloadRequest(WireRequest):
    path: str
    archive: bool = False  # a directory as a streamed zip


class TransferTicket(WireResponse):
    url: str
    token: str
