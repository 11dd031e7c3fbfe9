"""The views API: region-scoped totals, as of any day, broken down by sub-region."""

from __future__ import annotations

import asyncio
import bisect
import csv
import io
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from projector.domain import progress
from projector.rebuild import Rebuilder, RebuildStatus
from projector.store import Generations, Programmes
from wushe.auth import CurrentPrincipal
from wushe.projection import Projector, ServingModel
from wushe.topics import group_size
from wushe.web import IsoDate, today

router = APIRouter()

ViewName = Literal[
    "activities", "stations", "people", "volunteers", "money", "training", "programmes"
]
LEVELS = {"province": 2, "city": 4, "county": 6, "township": 9}


async def get_projector(request: Request) -> Projector:
    """The generation being served (a rebuild switches it atomically)."""
    generations: Generations = request.app.state.generations
    return await generations.current()


Views = Annotated[Projector, Depends(get_projector)]


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
    region: Annotated[str | None, Query(pattern=r"^\d{2,9}$")] = None,
    by: Literal["province", "city", "county", "township"] = "city",
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
    region: Annotated[str | None, Query(pattern=r"^\d{2,9}$")] = None,
    by: Literal["province", "city", "county", "township"] | None = None,
    as_of: IsoDate | None = None,
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


async def get_programmes(request: Request) -> Programmes:
    programmes: Programmes = request.app.state.programmes
    return programmes


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


@dataclass
class KeptProgress:
    model: weakref.ref[ServingModel]  # what it was computed from (weak: a switch drops it)
    folds: int  # ... as of this many folds
    result: dict[str, Any]
    order: list[str]  # the stations of `per_station`, sorted (for paging)
    # Answers rendered from it, by page (first station, page size, lagging shown): validating
    # and encoding a page of 500 stations took most of a request's time, so once per page.
    pages: dict[tuple[int, int, int], bytes] = field(default_factory=dict)


class ProgressAnswers:
    """Programme progress, kept while the views it came from have not moved: at national
    scale it is a pass over 43,000 stations, so once per change of the views, not once per
    request. Bounded in results and in the stations they hold together (a national result
    is tens of MB); the least recently asked goes first."""

    def __init__(self, size: int = 32, max_stations: int = 200_000) -> None:
        self.size = size
        self.max_stations = max_stations
        self._kept: OrderedDict[tuple[Any, ...], KeptProgress] = OrderedDict()
        self._computing = asyncio.Lock()

    async def get(
        self, views: Projector, key: tuple[Any, ...], compute: Callable[[], Awaitable[Any]]
    ) -> KeptProgress:
        kept = self._current(key, await views.refresh())
        if kept is None:
            async with self._computing:  # requests arriving together compute it once
                model = await views.refresh()
                kept = self._current(key, model)
                if kept is None:
                    # The count before computing: a fold meanwhile makes the next ask
                    # compute again, never serves older figures under a newer count.
                    folds = model.folds
                    result = await compute()
                    kept = KeptProgress(
                        weakref.ref(model), folds, result, sorted(result["per_station"])
                    )
        self._kept.pop(key, None)
        held = len(kept.order)
        for other in list(self._kept):
            if len(self._kept) < self.size and held + self._held() <= self.max_stations:
                break
            del self._kept[other]
        self._kept[key] = kept  # last: the most recently asked
        return kept

    def _current(self, key: tuple[Any, ...], model: ServingModel) -> KeptProgress | None:
        """The kept result for `key` if it was computed from `model` as it is now."""
        kept = self._kept.get(key)
        if kept is None or kept.model() is not model or kept.folds != model.folds:
            return None
        return kept

    def _held(self) -> int:
        return sum(len(k.order) for k in self._kept.values())


PAGES_KEPT = 16  # rendered pages per kept progress (a national caller pages through 83)


async def get_progress_answers(request: Request) -> ProgressAnswers:
    answers: ProgressAnswers = request.app.state.progress_answers
    return answers


