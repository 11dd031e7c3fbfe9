"""Supervision visits: plan one per station and month, complete it, close its items; the
items overdue in the caller's region."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from training.api.deps import Store
from training.domain import supervision as domain
from training.domain.supervision import SupervisionVisit
from training.store import TrainingStore
from wushe import commands
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts import Event
from wushe.contracts.events import training as ev
from wushe.errors import Conflict
from wushe.web import IsoDate, Strict, today

router = APIRouter(tags=["supervision"])


def region(v: SupervisionVisit) -> str:
    return v.region_code


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


class OverdueItem(BaseModel):
    station_id: str
    item: domain.Item
    days_overdue: int


def visit_out(saved: commands.Saved[SupervisionVisit]) -> VisitOut:
    return VisitOut(**saved.state.model_dump(), version=saved.version)


async def change(
    store: TrainingStore,
    who: Principal,
    visit_id: str,
    decide: Callable[[SupervisionVisit], tuple[SupervisionVisit, Event | Sequence[Event]]],
) -> VisitOut:
    saved = await commands.change(
        store.visits,
        visit_id,
        SupervisionVisit,
        who,
        decide,
        region=region,
        missing="supervision visit",
        field="visit_id",
    )
    return visit_out(saved)


@router.post("/supervision-visits", response_model=VisitOut, status_code=201)
async def plan_visit(body: VisitIn, store: Store, who: CurrentPrincipal) -> VisitOut:
    """One supervision visit (督导) per station and month."""
    station = await store.registry.visible_station(who, body.station_id, open_only=False)
    visit_id = f"sv-{body.station_id}-{body.month}"
    saved = await commands.create(
        store.visits,
        visit_id,
        who,
        lambda: domain.plan_visit(
            visit_id=visit_id,
            station_id=body.station_id,
            region_code=station.region_code,
            month=body.month,
            supervisor_id=body.supervisor_id,
        ),
        region=region,
        exists=Conflict("month", f"{body.station_id} already has a visit in {body.month}"),
    )
    return visit_out(saved)


@router.post("/supervision-visits/{visit_id}/completion", response_model=VisitOut)
async def complete_visit(
    visit_id: str, body: CompletionIn, store: Store, who: CurrentPrincipal
) -> VisitOut:
    return await change(
        store,
        who,
        visit_id,
        lambda v: domain.complete_visit(
            v,
            visited_on=body.visited_on,
            checklist=body.checklist,
            findings=body.findings,
            items=[i.model_dump() for i in body.items],
            today=today(),
        ),
    )


@router.post("/supervision-visits/{visit_id}/items/{item_id}/closure", response_model=VisitOut)
async def close_item(
    visit_id: str, item_id: str, body: ItemClosureIn, store: Store, who: CurrentPrincipal
) -> VisitOut:
    return await change(
        store,
        who,
        visit_id,
        lambda v: domain.close_item(
            v, item_id, closed_on=body.closed_on, note=body.note, today=today()
        ),
    )


@router.get("/supervision/overdue", response_model=list[OverdueItem])
async def overdue(
    store: Store, who: CurrentPrincipal, as_of: IsoDate | None = None
) -> list[OverdueItem]:
    """Rectification items still open past their deadline, in the caller's region."""
    day = as_of or today()
    visits = await store.visits_in(who.region_scope)
    return [
        OverdueItem(station_id=sid, item=item, days_overdue=(day - item.deadline).days)
        for sid, item in domain.overdue_items(visits, day)
    ]
