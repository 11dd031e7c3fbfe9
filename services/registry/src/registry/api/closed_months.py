"""Closed months (数据审核/锁定): a county official closes a month for the stations of the
county, a city or province official may reopen it; both are events the other services and
the views follow (rules: `registry.domain.closed_months`)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from registry import domain
from registry.api.deps import Reg, Registry, scoped_region, within_scope
from registry.domain import ClosedMonths
from wushe import commands
from wushe.auth import CurrentPrincipal
from wushe.commands import Aggregate, region_code
from wushe.errors import NotFound
from wushe.web import Page, Paging, Strict, today

router = APIRouter(tags=["closed months"])
COUNTY = re.compile(r"^\d{6}$")


class CloseIn(Strict):
    region_code: str = Field(pattern=COUNTY.pattern, description="the county's 6-digit code")
    month: str = Field(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="YYYY-MM, a month that is over: it and every earlier open month close",
    )


class ReopenIn(Strict):
    reason: str = Field(min_length=1, max_length=500, description="why it is opened again")


class ClosedMonthsOut(BaseModel):
    region_code: str
    closed_through: str | None = Field(
        description="approved through: this month and every month before it are closed"
    )
    history: list[dict[str, Any]]
    version: int


class ClosedMonthsPage(Page):
    items: list[ClosedMonthsOut]


def months_out(saved: commands.Saved[ClosedMonths]) -> ClosedMonthsOut:
    return ClosedMonthsOut(**saved.state.model_dump(), version=saved.version)


def county_months(reg: Registry, county: str) -> Aggregate[ClosedMonths]:
    """A county's closed months, on the command path: they exist (none closed) from the
    first command on, and lie in the county."""
    return Aggregate(
        reg.store.closed_months,
        ClosedMonths,
        region_code,
        "closed months",
        "region_code",
        initial=lambda: ClosedMonths(region_code=county),
    )


@router.post("/closed-months", response_model=ClosedMonthsOut)
async def close_month(body: CloseIn, reg: Reg, who: CurrentPrincipal) -> ClosedMonthsOut:
    """Close a month for the stations of a county (a county official their own; a city or
    province official a county inside their region). It closes every earlier open month
    with it; a month not yet over cannot close."""
    county = await scoped_region(reg, who, body.region_code)
    saved = await county_months(reg, county.code).change(
        who,
        domain.closed_months_id(county.code),
        lambda s: domain.close_month(s, month=body.month, by=who.subject, today=today()),
    )
    return months_out(saved)


@router.post("/closed-months/{region_code}/{month}/reopening", response_model=ClosedMonthsOut)
async def reopen_month(
    region_code: str, month: str, body: ReopenIn, reg: Reg, who: CurrentPrincipal
) -> ClosedMonthsOut:
    """Open a closed month again (a city or province official, with a reason), and every
    later closed month with it."""
    if not COUNTY.fullmatch(region_code):
        raise NotFound("region_code", f"closed months {region_code} not found")
    saved = await county_months(reg, region_code).change(
        who,
        domain.closed_months_id(region_code),
        lambda s: domain.reopen_month(
            s, month=month, reason=body.reason, by=who.subject, today=today()
        ),
    )
    return months_out(saved)


@router.get("/closed-months", response_model=ClosedMonthsPage)
async def list_closed_months(
    reg: Reg,
    who: CurrentPrincipal,
    region: Annotated[str, Query(pattern=r"^\d{2,9}$")] | None = None,
    *,
    page: Paging,
) -> ClosedMonthsPage:
    """The counties within the caller's scope (or `region` inside it) that closed a month,
    each with the month it is approved through."""
    within = within_scope(who, region)
    if within is None:
        return page.of(ClosedMonthsPage, [], 0)
    rows, total = await reg.store.list_closed_months(within=within, **page.bounds)
    return page.of(ClosedMonthsPage, [months_out(commands.Saved(s, v)) for s, v in rows], total)