@router.get(
    "/views/programmes/{programme_id}/progress", response_model=ProgrammeProgressOut, tags=["views"]
)
async def programme_progress(
    programme_id: str,
    views: Views,
    programmes: Annotated[Programmes, Depends(get_programmes)],
    who: CurrentPrincipal,
    answers: Annotated[ProgressAnswers, Depends(get_progress_answers)],
    region: Annotated[str | None, Query(pattern=r"^\d{2,9}$")] = None,
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
        raise HTTPException(404, f"no progress for programme {programme_id}")
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
    rendered = kept.pages.get((first, stations_limit, lagging))
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
        if len(kept.pages) >= PAGES_KEPT:
            del kept.pages[next(iter(kept.pages))]
        kept.pages[(first, stations_limit, lagging)] = rendered
    return Response(rendered, media_type="application/json")


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
    region: Annotated[str | None, Query(pattern=r"^\d{2,9}$")] = None,
    as_of: IsoDate | None = None,
) -> LineageOut:
    """Money to outcome for one funder (a foundation's donor id): pledge → gifts →
    allocations → stations → activities → person-times, within the caller's region."""
    area = region or who.region_scope
    if not area.startswith(who.region_scope):
        raise HTTPException(404, "region not found")
    day = as_of or today()
    rows = await views.totals(
        "lineage", region_prefix=area, as_of=day, key_prefix=f"{funder_id}|", by_key=True
    )
    outcomes = await views.totals(
        "lineage", region_prefix=area, as_of=day, key_prefix="outcome|", by_key=True
    )
    funds, allocations = [], []
    totals: dict[str, int] = {}
    for key, c in sorted(rows.items()):
        parts = key.split("|")
        if parts[1] == "fund":
            funds.append(
                LineageFund(
                    fund_id=parts[2],
                    pledged_fen=c.get("pledged_fen", 0),
                    received_fen=c.get("received_fen", 0),
                )
            )
        else:
            done = outcomes.get(f"outcome|{parts[2]}", {})
            allocations.append(
                LineageAllocation(
                    allocation_id=parts[2],
                    station_id=parts[3],
                    allocated_fen=c.get("allocated_fen", 0),
                    disbursed_fen=c.get("disbursed_fen", 0),
                    outcomes=done,
                )
            )
            for name, n in done.items():
                totals[name] = totals.get(name, 0) + n
        for name, n in c.items():
            totals[name] = totals.get(name, 0) + n
    if not rows:
        raise HTTPException(404, f"nothing funded by {funder_id} in {area}")
    return LineageOut(
        funder_id=funder_id,
        region=area,
        as_of=day,
        funds=funds,
        allocations=allocations,
        totals=totals,
    )


class RebuildOut(BaseModel):
    rebuild_id: str
    generation: str
    status: str
    done: int
    total: int
    error: str


def rebuild_out(run: RebuildStatus) -> RebuildOut:
    return RebuildOut(
        rebuild_id=run.rebuild_id,
        generation=run.generation,
        status=run.status,
        done=run.done,
        total=run.total,
        error=run.error,
    )


async def get_rebuilder(request: Request) -> Rebuilder:
    rebuilder: Rebuilder = request.app.state.rebuilder
    return rebuilder


@router.post("/views/rebuilds", response_model=RebuildOut, status_code=202, tags=["views"])
async def start_rebuild(
    request: Request,
    who: CurrentPrincipal,
    rebuilder: Annotated[Rebuilder, Depends(get_rebuilder)],
) -> RebuildOut:
    """Rebuild every view from offset 0 into a new generation; the current one keeps
    serving until the new one has caught up, then the switch is atomic. Every province's
    views are rebuilt, so it takes the `platform_operator` role, which no province's admin
    implies.
    The switch pauses the live consumer in this process, so the views group must have one
    member: with more, 409 (scale to one instance, rebuild, scale out again)."""
    if not who.has_role("platform_operator"):
        raise HTTPException(
            403, "rebuilding every province's views needs the platform_operator role"
        )
    settings = request.app.state.ctx.settings
    members = await group_size(settings.kafka_bootstrap, settings.views_group)
    if members > 1:
        raise HTTPException(
            409, f"{members} projector instances consume the views: scale to one to rebuild"
        )
    try:
        return rebuild_out(rebuilder.start())
    except RuntimeError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/views/rebuilds/{rebuild_id}", response_model=RebuildOut, tags=["views"])
async def rebuild_status(
    rebuild_id: str, who: CurrentPrincipal, rebuilder: Annotated[Rebuilder, Depends(get_rebuilder)]
) -> RebuildOut:
    run = rebuilder.runs.get(rebuild_id)
    if run is None or not who.has_role("platform_operator"):
        raise HTTPException(404, f"no rebuild {rebuild_id}")
    return rebuild_out(run)
