"""Provides the dependencies controllers inject: the caller and the node's services."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from bai.access import Principal
from bai.server.services import NodeServices


def _principal(request: Request[Principal, Any, Any]) -> Principal:
    return request.user


def _services(request: Request[Any, Any, Any]) -> NodeServices:
    services: NodeServices = request.app.state.services
    return services


# What handlers declare: `principal: Caller, services: Services`.
Caller = NamedDependency[Principal]
Services = NamedDependency[NodeServices]

DEPENDENCIES = {
    "principal": Provide(_principal, sync_to_thread=False),
    "services": Provide(_services, sync_to_thread=False),
}
