"""Reconciliation: every fund of the caller's scope checked against its rules, its ledger
and its recorded events (what the partner stream carries)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from donations import domain
from donations.api.common import Svc
from donations.domain import Reconciliation
from wushe.auth import CurrentPrincipal

router = APIRouter(tags=["reconciliation"])


@router.get("/reconciliation", response_model=Reconciliation)
async def reconcile(
    svc: Svc,
    who: CurrentPrincipal,
    funder_id: Annotated[str | None, Query(max_length=40)] = None,
) -> Reconciliation:
    """Per fund: allocations within the pledge (or gift), disbursements within what was
    received, and the ledger equal to its recorded events (what the partner stream carries).
    Lists every fund that disagrees."""
    reconciler = domain.Reconciler()
    async for fund in svc.store.funds_within(who.region_scope, funder_id=funder_id):
        reconciler.add(fund, *await svc.store.event_totals(fund.fund_id))
    return reconciler.report()
