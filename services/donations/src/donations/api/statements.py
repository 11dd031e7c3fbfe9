"""Monthly statements (月度报表) of a fund: issued once a month is over (by the service's
sweep, or at once by an official), read by the fund's officials and its foundation."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from donations.api.common import Svc
from donations.api.funds import readable_fund
from donations.domain.outcomes import last_month
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import donations as ev
from wushe.web import today

router = APIRouter(tags=["funds"])


class Statements(BaseModel):
    fund_id: str
    stated_through: str | None
    items: list[ev.StatementIssued]


@router.get("/funds/{fund_id}/statements", response_model=Statements)
async def list_statements(fund_id: str, svc: Svc, who: CurrentPrincipal) -> Statements:
    """The fund's monthly statements as issued, the earliest first: the same records its
    foundation's feed carries (`donations.StatementIssued.v1`)."""
    fund = await readable_fund(svc, who, fund_id)
    items = await svc.store.statements(fund.fund_id)
    return Statements(fund_id=fund.fund_id, stated_through=fund.stated_through, items=items)


@router.post("/funds/{fund_id}/statements", response_model=Statements)
async def issue_statements(fund_id: str, svc: Svc, who: CurrentPrincipal) -> Statements:
    """Issue now the statements of months that are over and not yet stated (the sweep does
    it hourly): answers those issued by this call, none when all are."""
    fund = await readable_fund(svc, who, fund_id)
    items = await svc.store.issue_statements(fund.fund_id, last_month(today()))
    current = await svc.store.fund(fund.fund_id)
    through = current.stated_through if current else None
    return Statements(fund_id=fund.fund_id, stated_through=through, items=items)
