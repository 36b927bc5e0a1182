"""Provides parsing and formatting of byte sizes such as `10g`, `512m`, `1.5TiB`."""

from __future__ import annotations

import re

from bai.errors import InvalidRequest

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """Binary units, as Backend.AI's CLI and `du -h` use them; `0` means unlimited elsewhere."""
    if isinstance(text, int):
        if text < 0:
            raise InvalidRequest(f"size must not be negative, got {text}")
        return text
    m = _SIZE_RE.match(text)
    if not m:
        raise InvalidRequest(
            f"cannot read {text!r} as a size: write a number with an optional unit, "
            "such as 512m, 10g or 1t"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def format_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
