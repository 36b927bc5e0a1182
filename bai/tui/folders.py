"""Provides the folder table's logic without widgets: tabs, the filter language, sorting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bai.api import FolderInfo

TABS = ("general", "pipeline", "automount", "models", "trash", "invitations")
TAB_TITLES = {
    "general": "Folders",
    "pipeline": "Pipeline",
    "automount": "Automount",
    "models": "Models",
    "trash": "Trash",
    "invitations": "Invitations",
}
TRASH_STATES = {"delete-pending"}
# Keys of the filter box ("status:ready host:local"), and the folder field each one reads.
FILTER_KEYS: dict[str, Callable[[FolderInfo], str]] = {
    "status": lambda f: f.status.value,
    "host": lambda f: f.host,
    "type": lambda f: "project" if f.ownership_type.value == "group" else "user",
    "permission": lambda f: f.permission.value,
    "perm": lambda f: f.permission.value,
    "mode": lambda f: f.usage_mode.value,
}
SORT_KEYS: dict[str, Callable[[FolderInfo], Any]] = {
    "name": lambda f: f.name.lower(),
    "host": lambda f: f.host,
    "status": lambda f: f.status.value,
    "size": lambda f: f.cur_size,
    "type": lambda f: f.ownership_type.value,
    "permission": lambda f: f.permission.value,
}


def tab_of(folder: FolderInfo) -> str:
    """Which tab shows a folder, as the web UI sorts them."""
    if folder.status.value in TRASH_STATES:
        return "trash"
    if folder.name.startswith("."):
        return "automount"
    if folder.usage_mode.value == "model":
        return "models"
    if folder.usage_mode.value in ("data", "pipeline"):  # `bai run --pipeline` makes data ones
        return "pipeline"
    return "general"


@dataclass(frozen=True)
class FolderQuery:
    """The filter box: words match a part of the name; `key:value` matches a field."""

    words: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    problem: str = ""  # an unknown key: shown under the box, the filter still applies

    @classmethod
    def parse(cls, text: str) -> FolderQuery:
        words: list[str] = []
        fields: list[tuple[str, str]] = []
        problem = ""
        for token in text.split():
            key, sep, value = token.partition(":")
            if not sep:
                words.append(token.lower())
            elif key.lower() in FILTER_KEYS:
                fields.append((key.lower(), value.lower()))
            else:
                problem = f"unknown filter {key!r}; use {', '.join(sorted(FILTER_KEYS))}"
        return cls(tuple(words), tuple(fields), problem)

    def match(self, folder: FolderInfo) -> bool:
        name = folder.name.lower()
        if not all(w in name for w in self.words):
            return False
        return all(FILTER_KEYS[k](folder).lower().startswith(v) for k, v in self.fields)


def select(
    folders: list[FolderInfo], tab: str, query: FolderQuery, sort: str, reverse: bool
) -> list[FolderInfo]:
    shown = [f for f in folders if tab_of(f) == tab and query.match(f)]
    return sorted(shown, key=SORT_KEYS.get(sort, SORT_KEYS["name"]), reverse=reverse)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
