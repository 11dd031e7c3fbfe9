"""Money to outcome for one funder.

A foundation's token (`funder`, scoped to its funder id, no region) reads its own lineage in
every region it funds; another funder's id answers as an unknown one (404). Officials and
auditors read any funder's, within their region."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel

from projector.api.deps import FundedArea, Views
from projector.engine import Delta
from projector.views.lineage import lineage
from wushe.auth import CurrentPrincipal, Principal
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


def reads_lineage_of(who: Principal, funder_id: str) -> bool:
    """A foundation reads its own lineage only (never the anonymous gifts', whose funder id
    is every anonymous donor's); anyone else, any funder's within their region."""
    if who.funder_id is None:
        return True
    return funder_id == who.funder_id != "anonymous"


@router.get("/views/lineage/{funder_id}", response_model=LineageOut, tags=["views"])
async def money_lineage(
    funder_id: str,
    views: Views,
    who: CurrentPrincipal,
    area: FundedArea,
    as_of: IsoDate | None = None,
) -> LineageOut:
    """Money to outcome for one funder (a foundation's donor id): pledge → gifts →
    allocations → stations → activities → person-times, within the caller's region; for a
    foundation's own token, everywhere (`region`: "" unless it narrows it)."""
    day = as_of or today()
    rows: dict[str, Delta] = {}
    if reads_lineage_of(who, funder_id):
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
