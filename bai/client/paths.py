"""Provides the node's route paths: the only place where the client spells a URL path."""

from __future__ import annotations

from urllib.parse import quote


def segment(value: str) -> str:
    """One path segment, quoted (names may hold spaces, '@' or non-ASCII letters)."""
    return quote(value, safe="@")


def folder_path(name: str, suffix: str = "") -> str:
    """`/folders/NAME…`."""
    return f"/folders/{quote(name, safe='')}{suffix}"
