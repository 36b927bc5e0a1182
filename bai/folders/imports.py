"""Provides `BucketImports`: an existing bucket, or a prefix of one, becomes a folder.

The seed's "use existing bucket data without any hassle": nothing is copied. The folder's row
records the mapping (endpoint, bucket, prefix, read-only flag and, when the bucket needs
credentials of its own, the access key and the secret key sealed with the node secret); the
first reconcile listing counts what is there, off the request path. Deleting an imported
folder forgets the mapping and leaves the objects where they were.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bai.access import Principal, check_host_permission, require_admin
from bai.db import tables as t
from bai.enums import FolderStatus, HostPermission, UsageMode, choices
from bai.errors import Conflict, InvalidRequest, NotFound
from bai.folders.models import PERMISSIONS, READY, VFolder
from bai.folders.names import check_folder_name
from bai.folders.repository import folder_by_id
from bai.folders.service import FolderService
from bai.folders.usage import UsageService
from bai.storage.base import BucketSource, SecretCipher
from bai.storage.s3client import normalize_endpoint
from bai.storage.s3objects import split_import

v = t.vfolders


@dataclass(frozen=True)
class ImportRequest:
    host: str | None
    source: str  # BUCKET[/PREFIX]
    name: str
    owner_email: str | None = None
    project: str | None = None
    read_only: bool = False
    usage_mode: str = "model"
    permission: str = "rw"
    endpoint: str | None = None
    access_key: str | None = None
    secret_key: str | None = None  # sealed before it is stored; never echoed


class BucketImports:
    def __init__(self, folders: FolderService, usage: UsageService, cipher: SecretCipher) -> None:
        self.folders = folders
        self.usage = usage
        self.cipher = cipher

    async def import_bucket(self, p: Principal, req: ImportRequest) -> VFolder:
        require_admin(p)
        check_folder_name(req.name)
        if req.usage_mode not in choices(UsageMode):
            raise InvalidRequest(f"usage mode must be one of {', '.join(choices(UsageMode))}")
        if req.permission not in PERMISSIONS:
            raise InvalidRequest(f"permission must be one of {', '.join(PERMISSIONS)}")
        if (req.owner_email is None) == (req.project is None):
            raise InvalidRequest("give the folder an owner: --owner EMAIL or --project NAME")
        if (req.access_key is None) != (req.secret_key is None):
            raise InvalidRequest("give both the access key and the secret key, or neither")
        host = self.folders.hosts.parse(req.host)
        vol = self.folders.volume(host)
        endpoint = normalize_endpoint(req.endpoint) if req.endpoint is not None else None
        own = normalize_endpoint(vol.config.endpoint) if vol.config.endpoint else None
        if endpoint is not None and endpoint == own:
            endpoint = None  # the host's own service, however it was spelled
        check_host_permission(p, host, HostPermission.CREATE_VFOLDER)
        bucket, prefix = split_import(req.source)
        sealed = self.cipher.encrypt(req.secret_key) if req.secret_key is not None else None
        source = BucketSource(
            bucket, prefix, endpoint, req.access_key, sealed, read_only=req.read_only
        )
        await vol.check_source(source)  # exists and the credentials reach it
        meta: dict[str, Any] = {"bucket": bucket, "prefix": prefix}
        if endpoint is not None:
            meta["endpoint"] = endpoint
        if req.access_key is not None:
            meta["access_key"] = req.access_key
            meta["secret_sealed"] = sealed
        async with self.folders.engine.connect() as conn:
            await self._check_not_mapped(conn, host, source, endpoint)
            user_id, project_id = await self._owner(conn, req)
        if project_id is not None:
            scope, ownership, permission = f"project:{project_id}", "group", req.permission
        else:
            scope, ownership, permission = f"user:{user_id}", "user", "wd"
        await self.folders.quota.ensure(host, scope)
        folder_id = uuid.uuid4()
        # The owner's (or project's) names must be free: the unique indexes say so.
        await self.folders._insert(
            folder_id=folder_id,
            host=host,
            scope=scope,
            name=req.name,
            usage_mode=req.usage_mode,
            permission=permission,
            ownership=ownership,
            user_id=user_id,
            project_id=project_id,
            creator=p.email,
            cloneable=False,
            status=READY,
            location=source.location,
            read_only=req.read_only,
            storage_meta=meta,
        )
        self.usage.mark(folder_id)  # count what the bucket holds, off this request
        self.folders.events.folder_changed(folder_id)
        async with self.folders.engine.connect() as conn:
            folder = await folder_by_id(conn, folder_id)
        assert folder is not None
        return folder

    async def _check_not_mapped(
        self, conn: Any, host: str, source: BucketSource, endpoint: str | None
    ) -> None:
        """One bucket place, one folder: two folders over the same objects (or one inside the
        other) would count the same bytes twice and let either delete the other's files."""
        # Every folder whose data may still be there: trashed ones can be restored, and a
        # deletion that failed or goes on has not removed everything yet.
        rows = await conn.execute(
            sa.select(v.c.name, v.c.location, v.c.storage_meta).where(
                v.c.host == host, v.c.status != FolderStatus.DELETE_COMPLETE.value
            )
        )
        for row in rows:
            if (row.storage_meta or {}).get("endpoint") != endpoint:
                continue
            a, b = source.location, row.location
            if a.startswith(b) or b.startswith(a):
                raise Conflict(
                    f"{source.location} overlaps folder {row.name!r} on host {host!r}; "
                    "a bucket place can back one folder only"
                )

    @staticmethod
    async def _owner(conn: Any, req: ImportRequest) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        if req.owner_email is not None:
            uid = await conn.scalar(
                sa.select(t.users.c.id).where(t.users.c.email == req.owner_email)
            )
            if uid is None:
                raise NotFound(f"no user {req.owner_email!r}; `bai admin user list` shows them")
            return uid, None
        assert req.project is not None
        try:
            cond = t.projects.c.id == uuid.UUID(req.project)
        except ValueError:
            cond = t.projects.c.name == req.project
        pid = await conn.scalar(sa.select(t.projects.c.id).where(cond))
        if pid is None:
            raise NotFound(f"no project {req.project!r}; `bai admin project list` shows them")
        return None, pid
