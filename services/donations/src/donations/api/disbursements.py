"""Disbursements: money paid out against an allocation."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from donations import domain
from donations.api.common import MONEY_ROUTE, Fen, MoneyCommand
from wushe.web import Strict, fields, today

router = APIRouter(tags=["funds"])


class DisbursementIn(Strict):
    allocation_id: str = Field(max_length=40)
    amount_fen: Fen
    paid_on: date
    purpose: Literal["activity_costs", "goods", "services", "subsidy", "other"]


@router.post("/funds/{fund_id}/disbursements", **MONEY_ROUTE)
async def disburse(fund_id: str, body: DisbursementIn, cmd: MoneyCommand) -> Any:
    decide = partial(
        domain.disburse, disbursement_id=cmd.id("dsb-"), **fields(body, on="paid_on"), today=today()
    )
    return await cmd.on_fund(fund_id, body, decide)
