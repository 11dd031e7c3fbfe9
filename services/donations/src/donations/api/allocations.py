"""Allocations: money of a fund to a station (and activity), one at a time or as a
foundation's allocation plan; never more than available, also under concurrent requests."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from donations import domain
from donations.api.common import MONEY_ROUTE, Fen, MoneyCommand
from wushe.contracts.known import KnownStation
from wushe.web import Strict, today

router = APIRouter(tags=["funds"])


class PlannedAllocationIn(Strict):
    station_id: str = Field(max_length=40)
    activity_id: str | None = Field(None, max_length=40)
    amount_fen: Fen


class AllocationIn(PlannedAllocationIn):
    allocated_on: date


@router.post("/funds/{fund_id}/allocations", **MONEY_ROUTE)
async def allocate(fund_id: str, body: AllocationIn, cmd: MoneyCommand) -> Any:
    """Allocate money of a fund to a station (and activity): never more than available, also
    under concurrent requests."""
    await cmd.fund(fund_id)  # a missing or foreign fund is 404 before the body
    station = await cmd.svc.store.registry.visible_station(cmd.who, body.station_id)
    return await cmd.on_fund(
        fund_id,
        body,
        "alc-",
        lambda f, allocation_id: domain.allocate(
            f,
            allocation_id=allocation_id,
            station=station,
            activity_id=body.activity_id,
            amount_fen=body.amount_fen,
            on=body.allocated_on,
            today=today(),
        ),
        checked=True,
    )


class AllocationPlanIn(Strict):
    allocated_on: date
    allocations: list[PlannedAllocationIn] = Field(min_length=1, max_length=1000)


@router.post("/funds/{fund_id}/allocation-plans", **MONEY_ROUTE)
async def allocate_plan(fund_id: str, body: AllocationPlanIn, cmd: MoneyCommand) -> Any:
    """A foundation's allocation plan: money of a fund to many stations (and activities) in
    one command, all or none, never more than available, also under concurrent requests.
    One commit however many stations, where one allocation at a time rewrites the growing
    fund once each."""
    await cmd.fund(fund_id)  # a missing or foreign fund is 404 before the body
    stations: dict[str, KnownStation] = {}
    for i, item in enumerate(body.allocations):
        if item.station_id not in stations:
            stations[item.station_id] = await cmd.svc.store.registry.visible_station(
                cmd.who, item.station_id, f"allocations.{i}.station_id"
            )
    planned = [
        domain.PlannedAllocation(
            station=stations[item.station_id],
            activity_id=item.activity_id,
            amount_fen=item.amount_fen,
        )
        for item in body.allocations
    ]
    return await cmd.on_fund(
        fund_id,
        body,
        "alc-",
        lambda f, plan_id: domain.allocate_plan(
            f, plan_id=plan_id, allocations=planned, on=body.allocated_on, today=today()
        ),
        checked=True,
    )
