"""A programme's progress: actual against target per measure, pace, the lagging stations."""

from __future__ import annotations

import asyncio
import bisect
from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from projector.api.deps import (
    AnswersDep,
    PeriodFrom,
    PeriodTo,
    ProgrammesDep,
    RegionQuery,
    Views,
    known_area,
)
from projector.api.totals import LEVELS, DatedOut, Level, period_of
from projector.views.programme_progress import in_period, progress
from wushe.auth import CurrentPrincipal
from wushe.errors import NotFound
from wushe.web import IsoDate

router = APIRouter()


class MeasureTotal(BaseModel):
    target: float
    actual: float
    percent: float
    expected_by_now: float
    pace: float


class LaggingStation(BaseModel):
    station_id: str
    pace: float


class GroupProgress(BaseModel):
    """One region's part (a city's, a county's): what `region=<its code>` answers."""

    stations: int
    lagging: int = Field(description="its lagging stations, every one counted")
    totals: dict[str, MeasureTotal]


class ProgrammeProgressOut(DatedOut):
    """With a period, `actual` is what was done in it, `elapsed` the programme's share of
    time in it, so `expected_by_now` and `pace` are the period's (targets stay the
    programme's)."""

    programme_id: str
    name: str
    start: date
    end: date
    elapsed: float
    stations: int
    totals: dict[str, MeasureTotal]
    per_station: dict[str, dict[str, dict[str, float]]] = Field(
        description="one page of the enrolled stations, by station id"
    )
    next_stations_after: str | None = Field(
        description="`stations_after` for the next page of `per_station`; null on the last"
    )
    lagging: list[LaggingStation]
    groups: dict[str, GroupProgress] = Field(
        default_factory=dict,
        description="with `by`: per region at that level (keyed by its code), its stations, "
        "lagging stations and totals, as `region=<code>` answers them; empty without `by`",
    )


@router.get(
    "/views/programmes/{programme_id}/progress", response_model=ProgrammeProgressOut, tags=["views"]
)
async def programme_progress(
    programme_id: str,
    request: Request,
    views: Views,
    programmes: ProgrammesDep,
    who: CurrentPrincipal,
    answers: AnswersDep,
    region: RegionQuery = None,
    as_of: IsoDate | None = None,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
    lagging: int = Query(10, ge=0, le=500),
    stations_limit: int = Query(
        500, ge=0, le=5000, description="stations in `per_station` (a page; 0 for none)"
    ),
    stations_after: str | None = Query(
        None, max_length=100, description="the page after this station id"
    ),
    by: Annotated[
        Level | None,
        Query(description="also each region at this level (`groups`): a dashboard's children"),
    ] = None,
) -> Response:
    """Actual against target per measure (backbones, sessions, elder person-times), percent
    complete, pace against the time elapsed, and the most lagging stations; for the
    programme's region or a part of it, as of a day. Each station's figures come a page at
    a time (a province's 462 stations fit the default page; the nation's 41,000 do not).
    With `by`, the region's parts side by side in the same answer (`groups`)."""
    meta = await programmes.get(programme_id)
    area = region or who.region_scope
    # Another province's programme is as absent as one that does not exist: its name and
    # period are not for this caller. Visible: the programme's region and the caller's
    # scope overlap (a national programme to a province, a province's to the nation).
    overlap = meta is not None and who.shares_scope([meta[1]])
    if meta is None or not overlap or not area.startswith(who.region_scope):
        raise NotFound("programme_id", f"no progress for programme {programme_id}")
    area = await known_area(views, request.app.state.region_codes, area)
    name, _, start, end = meta
    day, period_start = period_of(as_of, period_from, period_to)

    async def rows_of(group_len: int | None) -> dict[str, Any]:
        """Per station (and group), as of `day`; for a period, its actuals in the period."""

        async def as_of(when: date) -> dict[str, Any]:
            return await views.totals(
                "programmes",
                region_prefix=area,
                as_of=when,
                key_prefix=f"{programme_id}|",
                group_len=group_len,
                by_key=True,
            )

        through = await as_of(day)
        if period_start is None:
            return through
        return in_period(through, await as_of(period_start - timedelta(days=1)))

    async def compute() -> dict[str, Any]:
        rows = await rows_of(None)
        parts = await rows_of(LEVELS[by]) if by is not None else None
        # A pass over every station (43,000 nationally): in a thread, on the answer's copy,
        # so other requests are served meanwhile.
        return await asyncio.to_thread(
            progress_and_groups, rows, parts, start, end, day, period_start
        )

    key = (programme_id, name, area, day, period_start, start, end, by)
    kept = await answers.get(views, key, compute)
    first = bisect.bisect_right(kept.order, stations_after) if stations_after else 0
    page_key = (first, stations_limit, lagging)
    rendered = kept.pages.get(page_key)
    if rendered is None:
        page = kept.order[first : first + stations_limit]
        more = bool(page) and first + len(page) < len(kept.order)
        per_station = kept.result["per_station"]
        rendered = (
            ProgrammeProgressOut(
                programme_id=programme_id,
                name=name,
                region=area,
                as_of=day,
                period_from=period_start,
                start=start,
                end=end,
                elapsed=kept.result["elapsed"],
                stations=kept.result["stations"],
                totals=kept.result["totals"],
                per_station={station: per_station[station] for station in page},
                next_stations_after=page[-1] if more else None,
                lagging=kept.result["lagging"][:lagging],
                groups=kept.result.get("groups") or {},
            )
            .model_dump_json(by_alias=True)
            .encode()
        )
        kept.keep_page(page_key, rendered)
    return Response(rendered, media_type="application/json")


def progress_and_groups(
    rows: dict[str, Any],
    parts: dict[str, Any] | None,
    start: date,
    end: date,
    day: date,
    period_start: date | None = None,
) -> dict[str, Any]:
    """The region's progress and, from `parts` (`<region>|<key>` rows), each part's: the
    progress of that part's rows alone, so equal to asking for that region."""
    out = progress(rows, start=start, end=end, as_of=day, period_from=period_start)
    if parts is None:
        return out
    by_part: dict[str, dict[str, Any]] = defaultdict(dict)
    for grouped, counters in parts.items():
        code, key = grouped.split("|", 1)
        by_part[code][key] = counters
    groups = {}
    for code, part_rows in sorted(by_part.items()):
        alone = progress(part_rows, start=start, end=end, as_of=day, period_from=period_start)
        groups[code] = {
            "stations": alone["stations"],
            "lagging": len(alone["lagging"]),
            "totals": alone["totals"],
        }
    return {**out, "groups": groups}
