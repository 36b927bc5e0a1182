"""Provides the resource limits of a session: the image's limits are the defaults and the
ceilings; a request may ask for less, never for more."""

from __future__ import annotations

import math

from bai.config import ImageConfig
from bai.errors import InvalidRequest
from bai.sessions.models import Limits
from bai.sizes import parse_size

_KEYS = ("cpu", "mem", "memory", "pids")


def limits_for(image: ImageConfig, resources: dict[str, str]) -> Limits:
    """`resources` is Backend.AI's `-r cpu=2 -r mem=1g` (and bai's `pids=`)."""
    unknown = [k for k in resources if k not in _KEYS]
    if unknown:
        raise InvalidRequest(f"unknown resource {unknown[0]!r}; this node limits cpu, mem and pids")
    cpu, memory, pids = image.cpu, image.memory, image.pids
    if "cpu" in resources:
        try:
            cpu = float(resources["cpu"])
        except ValueError:
            raise InvalidRequest(f"cpu={resources['cpu']!r} is not a number of cores") from None
        if not math.isfinite(cpu) or cpu <= 0:
            raise InvalidRequest("cpu must be a positive number of cores")
        if image.cpu is not None and cpu > image.cpu:
            raise InvalidRequest(f"cpu={cpu:g} is more than this image allows ({image.cpu:g})")
    mem = resources.get("mem") or resources.get("memory")
    if mem is not None:
        memory = parse_size(str(mem))
        if memory < 1 << 20:
            raise InvalidRequest(f"mem={mem!r} is below 1 MiB; a session cannot run in that")
        if image.memory is not None and memory > image.memory:
            raise InvalidRequest(f"mem={mem} is more than this image allows ({image.memory} B)")
    if "pids" in resources:
        try:
            pids = int(resources["pids"])
        except ValueError:
            raise InvalidRequest(f"pids={resources['pids']!r} is not a whole number") from None
        if pids < 1:
            raise InvalidRequest("pids must be at least 1")
        if image.pids is not None and pids > image.pids:
            raise InvalidRequest(f"pids={pids} is more than this image allows ({image.pids})")
    return Limits(cpu=cpu, memory=memory, pids=pids)
