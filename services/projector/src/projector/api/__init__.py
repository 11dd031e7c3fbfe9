"""The views API, one router per answer: totals by region, programme progress, money
lineage, rebuilds."""

from __future__ import annotations

from fastapi import APIRouter

from projector.api import lineage, programme_progress, rebuilds, totals

router = APIRouter()
for part in (totals, programme_progress, lineage, rebuilds):  # in this order in the OpenAPI
    router.include_router(part.router)
