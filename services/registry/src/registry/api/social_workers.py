"""Social workers (社会工作者): personal data in sealed, shown masked only."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from registry import domain
from registry.api.deps import Reg, scoped_region
from registry.domain import SocialWorker
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import registry as ev
from wushe.errors import Conflict
from wushe.web import Page, Paging, Strict, answer, masked, today

router = APIRouter(tags=["social workers"])


class SocialWorkerIn(Strict):
    name: str = Field(min_length=1, max_length=40)
    id_number: str = Field(min_length=18, max_length=18)
    phone: str | None = Field(None, max_length=20)
    region_code: str = Field(
        pattern=r"^\d{6}(\d{3})?$", description="the county or township the worker is registered in"
    )
    certification: ev.Certification = "none"
    general_practice: bool = False


class CertificationIn(Strict):
    certification: ev.Certification
    general_practice: bool


class AssignmentIn(Strict):
    station_id: str = Field(max_length=40)
    from_date: date = Field(
        description="驻站日期: the day the assignment began; may lie in the past (views count "
        "the worker at the station from then), never after today"
    )


class SocialWorkerPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=40)
    phone: str | None = Field(None, max_length=20)


class SocialWorkerOut(BaseModel):
    """Personal data is shown masked only."""

    worker_id: str
    region_code: str
    certification: str
    general_practice: bool
    name: str
    phone: str | None
    id_number: str
    station_id: str | None
    assignments: list[dict[str, Any]]


class SocialWorkerPage(Page):
    items: list[SocialWorkerOut]


def worker_out(w: SocialWorker) -> SocialWorkerOut:
    return answer(SocialWorkerOut, w, **masked(w))


@router.post("/social-workers", response_model=SocialWorkerOut, status_code=201)
async def register_social_worker(
    body: SocialWorkerIn, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    await scoped_region(reg, who, body.region_code)
    worker, event = domain.register_worker(**dict(body), vault=reg.vault)
    saved = await reg.workers.create(
        who,
        worker.worker_id,
        lambda: (worker, event),
        exists=Conflict("id_number", "a social worker with this ID number is already registered"),
    )
    return worker_out(saved.state)


@router.get("/social-workers", response_model=SocialWorkerPage)
async def list_social_workers(
    reg: Reg,
    who: CurrentPrincipal,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
    certification: ev.Certification | None = None,
    *,
    page: Paging,
) -> SocialWorkerPage:
    items, total = await reg.store.list_social_workers(
        within=who.region_scope, station_id=station_id, certification=certification, **page.bounds
    )
    return page.of(SocialWorkerPage, [worker_out(w) for w in items], total)


@router.get("/social-workers/{worker_id}", response_model=SocialWorkerOut)
async def get_social_worker(worker_id: str, reg: Reg, who: CurrentPrincipal) -> SocialWorkerOut:
    worker, _ = await reg.workers.load(who, worker_id)
    return worker_out(worker)


@router.patch("/social-workers/{worker_id}", response_model=SocialWorkerOut)
async def update_social_worker(
    worker_id: str, body: SocialWorkerPatch, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    """Change a worker's name or phone: stored encrypted, announced without the values."""
    saved = await reg.workers.change(
        who, worker_id, lambda w: domain.change_contact(w, **dict(body), vault=reg.vault)
    )
    return worker_out(saved.state)


@router.post("/social-workers/{worker_id}/certification", response_model=SocialWorkerOut)
async def certify_social_worker(
    worker_id: str, body: CertificationIn, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    saved = await reg.workers.change(
        who, worker_id, lambda w: domain.certify(w, body.certification, body.general_practice)
    )
    return worker_out(saved.state)


@router.post("/social-workers/{worker_id}/assignments", response_model=SocialWorkerOut)
async def assign_social_worker(
    worker_id: str, body: AssignmentIn, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    station, _ = await reg.stations.load(who, body.station_id)
    saved = await reg.workers.change(
        who, worker_id, lambda w: domain.assign(w, station, body.from_date, today=today())
    )
    return worker_out(saved.state)
