"""Reversing entries (冲正) on a fund's ledger."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from donations import domain
from donations.api.common import MONEY_ROUTE, Fen, MoneyCommand
from wushe.contracts.events import donations as ev
from wushe.web import Strict, fields, today

router = APIRouter(tags=["funds"])


class ReversalIn(Strict):
    entry_kind: Literal["gift", "allocation", "disbursement"]
    entry_id: str = Field(max_length=40)
    amount_fen: Fen
    reversed_on: date
    reason_code: ev.ReversalReason
    note: str = Field(min_length=1, max_length=500, description="why (kept in the service)")


@router.post("/funds/{fund_id}/reversals", **MONEY_ROUTE)
async def reverse(fund_id: str, body: ReversalIn, cmd: MoneyCommand) -> Any:
    """A reversing entry (冲正): a refund of a gift, an allocation taken back, a disbursement
    returned. Nothing is edited or deleted."""
    given = fields(body, exclude={"note"}, on="reversed_on")  # the note stays in the request
    decide = partial(domain.reverse, reversal_id=cmd.id("rev-"), **given, today=today())
    return await cmd.on_fund(fund_id, body, decide)
