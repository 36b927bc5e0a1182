"""Provides the bucket-import body (`POST /folders/_/import`, administrators)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from bai.api.base import WireRequest, choice
from bai.enums import Permission, UsageMode


class BucketImport(WireRequest):
    """An existing bucket (`source` = BUCKET or BUCKET/PREFIX) made a folder, no copy."""

    source: str
    name: str
    host: str | None = None
    owner: str | None = None  # the owning user's e-mail ...
    group: str | None = None  # ... or a project (name or id)
    read_only: bool = False
    usage_mode: Annotated[str, choice(UsageMode)] = UsageMode.MODEL.value
    permission: Annotated[str, choice(Permission, "members' permission")] = Permission.RW.value
    endpoint: str | None = None  # another S3 service than the host's
    access_key: str | None = None  # the bucket's own credentials, if it needs them
    secret_key: Annotated[str | None, msgspec.Meta(extra={"writeOnly": True})] = None
