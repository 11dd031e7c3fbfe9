"""Allocations: money of a fund to a station (and activity), one at a time or as a
foundation's allocation plan; never more than available, also under concurrent requests."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from donations import domain
from donations.api.common import MONEY_ROUTE, Fen, MoneyCommand
from wushe.contracts.known import KnownStation
from wushe.web import Strict, fields, today

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
    given = fields(body, exclude={"station_id"}, on="allocated_on")
    decide = partial(
        domain.allocate, allocation_id=cmd.id("alc-"), station=station, **given, today=today()
    )
    return await cmd.on_fund(fund_id, body, decide, checked=True)


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
    decide = partial(
        domain.allocate_plan,
        plan_id=cmd.id("alc-"),
        allocations=planned,
        on=body.allocated_on,
        today=today(),
    )
    return await cmd.on_fund(fund_id, body, decide, checked=True)
