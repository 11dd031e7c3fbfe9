"""What the donations routers share: the service, the fund as answered, and the one path a
money command takes.

Every money-moving POST needs an `Idempotency-Key` (`wushe.idempotency`): the ids of what it
creates (fund, gift, allocation, disbursement, reversal) derive from the caller and the key,
so even a retried or taken-over request finds its first effect instead of repeating it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from donations import domain
from donations.domain import Donor, Fund
from donations.store import DonationsStore
from wushe.auth import CurrentPrincipal, Principal
from wushe.commands import Aggregate, region_code
from wushe.contracts import Event
from wushe.contracts.events import donations as ev
from wushe.contracts.known import KnownProgramme
from wushe.errors import DomainError
from wushe.idempotency import effect_id, fingerprint, require_key
from wushe.pii import Vault
from wushe.web import today

Fen = Annotated[int, Field(strict=True, gt=0, le=ev.MAX_FEN, description="integer fen (分)")]


class Donations:
    def __init__(self, store: DonationsStore, vault: Vault) -> None:
        self.store = store
        self.vault = vault
        self.funds = Aggregate(store.funds, Fund, region_code, "fund")
        self.donors = Aggregate(store.donors, Donor, region_code, "donor")

    def encrypt(self, value: str, context: str) -> str:
        """A donor's personal data, encrypted and bound to `context` (the record and field)."""
        return self.vault.encrypt(value, context=context)


async def get_service(request: Request) -> Donations:
    svc: Donations = request.app.state.donations
    return svc


Svc = Annotated[Donations, Depends(get_service)]


class FundOut(BaseModel):
    fund_id: str
    kind: str
    donor_id: str
    funder_id: str
    region_code: str
    programme_id: str | None
    station_id: str | None
    pledged_fen: int
    period_start: date | None
    period_end: date | None
    instalments: list[ev.Instalment]
    received_fen: int
    allocated_fen: int
    disbursed_fen: int
    available_fen: int = Field(description="what may still be allocated")
    outstanding_fen: int = Field(description="a pledge: pledged and not yet received")
    overdue_fen: int = Field(description="a pledge: instalments due by today not yet received")
    gifts: list[domain.Gift]
    allocations: list[domain.Allocation]
    disbursements: list[domain.Disbursement]
    entries: list[domain.Entry] = Field(description="the append-only ledger")
    outcomes: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="what each allocation's money delivered: its share of the activities it "
        "funded (activities, sessions, person_times, person_times:<group>)",
    )


def fund_out(f: Fund) -> FundOut:
    return FundOut(
        **f.model_dump(
            include=set(FundOut.model_fields)
            & set(Fund.model_fields) - {"gifts", "allocations", "disbursements"}
        ),
        received_fen=f.received,
        allocated_fen=f.allocated,
        disbursed_fen=f.disbursed,
        available_fen=f.available,
        outstanding_fen=max(0, f.pledged_fen - f.received) if f.kind == "pledge" else 0,
        overdue_fen=f.overdue(today()),
        gifts=list(f.gifts.values()),
        allocations=list(f.allocations.values()),
        disbursements=list(f.disbursements.values()),
    )


# Every money route: 201 with the fund, and the answers a keyed command may give (the tag
# comes from the sub-domain's router).
MONEY_ROUTE: dict[str, Any] = {
    "response_model": FundOut,
    "status_code": 201,
    "responses": {
        400: {"description": "Idempotency-Key missing"},
        404: {"description": "not found in the caller's region scope"},
        409: {"description": "not enough money available, or the same key is in flight"},
        422: {"description": "invalid body, a broken rule, or the key was used with another body"},
    },
}


async def visible_fund(svc: Donations, who: Principal, fund_id: str) -> Fund:
    """The fund, or 404 when it does not exist or lies outside the caller's scope."""
    fund, _ = await svc.funds.load(who, fund_id)
    return fund


async def named_donor(svc: Donations, who: Principal, donor_id: str) -> Donor:
    """A donor a body names: another province's is refused as an unknown one (422)."""
    donor = await svc.store.donor(donor_id)
    if donor is None or not who.can_see(donor.region_code):
        raise DomainError("donor_id", f"unknown donor {donor_id}")
    return donor


async def named_programme(svc: Donations, who: Principal, programme_id: str) -> KnownProgramme:
    """A programme a body names, from the registry copy; another province's is refused as an
    unknown one (a 404 would say that it exists)."""
    programme = await svc.store.registry.visible_programme(who, programme_id)
    if programme is None:
        raise DomainError("programme_id", f"unknown programme {programme_id}")
    return programme


@dataclass(frozen=True)
class Money:
    """A money command: the caller, its Idempotency-Key, and the request whose method, path
    and body the key is bound to. The one path from a money route to its commit."""

    request: Request
    svc: Donations
    who: Principal
    key: str

    async def fund(self, fund_id: str) -> Fund:
        return await visible_fund(self.svc, self.who, fund_id)

    def id(self, prefix: str) -> str:
        """The id of what this command creates: its prefix, then a hash of the caller and the
        key, so that a retried or taken-over request finds its first effect."""
        return effect_id(prefix, self.who.subject, self.key)

    async def new_fund(
        self,
        body: BaseModel,
        prefix: str,
        donor: Donor,
        region: str,
        decide: Callable[..., tuple[Fund, Event]],
    ) -> Any:
        """Start a fund of `donor` in `region`: `decide` takes the fund's id, donor and
        region code by name. A takeover of the same key finds the fund its first run made."""
        fund_id = self.id(prefix)

        def start() -> tuple[Fund, Event]:
            return decide(fund_id=fund_id, donor=donor, region_code=region)

        async def work() -> Fund:
            return (await self.svc.funds.create(self.who, fund_id, start, same=True)).state

        return await self.once(body, work)

    async def on_fund(
        self,
        fund_id: str,
        body: BaseModel,
        decide: Callable[[Fund], tuple[Fund, list[Event]]],
        *,
        checked: bool = False,  # the route already answered a missing or foreign fund
    ) -> Any:
        """A command on an existing fund, decided again on the newer fund when a concurrent
        writer got there first, so a fund's invariants (an allocation never exceeds its
        pledge) hold under concurrency."""
        if not checked:
            await self.fund(fund_id)
        return await self.once(body, lambda: self.svc.funds.retrying(self.who, fund_id, decide))

    async def once(self, body: BaseModel, work: Callable[[], Awaitable[Fund]]) -> Any:
        """Run `work` once per (caller, key) and answer the fund (201)."""

        async def run() -> tuple[int, Any]:
            # A broken rule (422) is kept and answered again on a replay; a 404 or 409
            # releases the key for a retry (wushe.idempotency).
            return 201, fund_out(await work()).model_dump(mode="json")

        return await self.svc.store.idempotency.run(
            scope=self.who.subject,
            key=self.key,
            fingerprint=fingerprint(
                self.request.method, self.request.url.path, body.model_dump(mode="json")
            ),
            work=run,
        )


async def money_command(
    request: Request,
    svc: Svc,
    who: CurrentPrincipal,
    key: Annotated[str, Depends(require_key)],
) -> Money:
    return Money(request, svc, who, key)


MoneyCommand = Annotated[Money, Depends(money_command)]
