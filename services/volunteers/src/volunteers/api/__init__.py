"""Thin REST routers, one per sub-domain: parse, call `wushe.commands` with the domain's
rules, answer. `router` holds them all."""

from __future__ import annotations

from fastapi import APIRouter

from volunteers.api import (
    attendance,
    backbones,
    certificates,
    export,
    points,
    shifts,
    teams,
    volunteers,
)
from volunteers.api.deps import Volunteers

router = APIRouter()
for sub in (
    volunteers,
    backbones,
    teams,
    shifts,
    attendance,
    points,
    certificates,
    export,
):
    router.include_router(sub.router)

__all__ = ["Volunteers", "router"]
