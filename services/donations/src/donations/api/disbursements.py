"""Disbursements: money paid out against an allocation."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from donations import domain
from donations.api.common import MONEY_ROUTE, Fen, MoneyCommand
from wushe.web import Strict, today

router = APIRouter(tags=["funds"])


class DisbursementIn(Strict):
    allocation_id: str = Field(max_length=40)
    amount_fen: Fen
    paid_on: date
    purpose: Literal["activity_costs", "goods", "services", "subsidy", "other"]


@router.post("/funds/{fund_id}/disbursements", **MONEY_ROUTE)
async def disburse(fund_id: str, body: DisbursementIn, cmd: MoneyCommand) -> Any:
    return await cmd.on_fund(
        fund_id,
        body,
        "dsb-",
        lambda f, disbursement_id: domain.disburse(
            f,
            disbursement_id=disbursement_id,
            allocation_id=body.allocation_id,
            amount_fen=body.amount_fen,
            on=body.paid_on,
            purpose=body.purpose,
            today=today(),
        ),
    )
