"""Gifts (捐赠): on a pledge, or made without one (a fund of their own)."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from donations import domain
from donations.api.common import MONEY_ROUTE, Fen, MoneyCommand, named_donor, named_programme
from donations.domain import GiftIn
from wushe.errors import NotFound
from wushe.web import Strict, today

router = APIRouter(tags=["funds"])


class GiftBody(Strict):
    kind: Literal["cash", "in_kind"]
    amount_fen: Fen = Field(description="cash, or the valuation of goods")
    item: str | None = Field(None, max_length=100)
    quantity: float | None = Field(None, gt=0, le=1e9)
    unit: str | None = Field(None, max_length=20)
    receipt_no: str = Field(min_length=1, max_length=64, description="捐赠票据号")
    received_on: date


class StandaloneGiftIn(GiftBody):
    donor_id: str = Field(max_length=40)
    programme_id: str | None = Field(None, max_length=64)
    region_code: str | None = Field(
        None, max_length=12, description="without a programme: the region the gift serves"
    )


def _gift(gift_id: str, body: GiftBody) -> GiftIn:
    return GiftIn(gift_id=gift_id, **body.model_dump(include=set(GiftBody.model_fields)))


@router.post("/pledges/{fund_id}/gifts", **MONEY_ROUTE)
async def receive_on_pledge(fund_id: str, body: GiftBody, cmd: MoneyCommand) -> Any:
    """A gift (cash or in kind) fulfilling part of a pledge."""
    gift = _gift(cmd.id("gft-"), body)
    return await cmd.on_fund(
        fund_id, body, lambda f: domain.receive_on_pledge(f, gift, today=today())
    )


@router.post("/gifts", **MONEY_ROUTE)
async def give(body: StandaloneGiftIn, cmd: MoneyCommand) -> Any:
    """A gift made without a pledge: a fund of its own, allocated like a pledge."""
    donor = await named_donor(cmd.svc, cmd.who, body.donor_id)
    programme = None
    if body.programme_id:
        programme = await named_programme(cmd.svc, cmd.who, body.programme_id)
    region = domain.gift_region(programme, body.region_code)
    if not cmd.who.can_see(region):
        raise NotFound("region_code", "region not found")
    gift = _gift(cmd.id("gft-"), body)
    decide = partial(domain.gift_fund, programme_id=body.programme_id, gift=gift, today=today())
    return await cmd.new_fund(body, "gfd-", donor, region, decide)
