"""Funds and pledges (认捐): a pledge made, a fund read, the funds of the caller's scope.

A foundation's token (`funder`) is scoped to its funder id, not a region: it reads its own
funds wherever they are (a foundation funds programmes in any province), and another's fund
answers as a missing one. The funder id is the `funder_id` of its funds and its lineage:
the donor id (`dnr-…`) the province got when it registered the foundation as a donor."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from donations import domain
from donations.api.common import (
    MONEY_ROUTE,
    Donations,
    Fen,
    FundOut,
    MoneyCommand,
    Svc,
    fund_out,
    named_donor,
    named_programme,
    visible_fund,
)
from donations.domain import Fund
from wushe.auth import CurrentPrincipal, Principal
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


def owns(who: Principal, funder_id: str | None) -> bool:
    """Whether a foundation's token reads the money of `funder_id`: its own, never the
    anonymous gifts' ("anonymous" is every anonymous donor's funder id)."""
    return who.funder_id is not None and funder_id == who.funder_id != "anonymous"


async def readable_fund(svc: Donations, who: Principal, fund_id: str) -> Fund:
    """The fund, or 404 (as for a missing id) when it lies outside the caller's scope: a
    region, or for a foundation its funder id."""
    if who.funder_id is None:
        return await visible_fund(svc, who, fund_id)
    fund = await svc.store.fund(fund_id)
    if fund is None or not owns(who, fund.funder_id):
        raise NotFound("fund_id", f"fund {fund_id} not found")  # as the command path says
    return fund


@router.get("/funds/{fund_id}", response_model=FundOut)
async def get_fund(fund_id: str, svc: Svc, who: CurrentPrincipal) -> FundOut:
    """A fund of the caller's region, or a foundation's own fund."""
    return fund_out(await readable_fund(svc, who, fund_id))


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
    """The funds of the caller's region (`funder_id`: of one funder); a foundation's token,
    its own funds in every region (another `funder_id` finds none)."""
    if who.funder_id is None:
        funds = svc.store.funds_within(who.region_scope, funder_id=funder_id)
    elif owns(who, funder_id or who.funder_id):
        funds = svc.store.funds_of(who.funder_id)
    else:
        return FundPage(items=[], total=0)
    items = [fund_out(fund) async for fund in funds]
    return FundPage(items=items[:limit], total=len(items))
