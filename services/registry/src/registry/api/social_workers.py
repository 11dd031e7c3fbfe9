"""Social workers (社会工作者): personal data in sealed, shown masked only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from registry import domain
from registry.api.deps import Reg, Registry, scoped_region
from registry.domain import SocialWorker, Station
from wushe import commands
from wushe.auth import CurrentPrincipal, Principal
from wushe.commands import Events
from wushe.contracts.events import registry as ev
from wushe.errors import Conflict
from wushe.web import Limit, Offset, Strict

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
    from_date: date


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


class SocialWorkerPage(BaseModel):
    items: list[SocialWorkerOut]
    total: int
    limit: int
    offset: int


def worker_out(w: SocialWorker) -> SocialWorkerOut:
    return SocialWorkerOut(
        worker_id=w.worker_id,
        region_code=w.region_code,
        certification=w.certification,
        general_practice=w.general_practice,
        name=w.name_masked,
        phone=w.phone_masked,
        id_number=w.id_number_masked,
        station_id=w.station_id,
        assignments=w.assignments,
    )


def _region(w: SocialWorker) -> str:
    return w.region_code


async def _change(
    reg: Registry,
    who: Principal,
    worker_id: str,
    decide: Callable[[SocialWorker], tuple[SocialWorker, Events]],
) -> SocialWorkerOut:
    saved = await commands.change(
        reg.store.social_workers,
        worker_id,
        SocialWorker,
        who,
        decide,
        region=_region,
        missing="social_worker",
        field="worker_id",
    )
    return worker_out(saved.state)


@router.post("/social-workers", response_model=SocialWorkerOut, status_code=201)
async def register_social_worker(
    body: SocialWorkerIn, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    await scoped_region(reg, who, body.region_code)
    worker, event = domain.register_worker(
        name=body.name,
        id_number=body.id_number,
        phone=body.phone,
        region_code=body.region_code,
        certification=body.certification,
        general_practice=body.general_practice,
        vault=reg.vault,
    )
    saved = await commands.create(
        reg.store.social_workers,
        worker.worker_id,
        who,
        lambda: (worker, event),
        region=_region,
        exists=Conflict("id_number", "a social worker with this ID number is already registered"),
    )
    return worker_out(saved.state)


@router.get("/social-workers", response_model=SocialWorkerPage)
async def list_social_workers(
    reg: Reg,
    who: CurrentPrincipal,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
    certification: ev.Certification | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> SocialWorkerPage:
    items, total = await reg.store.list_social_workers(
        within=who.region_scope,
        station_id=station_id,
        certification=certification,
        limit=limit,
        offset=offset,
    )
    return SocialWorkerPage(
        items=[worker_out(w) for w in items], total=total, limit=limit, offset=offset
    )


@router.get("/social-workers/{worker_id}", response_model=SocialWorkerOut)
async def get_social_worker(worker_id: str, reg: Reg, who: CurrentPrincipal) -> SocialWorkerOut:
    worker, _ = await commands.load_visible(
        reg.store.social_workers,
        worker_id,
        SocialWorker,
        who,
        region=_region,
        missing="social_worker",
        field="worker_id",
    )
    return worker_out(worker)


@router.patch("/social-workers/{worker_id}", response_model=SocialWorkerOut)
async def update_social_worker(
    worker_id: str, body: SocialWorkerPatch, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    """Change a worker's name or phone: stored encrypted, announced without the values."""
    return await _change(
        reg,
        who,
        worker_id,
        lambda w: domain.change_contact(w, name=body.name, phone=body.phone, vault=reg.vault),
    )


@router.post("/social-workers/{worker_id}/certification", response_model=SocialWorkerOut)
async def certify_social_worker(
    worker_id: str, body: CertificationIn, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    return await _change(
        reg,
        who,
        worker_id,
        lambda w: domain.certify(w, body.certification, body.general_practice),
    )


@router.post("/social-workers/{worker_id}/assignments", response_model=SocialWorkerOut)
async def assign_social_worker(
    worker_id: str, body: AssignmentIn, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    station, _ = await commands.load_visible(
        reg.store.stations,
        body.station_id,
        Station,
        who,
        region=lambda st: st.region_code,
        missing="station",
    )
    return await _change(reg, who, worker_id, lambda w: domain.assign(w, station, body.from_date))
