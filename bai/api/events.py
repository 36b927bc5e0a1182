"""Provides `ChangeEventData`: one folder or file change, as `GET /events` streams it.

The stream is server-sent events: `event: change` with this struct as JSON `data`, `event:
ping` every few seconds (so both ends notice a dead connection), and `event: resync` when the
subscriber fell behind and lost events (re-read everything).
"""

from __future__ import annotations

import uuid

from bai.api.base import WireResponse

CHANGE = "change"
PING = "ping"
RESYNC = "resync"


class ChangeEventData(WireResponse):
    kind: str  # folder, files, invitation
    folder_id: uuid.UUID | None = None
    path: str | None = None  # the folder-relative directory of a file change, when known
