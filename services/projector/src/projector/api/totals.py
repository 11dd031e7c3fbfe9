"""A view's counters for a region, as of any day, broken down by sub-region; also as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from projector.api.deps import Area, PeriodFrom, PeriodTo, Views
from projector.engine import Projector
from projector.views.closed_months import ClosedMonths, approved_through
from projector.views.reach import MEMBERS, RELATIVE_STANDARD_ERROR, SKETCH, Reach, distinct
from wushe.errors import DomainError
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
    "reach",
]
Level = Literal["province", "city", "county", "township"]
Boundaries = Annotated[
    Literal["recorded", "current"],
    Query(
        description="`recorded` (default): each figure under the region its station lay in "
        "when it happened; `current`: under the region each station lies in now, after "
        "boundary changes (区划调整) moved it (history regrouped under today's codes)"
    ),
]
LEVELS = {"province": 2, "city": 4, "county": 6, "township": 9}  # digits of a region code


class DistinctOut(BaseModel):
    """How the distinct counts (人数) of the `reach` view were counted."""

    totals: Literal["exact", "hyperloglog"]
    by_region: Literal["exact", "hyperloglog"] | None = None
    relative_standard_error: float = Field(
        description="of a HyperLogLog estimate (1.04 / sqrt(4096)); an exact count has none"
    )


class DatedOut(BaseModel):
    """An answer as of a day, or for a period (`from` through `as_of`)."""

    model_config = ConfigDict(populate_by_name=True)

    region: str
    as_of: date = Field(description="the last day counted (`to` when a period was asked)")
    period_from: date | None = Field(
        None, alias="from", description="with a period: its first day (see the route)"
    )


class ViewOut(DatedOut):
    """With a period, the counters are what happened from its first day through `as_of` (a
    stock such as `stations` gives its net change)."""

    view: str
    totals: dict[str, int]
    by_region: dict[str, dict[str, int]]
    approved_through: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "per county of the region, the month its figures are final through (数据审核/锁定: "
            "that month and every one before it closed); a county not listed closed none"
        ),
    )
    distinct: DistinctOut | None = Field(
        None,
        description="the `reach` view only: exact per township and month, else estimated",
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
    area: Area,
    by: Level = "city",
    as_of: IsoDate | None = None,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
    boundaries: Boundaries = "recorded",
) -> PlainTextResponse:
    """The view broken down by region as CSV (one row per region, one column per counter),
    for the spreadsheets provinces still keep; as of a day, or for a period (`from`, `to`)."""
    out = await read_view(
        view,
        views,
        area,
        by=by,
        as_of=as_of,
        period_from=period_from,
        period_to=period_to,
        boundaries=boundaries,
    )
    columns = sorted({c for counters in out.by_region.values() for c in counters})
    start = out.period_from.isoformat() if out.period_from else ""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["region_code", *(["from"] if start else []), "as_of", *columns])
    for code in sorted(out.by_region):
        counters = out.by_region[code]
        first = [code, *([start] if start else []), out.as_of.isoformat()]
        writer.writerow([*first, *(counters.get(c, 0) for c in columns)])
    days = f"{start}-{out.as_of}" if start else str(out.as_of)
    return PlainTextResponse(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{view}-{out.region}-{days}.csv"'},
    )


@router.get("/views/{view}", response_model=ViewOut, tags=["views"], response_model_by_alias=True)
async def read_view(
    view: ViewName,
    views: Views,
    area: Area,
    by: Level | None = None,
    boundaries: Boundaries = "recorded",
    as_of: IsoDate | None = None,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
) -> ViewOut:
    """Counters of a view for a region (default: the token's scope), as of a day (default:
    today), or for a period: what happened from `from` through `to` (default: today), the
    counters as of `to` less those as of the day before `from`. Optionally broken down by
    the regions one level down or at `by`; with, per county, the month its figures are
    approved through (final: 数据审核/锁定)."""
    day, start = period_of(as_of, period_from, period_to)
    group_len = LEVELS[by] if by is not None else None
    current = boundaries == "current"
    if view == Reach.name:
        totals, by_region, distinct = await reach_of(views, area, day, start, group_len, current)
    else:
        totals = (await counted(views, view, area, day, start, current=current)).get("", {})
        by_region = {}
        if group_len is not None:
            by_region = await counted(views, view, area, day, start, group_len, current=current)
        distinct = None
    # Which of these figures are final: the closed months of the counties of the region (of
    # the county a township lies in), as of the same day.
    closed = await views.totals(
        ClosedMonths.name, region_prefix=area[:6], as_of=day, group_len=LEVELS["county"]
    )
    return ViewOut(
        view=view,
        region=area,
        as_of=day,
        period_from=start,
        totals=totals,
        by_region=by_region,
        approved_through=approved_through(closed),
        distinct=distinct,
    )


def period_of(
    as_of: date | None, period_from: date | None, period_to: date | None
) -> tuple[date, date | None]:
    """The last day counted and, for a period, its first; a period and `as_of` together, or
    a period that ends before it begins, is a 422 on the field at fault."""
    if period_from is None and period_to is None:
        return as_of or today(), None
    if as_of is not None:
        raise DomainError("as_of", "as_of is for a day; a period takes from and to instead")
    if period_from is None:
        raise DomainError("from", "a period needs its first day (from)")
    end = period_to or today()
    if end < period_from:
        raise DomainError("to", f"the period ends ({end}) before it begins ({period_from})")
    return end, period_from


async def counted(
    views: Projector,
    view: str,
    area: str,
    day: date,
    start: date | None,
    group_len: int | None = None,
    only: tuple[str, ...] = (),
    *,
    current: bool = False,
) -> dict[str, dict[str, int]]:
    """The view's counters as of `day`, or from `start` through `day` (as of `day` less as of
    the day before `start`), in all or by group; counters that net to zero are left out."""

    async def as_of(when: date) -> dict[str, dict[str, int]]:
        return await views.totals(
            view, region_prefix=area, as_of=when, group_len=group_len, only=only, current=current
        )

    through = await as_of(day)
    if start is None:
        return through
    before = await as_of(start - timedelta(days=1))
    out: dict[str, dict[str, int]] = {}
    for group in sorted(through.keys() | before.keys()):
        now, then = through.get(group, {}), before.get(group, {})
        moved = {c: now.get(c, 0) - then.get(c, 0) for c in sorted(now.keys() | then.keys())}
        if kept := {c: n for c, n in moved.items() if n}:
            out[group] = kept
    return out


def one_month(day: date, start: date | None) -> bool:
    return start is not None and (start.year, start.month) == (day.year, day.month)


async def reach_of(
    views: Projector,
    area: str,
    day: date,
    start: date | None,
    group_len: int | None,
    current: bool = False,
) -> tuple[dict[str, int], dict[str, dict[str, int]], DistinctOut]:
    """Distinct households and persons (人数): exact from the members for a township and a
    period within one month (few members), else from the HyperLogLog sketch (bounded)."""

    async def answer(grouped_at: int | None) -> tuple[dict[str, dict[str, int]], bool]:
        exact = one_month(day, start) and (grouped_at or len(area)) >= LEVELS["township"]
        only = MEMBERS if exact else (SKETCH,)
        groups = await counted(
            views, Reach.name, area, day, start, grouped_at, only, current=current
        )
        return {g: distinct(c, exact=exact) for g, c in groups.items()}, exact

    totals, exact = await answer(None)
    by_region, by_exact = await answer(group_len) if group_len is not None else ({}, None)
    method: dict[bool | None, Any] = {True: "exact", False: "hyperloglog", None: None}
    return (
        totals.get("", {}),
        by_region,
        DistinctOut(
            totals=method[exact],
            by_region=method[by_exact],
            relative_standard_error=RELATIVE_STANDARD_ERROR,
        ),
    )
