"""Thin REST routers, one per sub-domain: parse, call the domain through the one command
path (`api.common.Money` for money, `wushe.commands` for all), answer."""

from fastapi import APIRouter

from donations.api import (
    allocations,
    disbursements,
    disclosure,
    donors,
    funds,
    gifts,
    reconciliation,
    reversals,
    statements,
    webhooks,
)
from donations.api.common import Donations

router = APIRouter()
for sub in (
    donors,
    funds,
    gifts,
    allocations,
    disbursements,
    reversals,
    reconciliation,
    statements,
    disclosure,
    webhooks,
):
    router.include_router(sub.router)

__all__ = ["Donations", "router"]
