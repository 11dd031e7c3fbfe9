"""Thin REST routers, one per sub-domain: parse, call the domain through the one command
path (`api.common.Money` for money, `wushe.commands` for all), answer."""

from fastapi import APIRouter

from donations.api import (
    allocations,
    disbursements,
    donors,
    funds,
    gifts,
    reconciliation,
    reversals,
)
from donations.api.common import Donations

router = APIRouter()
for sub in (donors, funds, gifts, allocations, disbursements, reversals, reconciliation):
    router.include_router(sub.router)

__all__ = ["Donations", "router"]
