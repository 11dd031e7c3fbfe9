"""A programme's progress: actual against target per measure, pace, the lagging stations."""

from __future__ import annotations

import asyncio
import bisect
from datetime import date
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from projector.api.deps import AnswersDep, ProgrammesDep, RegionQuery, Views
from projector.views.programme_progress import progress
from wushe.auth import CurrentPrincipal
from wushe.errors import NotFound
from wushe.web import IsoDate, today

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


class ProgrammeProgressOut(BaseModel):
    programme_id: str
    name: str
    region: str
    as_of: date
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


@router.get(
    "/views/programmes/{programme_id}/progress", response_model=ProgrammeProgressOut, tags=["views"]
)
async def programme_progress(
    programme_id: str,
    views: Views,
    programmes: ProgrammesDep,
    who: CurrentPrincipal,
    answers: AnswersDep,
    region: RegionQuery = None,
    as_of: IsoDate | None = None,
    lagging: int = Query(10, ge=0, le=500),
    stations_limit: int = Query(
        500, ge=0, le=5000, description="stations in `per_station` (a page; 0 for none)"
    ),
    stations_after: str | None = Query(
        None, max_length=100, description="the page after this station id"
    ),
) -> Response:
    """Actual against target per measure (backbones, sessions, elder person-times), percent
    complete, pace against the time elapsed, and the most lagging stations; for the
    programme's region or a part of it, as of a day. Each station's figures come a page at
    a time (a province's 462 stations fit the default page; the nation's 41,000 do not)."""
    meta = await programmes.get(programme_id)
    area = region or who.region_scope
    # Another province's programme is as absent as one that does not exist: its name and
    # period are not for this caller. Visible: the programme's region and the caller's
    # scope overlap (a national programme to a province, a province's to the nation).
    overlap = meta is not None and who.shares_scope([meta[1]])
    if meta is None or not overlap or not area.startswith(who.region_scope):
        raise NotFound("programme_id", f"no progress for programme {programme_id}")
    name, _, start, end = meta
    day = as_of or today()

    async def compute() -> dict[str, Any]:
        rows = await views.totals(
            "programmes", region_prefix=area, as_of=day, key_prefix=f"{programme_id}|", by_key=True
        )
        # A pass over every station (43,000 nationally): in a thread, on the answer's copy,
        # so other requests are served meanwhile.
        return await asyncio.to_thread(progress, rows, start=start, end=end, as_of=day)

    kept = await answers.get(views, (programme_id, name, area, day, start, end), compute)
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
                start=start,
                end=end,
                elapsed=kept.result["elapsed"],
                stations=kept.result["stations"],
                totals=kept.result["totals"],
                per_station={station: per_station[station] for station in page},
                next_stations_after=page[-1] if more else None,
                lagging=kept.result["lagging"][:lagging],
            )
            .model_dump_json()
            .encode()
        )
        kept.keep_page(page_key, rendered)
    return Response(rendered, media_type="application/json")
