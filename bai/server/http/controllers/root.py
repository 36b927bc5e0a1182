"""Provides the unauthenticated version document and the manager announcement."""

from __future__ import annotations

from litestar import Controller, get

from bai import API_VERSION, __version__, api
from bai.server.http.auth import SKIP_AUTH


class RootController(Controller):
    path = "/"
    tags = ("node",)  # type: ignore[assignment]

    @get("/", operation_id="getVersion", opt={SKIP_AUTH: True})
    async def version(self) -> api.VersionInfo:
        """The version document the official client negotiates before every command."""
        return api.VersionInfo(version=API_VERSION, manager=__version__)

    @get("/manager/announcement", operation_id="getAnnouncement")
    async def announcement(self) -> api.Announcement:
        # List commands of the official client hang on a 2xx without `enabled`.
        return api.Announcement(enabled=False, message="")
