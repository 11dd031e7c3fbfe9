"""Funds and pledges (认捐): a pledge made, a fund read, the funds of the caller's scope."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from donations import domain
from donations.api.common import (
    MONEY_ROUTE,
    Fen,
    FundOut,
    MoneyCommand,
    Svc,
    fund_out,
    named_donor,
    named_programme,
    visible_fund,
)
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import donations as ev
from wushe.errors import NotFound
from wushe.web import Strict, fields

router = APIRouter(tags=["funds"])


class PledgeIn(Strict):
    donor_id: str = Field(max_length=40)
    programme_id: str | None = Field(None, max_length=64)
    station_id: str | None = Field(None, max_length=40)
    amount_fen: Fen
    period_start: date
    period_end: date
    instalments: list[ev.Instalment] = Field(default_factory=list, max_length=120)


@router.post("/pledges", **MONEY_ROUTE)
async def make_pledge(body: PledgeIn, cmd: MoneyCommand) -> Any:
    """A pledge (认捐) of a donor to a programme or a station, in fen, over a period, with an
    optional instalment schedule; gifts fulfil it as they arrive."""
    svc, who = cmd.svc, cmd.who
    donor = await named_donor(svc, who, body.donor_id)
    domain.check_pledge_target(body.programme_id, body.station_id)
    programme = station = None
    if body.programme_id:
        programme = await named_programme(svc, who, body.programme_id)
        region = domain.programme_region(programme)
    else:
        station = await svc.store.registry.visible_station(who, str(body.station_id))
        region = station.region_code
    if not who.can_see(region):
        raise NotFound("programme_id", "programme not found")
    given = fields(body, exclude={"donor_id", "programme_id", "station_id"})
    pledge = partial(domain.make_pledge, programme=programme, station=station, **given)
    return await cmd.new_fund(body, "plg-", donor, region, pledge)


@router.get("/funds/{fund_id}", response_model=FundOut)
async def get_fund(fund_id: str, svc: Svc, who: CurrentPrincipal) -> FundOut:
    return fund_out(await visible_fund(svc, who, fund_id))


class FundPage(BaseModel):
    items: list[FundOut]
    total: int


@router.get("/funds", response_model=FundPage)
async def list_funds(
    svc: Svc,
    who: CurrentPrincipal,
    funder_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FundPage:
    items = []
    async for fund in svc.store.funds_within(who.region_scope, funder_id=funder_id):
        items.append(fund_out(fund))
    return FundPage(items=items[:limit], total=len(items))
