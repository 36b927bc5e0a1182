"""Provides the unauthenticated version document and the manager announcement."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get

from bai import API_VERSION, __version__
from bai.server.auth import SKIP_AUTH


class RootController(Controller):
    path = "/"
    tags = ("node",)  # type: ignore[assignment]

    @get("/", operation_id="getVersion", opt={SKIP_AUTH: True})
    async def version(self) -> dict[str, str]:
        """The version document the official client negotiates before every command."""
        return {"version": API_VERSION, "manager": __version__}

    @get("/manager/announcement", operation_id="getAnnouncement")
    async def announcement(self) -> dict[str, Any]:
        # List commands of the official client hang on a 2xx without `enabled`.
        return {"enabled": False, "message": ""}
