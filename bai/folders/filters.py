"""Provides `FolderFilter`: the narrowing of a folder listing by name, status, host, type,
permission and usage mode."""

from __future__ import annotations

from dataclasses import dataclass

from bai.folders.models import VFolder


@dataclass(frozen=True)
class FolderFilter:
    name: str | None = None
    status: str | None = None
    host: str | None = None
    ownership_type: str | None = None
    permission: str | None = None
    usage_mode: str | None = None
    include_deleted: bool = False

    def match(self, f: VFolder) -> bool:
        if self.name and self.name.lower() not in f.name.lower():
            return False
        pairs = [
            (self.status, f.status),
            (self.host, f.host),
            (self.ownership_type, f.ownership_type),
            (self.permission, f.caller_permission),
            (self.usage_mode, f.usage_mode),
        ]
        return all(want == have for want, have in pairs if want)
