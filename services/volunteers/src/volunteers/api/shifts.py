"""Shifts (值班) a station schedules: a duty on one day, between two times, that
volunteers check in to."""

from __future__ import annotations

import uuid
from datetime import date, time

from fastapi import APIRouter
from pydantic import Field

from volunteers.api.deps import Svc
from volunteers.domain import shifts as rules
from volunteers.domain.shifts import Shift
from wushe.auth import CurrentPrincipal
from wushe.web import Strict

router = APIRouter(tags=["attendance"])


class ShiftIn(Strict):
    station_id: str = Field(max_length=40)
    shift_date: date
    starts_at: time
    ends_at: time
    duty: str = Field(min_length=1, max_length=60, description="e.g. 助餐点值班, 热线值守")


class ShiftOut(Shift):
    pass  # the shift as it is kept (its own name in the OpenAPI document)


@router.post("/shifts", response_model=ShiftOut, status_code=201)
async def schedule_shift(body: ShiftIn, svc: Svc, who: CurrentPrincipal) -> ShiftOut:
    station = await svc.store.registry.visible_station(who, body.station_id, "station_id")
    await svc.store.registry.check_open(station.region_code, ("shift_date", body.shift_date))
    shift_id = f"shift-{uuid.uuid4().hex[:16]}"
    times = body.model_dump(exclude={"station_id"})
    saved = await svc.shifts.create(
        who, shift_id, lambda: rules.plan_shift(shift_id, station, **times)
    )
    return ShiftOut(**saved.state.model_dump())


@router.get("/shifts/{shift_id}", response_model=ShiftOut)
async def get_shift(shift_id: str, svc: Svc, who: CurrentPrincipal) -> ShiftOut:
    shift, _ = await svc.shifts.load(who, shift_id)
    return ShiftOut(**shift.model_dump())
