"""A view's counters for a region, as of any day, broken down by sub-region; also as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from projector.api.deps import RegionQuery, Views, area_of
from wushe.auth import CurrentPrincipal
from wushe.web import IsoDate, today

router = APIRouter()

ViewName = Literal[
    "activities", "stations", "people", "volunteers", "money", "training", "programmes"
]
Level = Literal["province", "city", "county", "township"]
LEVELS = {"province": 2, "city": 4, "county": 6, "township": 9}  # digits of a region code


class ViewOut(BaseModel):
    view: str
    region: str
    as_of: date
    totals: dict[str, int]
    by_region: dict[str, dict[str, int]]


@router.get(
    "/views/{view}.csv",
    tags=["views"],
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_view(
    view: ViewName,
    views: Views,
    who: CurrentPrincipal,
    region: RegionQuery = None,
    by: Level = "city",
    as_of: IsoDate | None = None,
) -> PlainTextResponse:
    """The view broken down by region as CSV (one row per region, one column per counter),
    for the spreadsheets provinces still keep."""
    out = await read_view(view, views, who, region=region, by=by, as_of=as_of)
    columns = sorted({c for counters in out.by_region.values() for c in counters})
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["region_code", "as_of", *columns])
    for code in sorted(out.by_region):
        writer.writerow(
            [code, out.as_of.isoformat(), *(out.by_region[code].get(c, 0) for c in columns)]
        )
    return PlainTextResponse(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{view}-{out.region}-{out.as_of}.csv"'
        },
    )


@router.get("/views/{view}", response_model=ViewOut, tags=["views"])
async def read_view(
    view: ViewName,
    views: Views,
    who: CurrentPrincipal,
    region: RegionQuery = None,
    by: Level | None = None,
    as_of: IsoDate | None = None,
) -> ViewOut:
    """Counters of a view for a region (default: the token's scope), as of a day (default:
    today), optionally broken down by the regions one level down or at `by`."""
    area = area_of(region, who)
    day = as_of or today()
    totals = (await views.totals(view, region_prefix=area, as_of=day)).get("", {})
    by_region = {}
    if by is not None:
        by_region = await views.totals(view, region_prefix=area, as_of=day, group_len=LEVELS[by])
    return ViewOut(view=view, region=area, as_of=day, totals=totals, by_region=by_region)
