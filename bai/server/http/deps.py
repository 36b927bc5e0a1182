"""Provides the dependencies controllers inject: the caller and the node's services."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from bai.access import Principal
from bai.node import Node
from bai.server.http.tokens import TokenIssuer


def _principal(request: Request[Principal, Any, Any]) -> Principal:
    return request.user


def _services(request: Request[Any, Any, Any]) -> Node:
    node: Node = request.app.state.services
    return node


def _tokens(request: Request[Any, Any, Any]) -> TokenIssuer:
    tokens: TokenIssuer = request.app.state.tokens
    return tokens


# What handlers declare: `principal: Caller, services: Services` (the running node's
# services), and `tokens: Tokens` for transfer tokens, which belong to the HTTP layer.
Caller = NamedDependency[Principal]
Services = NamedDependency[Node]
Tokens = NamedDependency[TokenIssuer]

DEPENDENCIES = {
    "principal": Provide(_principal, sync_to_thread=False),
    "services": Provide(_services, sync_to_thread=False),
    "tokens": Provide(_tokens, sync_to_thread=False),
}
