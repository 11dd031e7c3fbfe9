"""The views API: region-scoped totals, as of any day, broken down by sub-region."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from wushe.auth import CurrentPrincipal
from wushe.projection import Projector
from wushe.web import today

router = APIRouter()

ViewName = Literal["activities", "stations", "training"]
LEVELS = {"province": 2, "city": 4, "county": 6, "township": 9}


def get_projector(request: Request) -> Projector:
    projector: Projector = request.app.state.projector
    return projector


Views = Annotated[Projector, Depends(get_projector)]


class ViewOut(BaseModel):
    view: str
    region: str
    as_of: date
    totals: dict[str, int]
    by_region: dict[str, dict[str, int]]


@router.get("/views/{view}", response_model=ViewOut, tags=["views"])
async def read_view(
    view: ViewName,
    views: Views,
    who: CurrentPrincipal,
    region: Annotated[str | None, Query(pattern=r"^\d{2,9}$")] = None,
    by: Literal["province", "city", "county", "township"] | None = None,
    as_of: date | None = None,
) -> ViewOut:
    """Counters of a view for a region (default: the token's scope), as of a day (default:
    today), optionally broken down by the regions one level down or at `by`."""
    area = region or who.region_scope
    if not area.startswith(who.region_scope):
        raise HTTPException(404, f"no view for region {area}")
    day = as_of or today()
    totals = (await views.totals(view, region_prefix=area, as_of=day)).get("", {})
    by_region = {}
    if by is not None:
        by_region = await views.totals(view, region_prefix=area, as_of=day, group_len=LEVELS[by])
    return ViewOut(view=view, region=area, as_of=day, totals=totals, by_region=by_region)
