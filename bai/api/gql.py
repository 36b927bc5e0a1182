"""Provides `/admin/gql` bodies: the GraphQL subset the official client's list commands send.

The answer's `data` follows the query's selection, so it stays a free-form mapping.
"""

from __future__ import annotations

from typing import Any

import msgspec

from bai.api.base import WireRequest, WireResponse


class GqlRequest(WireRequest):
    query: str
    variables: dict[str, Any] | None = None


class GqlError(WireResponse):
    message: str
    path: list[str]


class GqlResponse(WireResponse):
    """Errors come back with HTTP 200 in `errors`, as GraphQL servers answer them."""

    data: dict[str, Any] | None
    errors: list[GqlError] | msgspec.UnsetType = msgspec.UNSET
