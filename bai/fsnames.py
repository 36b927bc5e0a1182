"""Provides the reversible spelling of file names that are not UTF-8.

A compute session can create names of any bytes. Python reads an undecodable byte 0xHH as the
lone surrogate U+DC00+HH, which JSON and terminals cannot carry. On every wire and in every
message bai spells that byte as the private-use character U+EF00+HH (U+EF80–U+EFFF, the
scheme of MirBSD's OPTU-8), and a path sent back with such a character names the byte
again. The one cost: a real, valid UTF-8 name containing U+EF80–U+EFFF cannot be addressed.
"""

from __future__ import annotations

_SURROGATE, _PRIVATE = 0xDC80, 0xEF80
TO_WIRE = {_SURROGATE + i: _PRIVATE + i for i in range(128)}
TO_OS = {_PRIVATE + i: _SURROGATE + i for i in range(128)}


def wire_name(os_name: str) -> str:
    """A name as the OS gave it (surrogate-escaped) → its spelling on the wire."""
    return os_name.translate(TO_WIRE)


def os_name(wire: str) -> str:
    """A name from the wire → the string Python's os functions turn into the same bytes."""
    return wire.translate(TO_OS)
