"""The donations service's only door to the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from donations.domain import Donor, Fund, Totals, fold
from wushe.contracts import REGISTRY, Envelope
from wushe.idempotency import IdempotencyKeys
from wushe.refcopy import RegistryCopy
from wushe.rekey import Sealed
from wushe.service import ServiceContext
from wushe.store import in_region

AGGREGATES = ("donors", "funds")
# An individual donor's personal data sealed by the vault, and what each value is bound to
# (`wushe.rekey`: re-sealed under the current key after a rotation). The contexts are those of
# domain.donors.
SEALED = (
    Sealed("donors", "name_enc", "donor:{donor_id}:name"),
    Sealed("donors", "phone_enc", "donor:{donor_id}:phone"),
    Sealed("donors", "id_number_enc", "donor:{donor_id}:id"),
)


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

    async def fund(self, fund_id: str) -> Fund | None:
        fund, _ = await self.funds.load_model(fund_id, Fund)
        return fund

    async def funds_of(self, funder_id: str) -> AsyncIterator[Fund]:
        """A foundation's funds, wherever they are (its scope is its funder id)."""
        async for d in self.funds.current.find({"funder_id": funder_id}).sort("_id", 1):
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
