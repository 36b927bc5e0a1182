"""Fixed records for the snapshot tests: the look must not depend on ids, times or disks."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from bai import api
from bai.api.sharing import InvitationInfo

T0 = "2026-01-02T03:04:05+00:00"
USER = uuid.UUID(int=1)


def folder(n: int, name: str, **kw: Any) -> api.FolderInfo:
    values: dict[str, Any] = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bai-test:{name}")),
        "name": name,
        "host": "local",
        "quota_scope_id": f"user:{USER}",
        "usage_mode": "general",
        "permission": "wd",
        "folder_permission": "wd",
        "ownership_type": "user",
        "type": "user",
        "user": str(USER),
        "group": None,
        "group_name": None,
        "owner": "ada@example.org",
        "creator": "ada@example.org",
        "is_owner": True,
        "cloneable": False,
        "status": "ready",
        "status_history": {},
        "created_at": T0,
        "last_used": None,
        "num_files": 3,
        "numFiles": 3,
        "cur_size": 12_345_678 * n,
    }
    values.update(kw)
    return msgspec.convert(values, api.FolderInfo)


FOLDERS = [
    folder(1, "datasets"),
    folder(2, "notebooks"),
    folder(3, "team-share", ownership_type="group", type="group", permission="rw", is_owner=False),
    folder(4, ".local"),
    folder(5, "bert-base", usage_mode="model"),
    folder(6, "old-results", status="delete-pending"),
]

STATUS = msgspec.convert(
    {
        "folders": {
            "created": 5,
            "limit": 10,
            "project": 1,
            "invited": 0,
            "pending_invitations": 1,
        },
        "hosts": [
            {
                "host": "local",
                "backend": "vfs",
                "quota_supported": True,
                "capacity": {"used_bytes": 40 << 30, "total_bytes": 100 << 30, "percentage": 40.0},
                "user": {
                    "host": "local",
                    "scope_id": f"user:{USER}",
                    "limit_bytes": 10 << 30,
                    "used_bytes": 3 << 30,
                    "kernel_enforced": False,
                },
                "projects": [],
            }
        ],
    },
    api.StorageStatus,
)

HOSTS = msgspec.convert(
    {
        "default": "local",
        "allowed": ["local", "fast"],
        "volume_info": {
            "local": {
                "backend": "vfs",
                "capabilities": [],
                "usage": {"percentage": 40.0, "used_bytes": 40 << 30, "capacity_bytes": 100 << 30},
            },
            "fast": {
                "backend": "btrfs",
                "capabilities": [],
                "usage": {"percentage": 10.0, "used_bytes": 2 << 30, "capacity_bytes": 20 << 30},
            },
        },
    },
    api.HostList,
)

INVITATIONS = [
    msgspec.convert(
        {
            "id": str(uuid.UUID(int=0x2000)),
            "inviter": "grace@example.org",
            "invitee": "ada@example.org",
            "perm": "ro",
            "state": "pending",
            "created_at": T0,
            "modified_at": T0,
            "vfolder_id": str(uuid.UUID(int=0x3000)),
            "vfolder_name": "papers",
        },
        InvitationInfo,
    )
]


def entry(name: str, kind: str, size: int) -> api.FileEntry:
    return api.FileEntry(
        name=name, type=kind, size=size, mode="-rw-r--r--", created=T0, modified=T0
    )


ENTRIES = [
    entry("images", "DIRECTORY", 4096),
    entry("labels", "DIRECTORY", 4096),
    entry("README.md", "FILE", 2_345),
    entry("train.csv", "FILE", 98_765_432),
]

SFTP = msgspec.convert(
    {
        "session": {
            "id": str(uuid.UUID(int=0x4000)),
            "folders": [{"id": str(uuid.UUID(int=0x1001)), "name": "datasets"}],
            "owner": "ada@example.org",
            "access_key": "AKIAFIXED",
            "created_at": T0,
            "last_activity": T0,
            "expires_at": None,
            "idle_timeout": 1800.0,
        },
        "reused": False,
        "connection": {
            "host": "127.0.0.1",
            "port": 2022,
            "user": "AKIAFIXED",
            "host_key_fingerprint": "SHA256:fixedfixedfixed",
        },
    },
    api.SftpSessionStarted,
)
