"""Provides the node's unauthenticated documents: the API version and the announcement."""

from __future__ import annotations

from bai.api.base import WireResponse


class VersionInfo(WireResponse):
    """`GET /`: the official client negotiates with `version` before every command."""

    version: str
    manager: str


class Announcement(WireResponse):
    """`GET /manager/announcement`: the official list commands hang without `enabled`."""

    enabled: bool = False
    message: str = ""
