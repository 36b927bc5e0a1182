"""Provides the dotfile bodies of Backend.AI's `/user-config/dotfiles` (and the `group-` and
`domain-config` variants): create and update take `path`, `data` and `permission`; list
answers a JSON array of those; get answers one; delete answers `{"success": true}`."""

from __future__ import annotations

from bai.api.base import WireRequest, WireResponse


class DotfileWrite(WireRequest):
    path: str
    data: str
    permission: str = "755"  # octal digits
    owner_access_key: str | None = None  # Backend.AI's admin-on-behalf; must be the caller's
    group: str | None = None  # project name or id (group-config)
    domain: str | None = None  # (domain-config)


class DotfileItem(WireResponse):
    path: str
    permission: str
    data: str


class DotfileDone(WireResponse):
    """Create and update answer an empty object in Backend.AI; bai names the path."""

    path: str


class DotfileDeleted(WireResponse):
    success: bool
