"""The registry's REST API: thin routers, one per sub-domain (parse, call the command path
or a query, answer), all mounted on `router`."""

from __future__ import annotations

from fastapi import APIRouter

from registry.api import (
    closed_months,
    imports,
    ledger,
    organisations,
    programmes,
    ratings,
    regions,
    social_workers,
    stations,
)
from registry.api.deps import Registry

router = APIRouter()
for _sub in (
    regions,
    stations,
    ratings,
    ledger,
    organisations,
    social_workers,
    imports,
    programmes,
    closed_months,
):
    router.include_router(_sub.router)

__all__ = ["Registry", "router"]
