"""Provides the HTTP adapter of `bai.errors`: every failure becomes a Backend.AI problem body."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from bai.db.errors import database_error
from bai.errors import BaiError, InvalidRequest, TooManyRequests

log = logging.getLogger("bai.http")

_SLUGS = {
    400: ("invalid-api-params", "Invalid API parameters"),
    401: ("auth-failed", "Authentication failed"),
    403: ("forbidden", "Forbidden operation"),
    404: ("object-not-found", "No such object"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("request-too-large", "Request too large"),
}


def _problem(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(
        content=body, status_code=status, media_type=MediaType.JSON, headers=headers or {}
    )


def bai_error_handler(_: Request[Any, Any, Any], exc: BaiError) -> Response[Any]:
    headers: dict[str, str] = {}
    if isinstance(exc, TooManyRequests) and "retry_after" in exc.data:
        headers["Retry-After"] = str(int(exc.data["retry_after"]) + 1)
    if exc.status >= 500:
        log.error("request failed: %s", exc.msg)
    return _problem(exc.status, exc.to_problem(), headers)


def validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    # The official client prints one `- "key": value` line per key of a dict `data`.
    data: dict[str, Any] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            data[str(item.get("key") or item.get("source") or "body")] = item.get("message")
    err = InvalidRequest(f"malformed request: {exc.detail}", data=data)
    return _problem(400, err.to_problem())


def http_exception_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    slug, title = _SLUGS.get(exc.status_code, ("generic-error", "Request failed"))
    body = {"type": f"https://api.backend.ai/probs/{slug}", "title": title, "msg": exc.detail}
    return _problem(exc.status_code, body, dict(exc.headers or {}))


def recursion_handler(_: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    # Decoding a body nested thousands deep hits Python's recursion limit: the body is at
    # fault, not the node.
    err = InvalidRequest("malformed request: the JSON body is nested too deeply")
    return _problem(400, err.to_problem())


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    mapped = database_error(exc)
    if mapped is not None:
        # A busy or unreachable database (SQLite's writer beyond its busy timeout, a
        # PostgreSQL conflict or failover), a race a constraint caught, a value the database
        # cannot hold: the request changed nothing, and the client learns which it was.
        log.warning(
            "database refused %s %s (%s); answered %d",
            request.method,
            request.url.path,
            type(exc).__name__,
            mapped.status,
        )
        return _problem(mapped.status, mapped.to_problem())
    # The trace goes to the node log only; the client gets a message without internals.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    err = BaiError("internal error in the node; the node log has the details")
    return _problem(500, err.to_problem())


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    BaiError: bai_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_exception_handler,
    RecursionError: recursion_handler,
    Exception: internal_error_handler,
}
