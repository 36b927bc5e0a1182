"""Provides Backend.AI keypair authentication for the HTTP API, with a failure throttle."""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from bai import signing
from bai.access import Principal
from bai.errors import AuthFailed, TooManyRequests
from bai.node import Node

SKIP_AUTH = "skip_auth"
_TOUCH_INTERVAL = 60.0
_last_touch: dict[str, float] = {}


def raw_target(scope: Any) -> str:
    """The request target as it was on the wire; the client signs it undecoded."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    # Some ASGI test transports put the query into raw_path already.
    if b"?" not in raw and scope.get("query_string"):
        raw = raw + b"?" + scope["query_string"]
    return raw.decode("latin-1")


async def verify(services: Node, conn: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    headers = conn.headers
    header = headers.get("authorization")
    if not header:
        raise AuthFailed(
            "this API needs a signed request: set BACKEND_ACCESS_KEY and BACKEND_SECRET_KEY "
            "(for example `source bai-data/client.env`)"
        )
    parsed = signing.parse_authorization(header)
    if parsed is None:
        raise AuthFailed("malformed Authorization header; expected `BackendAI signMethod=…`")
    method, access_key, sig = parsed
    if method.upper() != signing.SIGN_METHOD:
        raise AuthFailed(f"unsupported sign method {method!r}; use {signing.SIGN_METHOD}")
    date = headers.get("x-backendai-date") or headers.get("date")
    if not date:
        raise AuthFailed("missing Date header; the request date is part of the signature")
    try:
        when = signing.parse_date(date)
        skew = abs((datetime.now(UTC) - when).total_seconds())
    except (ValueError, OverflowError):  # year 1 or 9999 overflow once made UTC
        raise AuthFailed(
            f"unreadable Date header {date[:64]!r}; send ISO-8601 or RFC 1123"
        ) from None
    limit = services.config.auth.max_clock_skew
    if skew > limit:
        raise AuthFailed(
            f"request date is {int(skew)} s away from the node's clock (limit {limit} s); "
            "fix the client's clock"
        )
    version = headers.get("x-backendai-version")
    if not version:
        raise AuthFailed("missing X-BackendAI-Version header; it is part of the signature")
    record = await services.accounts.auth_record(access_key)
    expected = signing.signature(
        record.secret_key,
        # A WebSocket scope has no method; the client signs its upgrade request as GET.
        method=str(conn.scope.get("method", "GET")),
        target=raw_target(conn.scope),
        date=date,
        host=headers.get("host", ""),
        content_type=headers.get("content-type", "application/octet-stream"),
        version=version,
    )
    if not _constant_eq(expected, sig):
        raise AuthFailed(
            "signature mismatch: check BACKEND_SECRET_KEY and that BACKEND_ENDPOINT names this "
            "node exactly as you reach it"
        )
    now = time.monotonic()
    if now - _last_touch.get(access_key, 0.0) > _TOUCH_INTERVAL:
        _last_touch[access_key] = now
        await services.accounts.touch_keypair(access_key)
    return record.principal


def _constant_eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class KeypairAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        services: Node = connection.app.state.services
        source = connection.client.host if connection.client else "unknown"
        wait = services.throttle.retry_after(source)
        if wait is not None:
            raise TooManyRequests(
                f"too many failed sign-ins from {source}; try again in {int(wait) + 1} s",
                data={"retry_after": round(wait, 1)},
            )
        try:
            principal = await verify(services, connection)
        except AuthFailed:
            services.throttle.record_failure(source)
            raise
        return AuthenticationResult(user=principal, auth=principal.access_key)
