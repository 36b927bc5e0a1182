"""Provides JSON-body reading for routes whose body Litestar cannot declare.

The official client sends JSON bodies on GET (`ls`) and DELETE (`delete-files`, `unshare`).
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request

from bai.errors import InvalidRequest
from bai.server.http.protocol import READINTO, ReadInto


async def json_body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested absurdly deep
        raise InvalidRequest("request body is not valid JSON (or nested too deeply)") from None
    if not isinstance(data, dict):
        raise InvalidRequest("request body must be a JSON object")
    return data


def field(data: dict[str, Any], key: str, kind: type, default: Any = ...) -> Any:
    """One typed field of a body, with a 400 that names it."""
    if key not in data or data[key] is None:
        if default is ...:
            raise InvalidRequest(f"missing field {key!r}", data={key: "required"})
        return default
    value = data[key]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise InvalidRequest(f"field {key!r} must be {kind.__name__}", data={key: repr(value)})
    return value


def body_reader(request: Request[Any, Any, Any]) -> ReadInto | None:
    """Read the request body straight into the caller's buffers, where the server offers it
    (`bai.server.http.protocol`); None means use `request.stream()`."""
    extensions: dict[str, Any] = request.scope.get("extensions") or {}
    ext: dict[str, ReadInto] | None = extensions.get(READINTO)
    return None if ext is None else ext["readinto"]
