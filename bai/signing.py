"""Provides Backend.AI keypair request signing (HMAC-SHA256), shared by node and client.

The official client 23.9.10 signs seven lines: method, raw request target (path and query as
sent), the `Date` value, `host:<endpoint netloc>`, `content-type:<lower-case type>`,
`x-backendai-version:<version>` and the SHA-256 of the *empty* string (the body is never
signed). The key is HMAC(HMAC(secret, yyyymmdd), host).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

EMPTY_BODY_HASH = hashlib.sha256(b"").hexdigest()
SIGN_METHOD = "HMAC-SHA256"
_AUTH_RE = re.compile(
    r"^BackendAI\s+signMethod=(?P<method>[\w-]+)\s*,\s*credential=(?P<access>[^:\s]+):(?P<sig>[0-9a-fA-F]+)$"
)


def string_to_sign(
    method: str, target: str, date: str, host: str, content_type: str, version: str
) -> str:
    return "\n".join(
        (
            method.upper(),
            target,
            date,
            f"host:{host}",
            f"content-type:{content_type.lower()}",
            f"x-backendai-version:{version}",
            EMPTY_BODY_HASH,
        )
    )


def signature(
    secret_key: str,
    *,
    method: str,
    target: str,
    date: str,
    host: str,
    content_type: str,
    version: str,
) -> str:
    day = parse_date(date).strftime("%Y%m%d").encode()
    k1 = hmac.new(secret_key.encode(), day, hashlib.sha256).digest()
    k2 = hmac.new(k1, host.encode(), hashlib.sha256).digest()
    msg = string_to_sign(method, target, date, host, content_type, version).encode()
    return hmac.new(k2, msg, hashlib.sha256).hexdigest()


def authorization(access_key: str, sig: str) -> str:
    return f"BackendAI signMethod={SIGN_METHOD}, credential={access_key}:{sig}"


def parse_authorization(header: str) -> tuple[str, str, str] | None:
    """(sign method, access key, signature), or None when the header is not ours."""
    m = _AUTH_RE.match(header.strip())
    if not m:
        return None
    return m.group("method"), m.group("access"), m.group("sig").lower()


def parse_date(value: str) -> datetime:
    """ISO-8601 as the official client sends it; RFC 1123 as other HTTP clients do."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"unreadable date {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def now_header() -> str:
    return datetime.now(UTC).isoformat()
