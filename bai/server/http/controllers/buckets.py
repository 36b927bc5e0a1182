"""Provides `POST /folders/_/import`: an existing bucket or prefix becomes a folder (admins)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from bai import api
from bai.folders.imports import ImportRequest
from bai.server.http import wire
from bai.server.http.deps import Caller, Services


class BucketsController(Controller):
    path = "/folders/_"
    tags = ("folders",)  # type: ignore[assignment]

    @post("/import", operation_id="importBucket", status_code=HTTP_201_CREATED)
    async def import_bucket(
        self, principal: Caller, services: Services, data: JSONBody[api.BucketImport]
    ) -> api.FolderInfo:
        """Make an existing bucket (or a prefix of one) a folder without copying it. The
        secret key, if given, is stored sealed and never returned."""
        folder = await services.imports.import_bucket(
            principal,
            ImportRequest(
                host=data.host,
                source=data.source,
                name=data.name,
                owner_email=data.owner,
                project=data.group,
                read_only=data.read_only,
                usage_mode=data.usage_mode,
                permission=data.permission,
                endpoint=data.endpoint,
                access_key=data.access_key,
                secret_key=data.secret_key,
            ),
        )
        return wire.folder_info(folder)
