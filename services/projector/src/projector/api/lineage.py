"""Money to outcome for one funder."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel

from projector.api.deps import RegionQuery, Views, area_of
from projector.views.lineage import lineage
from wushe.auth import CurrentPrincipal
from wushe.errors import NotFound
from wushe.web import IsoDate, today

router = APIRouter()


class LineageFund(BaseModel):
    fund_id: str
    pledged_fen: int
    received_fen: int


class LineageAllocation(BaseModel):
    allocation_id: str
    station_id: str
    allocated_fen: int
    disbursed_fen: int
    outcomes: dict[str, int]


class LineageOut(BaseModel):
    funder_id: str
    region: str
    as_of: date
    funds: list[LineageFund]
    allocations: list[LineageAllocation]
    totals: dict[str, int]


@router.get("/views/lineage/{funder_id}", response_model=LineageOut, tags=["views"])
async def money_lineage(
    funder_id: str,
    views: Views,
    who: CurrentPrincipal,
    region: RegionQuery = None,
    as_of: IsoDate | None = None,
) -> LineageOut:
    """Money to outcome for one funder (a foundation's donor id): pledge → gifts →
    allocations → stations → activities → person-times, within the caller's region."""
    area = area_of(region, who)
    day = as_of or today()
    rows = await views.totals(
        "lineage", region_prefix=area, as_of=day, key_prefix=f"{funder_id}|", by_key=True
    )
    if not rows:
        raise NotFound("funder_id", f"nothing funded by {funder_id} in {area}")
    outcomes = await views.totals(
        "lineage", region_prefix=area, as_of=day, key_prefix="outcome|", by_key=True
    )
    found = lineage(rows, outcomes)
    return LineageOut(
        funder_id=funder_id,
        region=area,
        as_of=day,
        funds=[LineageFund(**asdict(f)) for f in found.funds],
        allocations=[LineageAllocation(**asdict(a)) for a in found.allocations],
        totals=found.totals,
    )
