"""The donations service's only door to the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from donations.domain import Donor, Fund, Totals, fold
from wushe.contracts import REGISTRY, Envelope
from wushe.idempotency import IdempotencyKeys
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext
from wushe.store import in_region

AGGREGATES = ("donors", "funds")


class DonationsStore:
    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self.donors, self.funds = map(ctx.store, AGGREGATES)
        self.registry = RegistryCopy(ctx.db)
        self.idempotency = IdempotencyKeys(ctx.db, "money_keys")

    async def donor(self, donor_id: str) -> Donor | None:
        donor, _ = await self.donors.load_model(donor_id, Donor)
        return donor

    async def donor_as_committed(self, donor_id: str) -> Donor | None:
        """The donor as its commits have it, where the cache may lag them (a crash between
        the two inserts): a funder's partner feed must not depend on the cache's luck."""
        loaded = await self.donors.catch_up(donor_id)
        return Donor.model_validate(loaded.state) if loaded.state else None

    async def funds_within(
        self, within: str, *, funder_id: str | None = None
    ) -> AsyncIterator[Fund]:
        query = in_region(within, funder_id=funder_id)
        async for d in self.funds.current.find(query).sort("_id", 1):
            yield Fund.model_validate(d)

    async def event_totals(self, fund_id: str) -> tuple[Totals, int]:
        """The fund's totals from its recorded events, and how many are not yet published."""
        totals, unpublished = Totals(), 0
        async for commit in self.funds.commits.find({"stream_id": fund_id}).sort("version", 1):
            for raw in commit["events"]:
                totals = fold(totals, REGISTRY.decode(Envelope.model_validate(raw)))
            if not await self.funds.is_published(commit["_id"]):
                unpublished += len(commit["events"])
        return totals, unpublished
