"""Provides the two bases of every wire struct and the `choice` annotation for enum words.

Requests omit unset defaults when encoded (the client sends what it was given; the node
fills in the rest), responses always carry every key (the official client reads keys that a
default would hide). Both take keyword arguments only, so a struct is always built with its
field names spelled out.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec


class WireRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A request body. Unknown keys are ignored, as Backend.AI's manager ignores them."""


class WireResponse(msgspec.Struct, kw_only=True):
    """A response body."""


def choice(enum: type[StrEnum], what: str = "") -> msgspec.Meta:
    """Metadata for a `str` field that takes one of `enum`'s words.

    Request fields stay plain strings so that the node's own check answers a wrong word (its
    message names the choices and the field); the schema still lists them. Litestar copies
    `extra_json_schema["extra"]` into the OpenAPI schema of the field.
    """
    words = [m.value for m in enum]
    text = f"{what + ': ' if what else ''}one of {', '.join(words)}"
    extra: dict[str, Any] = {"enum": words}
    return msgspec.Meta(description=text, extra_json_schema={"extra": extra})
