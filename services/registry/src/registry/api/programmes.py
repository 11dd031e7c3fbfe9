"""Programmes (项目): enrolled stations and their targets."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from registry import domain
from registry.api.deps import Reg, scoped_region
from registry.domain import Programme, Station
from wushe.auth import CurrentPrincipal
from wushe.commands import Events
from wushe.contracts.events import registry as ev
from wushe.errors import Conflict, DomainError
from wushe.web import Strict, fields

router = APIRouter(tags=["programmes"])


class ProgrammeIn(Strict):
    programme_id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{2,40}$",
        description="a stable slug, e.g. blue-vest-jiangxi-2022",
    )
    name: str = Field(min_length=1, max_length=200)
    funder_org_id: str | None = Field(None, max_length=64)
    scope_regions: list[str] = Field(min_length=1, max_length=100)
    start_date: date
    end_date: date
    total_targets: ev.Targets
    station_targets: ev.Targets = ev.Targets()


class EnrolmentIn(Strict):
    station_ids: list[str] = Field(min_length=1, max_length=5000)
    enrolled_on: date
    targets: Literal["default", "split_total"] = Field(
        "default", description="the per-station default, or the total split exactly"
    )


class WithdrawalIn(Strict):
    withdrawn_on: date
    reason: str = Field(min_length=1, max_length=500)


class ProgrammePatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    end_date: date | None = None
    total_targets: ev.Targets | None = None
    station_targets: ev.Targets | None = None


class ProgrammeOut(domain.ProgrammeFacts):
    enrolled_stations: int
    enrolled_targets: ev.Targets = Field(description="the sum of enrolled stations' targets")
    version: int


class ProgrammePage(BaseModel):
    items: list[ProgrammeOut]
    total: int


def programme_out(p: Programme, version: int) -> ProgrammeOut:
    return ProgrammeOut(
        **p.model_dump(exclude={"enrolments"}),
        enrolled_stations=len(p.enrolled()),
        enrolled_targets=domain.enrolled_targets(p),
        version=version,
    )


@router.post("/programmes", response_model=ProgrammeOut, status_code=201)
async def create_programme(body: ProgrammeIn, reg: Reg, who: CurrentPrincipal) -> ProgrammeOut:
    scope = [
        await scoped_region(reg, who, code, f"scope_regions[{i}]")
        for i, code in enumerate(body.scope_regions)
    ]
    funder = await reg.store.organisation(body.funder_org_id) if body.funder_org_id else None
    domain.check_funder(body.funder_org_id, funder is not None)
    programme, event = domain.create_programme(
        **fields(body, exclude={"scope_regions"}), scope=scope
    )
    saved = await reg.programmes.create(
        who,
        programme.programme_id,
        lambda: (programme, event),
        exists=Conflict("programme_id", f"{programme.programme_id} exists"),
    )
    return programme_out(saved.state, saved.version)


@router.get("/programmes", response_model=ProgrammePage)
async def list_programmes(reg: Reg, who: CurrentPrincipal) -> ProgrammePage:
    """Programmes whose regions overlap the caller's scope."""
    items = await reg.store.programmes_in(who.region_scope[:2])
    visible = [p for p in items if who.shares_scope(p.scope_regions)]
    return ProgrammePage(items=[programme_out(p, 0) for p in visible], total=len(visible))


@router.get("/programmes/{programme_id}", response_model=ProgrammeOut)
async def get_programme(programme_id: str, reg: Reg, who: CurrentPrincipal) -> ProgrammeOut:
    return programme_out(*await reg.programmes.load(who, programme_id))


@router.patch("/programmes/{programme_id}", response_model=ProgrammeOut)
async def update_programme(
    programme_id: str, body: ProgrammePatch, reg: Reg, who: CurrentPrincipal
) -> ProgrammeOut:
    changes = body.model_dump(exclude_unset=True)
    saved = await reg.programmes.change(
        who, programme_id, lambda p: domain.update_programme(p, **changes)
    )
    return programme_out(saved.state, saved.version)


@router.post("/programmes/{programme_id}/enrolments", response_model=ProgrammeOut)
async def enrol_stations(
    programme_id: str, body: EnrolmentIn, reg: Reg, who: CurrentPrincipal
) -> ProgrammeOut:
    await reg.programmes.load(who, programme_id)  # 404 before the stations are looked at
    stations: list[Station] = []
    for i, sid in enumerate(body.station_ids):
        station, _ = await reg.store.load_station(sid)
        if station is None or not who.can_see(station.region_code):
            raise DomainError(f"station_ids[{i}]", f"no station {sid}")
        stations.append(station)

    def decide(p: Programme) -> tuple[Programme, Events]:
        targets = domain.enrolment_targets(p, len(stations), body.targets)
        return domain.enrol(p, stations, on=body.enrolled_on, targets=targets)

    saved = await reg.programmes.change(who, programme_id, decide)
    return programme_out(saved.state, saved.version)


@router.post(
    "/programmes/{programme_id}/enrolments/{station_id}/withdrawal", response_model=ProgrammeOut
)
async def withdraw_station(
    programme_id: str, station_id: str, body: WithdrawalIn, reg: Reg, who: CurrentPrincipal
) -> ProgrammeOut:
    saved = await reg.programmes.change(
        who,
        programme_id,
        lambda p: domain.withdraw(p, station_id, on=body.withdrawn_on, reason=body.reason),
    )
    return programme_out(saved.state, saved.version)
