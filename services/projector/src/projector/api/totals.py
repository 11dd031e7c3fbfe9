"""A view's counters for a region, as of any day, broken down by sub-region; also as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from projector.api.deps import RegionQuery, Views, area_of
from projector.views.closed_months import ClosedMonths, approved_through
from wushe.auth import CurrentPrincipal
from wushe.web import IsoDate, today

router = APIRouter()

ViewName = Literal[
    "activities",
    "stations",
    "people",
    "volunteers",
    "money",
    "training",
    "programmes",
    "closed_months",
]
Level = Literal["province", "city", "county", "township"]
LEVELS = {"province": 2, "city": 4, "county": 6, "township": 9}  # digits of a region code


class ViewOut(BaseModel):
    view: str
    region: str
    as_of: date
    totals: dict[str, int]
    by_region: dict[str, dict[str, int]]
    approved_through: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "per county of the region, the month its figures are final through (数据审核/锁定: "
            "that month and every one before it closed); a county not listed closed none"
        ),
    )


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
    today), optionally broken down by the regions one level down or at `by`; with, per
    county, the month its figures are approved through (final: 数据审核/锁定)."""
    area = area_of(region, who)
    day = as_of or today()
    totals = (await views.totals(view, region_prefix=area, as_of=day)).get("", {})
    by_region = {}
    if by is not None:
        by_region = await views.totals(view, region_prefix=area, as_of=day, group_len=LEVELS[by])
    # Which of these figures are final: the closed months of the counties of the region (of
    # the county a township lies in), as of the same day.
    closed = await views.totals(
        ClosedMonths.name, region_prefix=area[:6], as_of=day, group_len=LEVELS["county"]
    )
    return ViewOut(
        view=view,
        region=area,
        as_of=day,
        totals=totals,
        by_region=by_region,
        approved_through=approved_through(closed),
    )
