"""Supervision visits: plan one per station and month, complete it, close its items; the
items overdue in the caller's region."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from training.api.deps import Svc
from training.domain import supervision as domain
from training.domain.supervision import SupervisionVisit
from wushe import commands
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import training as ev
from wushe.errors import Conflict
from wushe.web import TOTAL_HEADERS, IsoDate, Page, StationPaging, Strict, counted, today

router = APIRouter(tags=["supervision"])


class VisitIn(Strict):
    station_id: str = Field(max_length=40)
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    supervisor_id: str = Field(min_length=1, max_length=64)


class ItemIn(Strict):
    category: Literal["materials", "service_quality", "safety", "finance", "staffing", "other"]
    description: str = Field(min_length=1, max_length=1000)
    deadline: date


class CompletionIn(Strict):
    visited_on: date
    checklist: ev.Checklist
    findings: list[Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=list, max_length=50
    )
    items: list[ItemIn] = Field(default_factory=list, max_length=50)


class ItemClosureIn(Strict):
    closed_on: date
    note: str = Field(min_length=1, max_length=1000)


class VisitOut(SupervisionVisit):
    version: int


class VisitPage(Page):
    items: list[VisitOut]


class OverdueItem(BaseModel):
    station_id: str
    item: domain.Item
    days_overdue: int


def visit_out(saved: commands.Saved[SupervisionVisit]) -> VisitOut:
    return VisitOut(**saved.state.model_dump(), version=saved.version)


@router.post("/supervision-visits", response_model=VisitOut, status_code=201)
async def plan_visit(body: VisitIn, svc: Svc, who: CurrentPrincipal) -> VisitOut:
    """One supervision visit (督导) per station and month."""
    station = await svc.store.registry.visible_station(who, body.station_id, open_only=False)
    visit_id = f"sv-{body.station_id}-{body.month}"
    visit = SupervisionVisit(**dict(body), visit_id=visit_id, region_code=station.region_code)
    commands.at_station(who, body.station_id)  # the caller's station, or refused
    saved = await svc.visits.create(
        who,
        visit_id,
        lambda: domain.plan_visit(visit),
        exists=Conflict("month", f"{body.station_id} already has a visit in {body.month}"),
    )
    return visit_out(saved)


@router.get("/supervision-visits", response_model=VisitPage)
async def list_visits(svc: Svc, who: CurrentPrincipal, page: StationPaging) -> VisitPage:
    """Supervision visits in the caller's region (station staff: at their own stations), or
    of one station, with their rectification items (整改事项); the newest month first."""
    rows, total = await page.listed(who, svc.store.list_visits)
    return page.of(VisitPage, [VisitOut(**v.model_dump(), version=n) for v, n in rows], total)


@router.post("/supervision-visits/{visit_id}/completion", response_model=VisitOut)
async def complete_visit(
    visit_id: str, body: CompletionIn, svc: Svc, who: CurrentPrincipal
) -> VisitOut:
    fields = dict(body) | {"items": [i.model_dump() for i in body.items]}
    saved = await svc.visits.change(
        who,
        visit_id,
        lambda v: domain.complete_visit(v, **fields, today=today(), completed_by=who.subject),
    )
    return visit_out(saved)


@router.post("/supervision-visits/{visit_id}/items/{item_id}/closure", response_model=VisitOut)
async def close_item(
    visit_id: str, item_id: str, body: ItemClosureIn, svc: Svc, who: CurrentPrincipal
) -> VisitOut:
    saved = await svc.visits.change(
        who,
        visit_id,
        lambda v: domain.close_item(v, item_id, **dict(body), today=today(), closed_by=who.subject),
    )
    return visit_out(saved)


@router.get(
    "/supervision/overdue",
    response_model=list[OverdueItem],
    responses={200: {"headers": TOTAL_HEADERS}},
)
async def overdue(
    svc: Svc,
    who: CurrentPrincipal,
    response: Response,
    as_of: IsoDate | None = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> list[OverdueItem]:
    """Rectification items still open past their deadline, in the caller's region; with
    `limit`, that many of the most overdue. `X-Total-Count` counts them all, of the first 500
    to fall due (`X-Total-Complete` says whether that is all)."""
    day = as_of or today()
    visits, total, complete = await svc.store.overdue_candidates(who.region_scope, day, limit or 0)
    found = [
        OverdueItem(station_id=sid, item=item, days_overdue=(day - item.deadline).days)
        for sid, item in domain.overdue_items(visits, day)
    ]
    counted(response, total, complete)
    return found
