"""Funds (a pledge, or a gift made without one) and pledges (认捐): the aggregate every
money command decides on.

Money is integer fen (分), never a float. Every fund is one aggregate holding its gifts,
allocations, disbursements and an append-only ledger of entries; a refund or correction is a
reversing entry, never an edit. Because a fund is saved with optimistic concurrency (one
insert per version), "allocations never exceed what the fund has" holds under concurrent
requests on FerretDB as on MongoDB.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from donations.domain.donors import Donor
from wushe.contracts import Event
from wushe.contracts.events import donations as ev
from wushe.contracts.known import KnownProgramme, KnownStation
from wushe.errors import DomainError


class Amounts(Protocol):
    amount_fen: int
    reversed_fen: int


class Net:
    """An entry that reversing entries reduce (a refund, a take-back, a returned payment)."""

    @property
    def net(self: Amounts) -> int:
        """What stands of it."""
        return self.amount_fen - self.reversed_fen


class GiftIn(BaseModel):
    gift_id: str
    kind: Literal["cash", "in_kind"]
    amount_fen: int
    item: str | None = None
    quantity: float | None = None
    unit: str | None = None
    receipt_no: str
    received_on: date


class Gift(GiftIn, Net):
    reversed_fen: int = 0


class Allocation(BaseModel, Net):
    allocation_id: str
    station_id: str
    region_code: str
    activity_id: str | None = None
    amount_fen: int
    allocated_on: date
    reversed_fen: int = 0
    disbursed_fen: int = 0  # net of reversed disbursements


class Disbursement(BaseModel, Net):
    disbursement_id: str
    allocation_id: str
    amount_fen: int
    paid_on: date
    purpose: str
    reversed_fen: int = 0


class Entry(BaseModel):
    """One line of the append-only ledger: signed fen, what it concerns, when."""

    entry_no: int
    kind: Literal["pledge", "gift", "allocation", "disbursement", "reversal"]
    ref_id: str
    amount_fen: int
    on: date
    reverses: str | None = None  # for reversals: "<kind>:<id>"
    reason_code: str | None = None


class Fund(BaseModel):
    fund_id: str
    kind: Literal["pledge", "gift"]
    donor_id: str
    funder_id: str
    region_code: str
    programme_id: str | None = None
    station_id: str | None = None
    pledged_fen: int = 0
    period_start: date | None = None
    period_end: date | None = None
    instalments: list[ev.Instalment] = []
    gifts: dict[str, Gift] = {}
    allocations: dict[str, Allocation] = {}
    disbursements: dict[str, Disbursement] = {}
    reversals: dict[str, str] = {}  # reversal id -> "<kind>:<id>": a repeated id is a replay
    entries: list[Entry] = []
    # What the allocations' money delivered (domain.outcomes): counters per allocation and
    # per month of the activities, and per partition of the activities' topic the last
    # offset recorded (a redelivered event records nothing twice).
    outcomes: dict[str, dict[str, int]] = {}
    outcomes_by_month: dict[str, dict[str, int]] = {}
    outcome_marks: dict[str, int] = {}
    # Monthly statements: the figures of each month as last stated, through which month,
    # and the balance the last one closed on.
    stated: dict[str, dict[str, int]] = {}
    stated_through: str | None = None
    closing_balance_fen: int = 0

    # -- totals (net of reversals)
    @property
    def received(self) -> int:
        return sum(g.net for g in self.gifts.values())

    @property
    def allocated(self) -> int:
        return sum(a.net for a in self.allocations.values())

    @property
    def disbursed(self) -> int:
        return sum(d.net for d in self.disbursements.values())

    @property
    def capacity(self) -> int:
        """What may be allocated: the pledge (allocations ≤ pledge), or a gift fund's gift."""
        return self.pledged_fen if self.kind == "pledge" else self.received

    @property
    def available(self) -> int:
        return self.capacity - self.allocated

    def overdue(self, today: date) -> int:
        """Instalments due by today and not yet covered by gifts (a pledge's arrears)."""
        due = sum(i.amount_fen for i in self.instalments if i.due_on <= today)
        return max(0, due - self.received)


# What every command on a fund shares: whole fen, a new ledger line, the event's fund keys.


def whole_fen(amount: int, field: str = "amount_fen") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise DomainError(field, "an integer number of fen")
    if not 0 < amount <= ev.MAX_FEN:
        raise DomainError(field, "between 1 and 2^63-1 fen")
    return amount


def with_entry(
    fund: Fund, kind: Any, ref_id: str, amount: int, on: date, **extra: Any
) -> list[Entry]:
    return [
        *fund.entries,
        Entry(
            entry_no=len(fund.entries) + 1,
            kind=kind,
            ref_id=ref_id,
            amount_fen=amount,
            on=on,
            **extra,
        ),
    ]


def fund_keys(fund: Fund) -> dict[str, Any]:
    return {"fund_id": fund.fund_id, "funder_id": fund.funder_id}


def open_fund(
    fund_id: str,
    donor: Donor,
    kind: Literal["pledge", "gift"],
    first: tuple[str, int, date],
    **fields: Any,
) -> Fund:
    """A new fund of the donor's (its funder: 'anonymous' for an anonymous donor) and the
    first line of its ledger, of the fund's own kind (`first`: what it concerns, fen, day)."""
    fund = Fund(
        fund_id=fund_id, kind=kind, donor_id=donor.donor_id, funder_id=donor.funder_id, **fields
    )
    return fund.model_copy(update={"entries": with_entry(fund, kind, *first)})


def make_pledge(
    *,
    fund_id: str,
    donor: Donor,
    region_code: str,
    programme: KnownProgramme | None,
    station: KnownStation | None,
    amount_fen: int,
    period_start: date,
    period_end: date,
    instalments: list[ev.Instalment],
) -> tuple[Fund, Event]:
    whole_fen(amount_fen)
    if (programme is None) == (station is None):
        raise DomainError("programme_id", "a pledge is to one programme or one station")
    if period_end < period_start:
        raise DomainError("period_end", "before period_start")
    if instalments:
        if sum(i.amount_fen for i in instalments) != amount_fen:
            raise DomainError("instalments", "the instalments must add up to the pledged amount")
        if any(not period_start <= i.due_on <= period_end for i in instalments):
            raise DomainError("instalments", "an instalment falls outside the pledge period")
        if [i.due_on for i in instalments] != sorted(i.due_on for i in instalments):
            raise DomainError("instalments", "in order of their due dates")
    fund = open_fund(
        fund_id,
        donor,
        "pledge",
        (fund_id, amount_fen, period_start),
        region_code=region_code,
        programme_id=programme.programme_id if programme else None,
        station_id=station.station_id if station else None,
        pledged_fen=amount_fen,
        period_start=period_start,
        period_end=period_end,
        instalments=instalments,
    )
    return fund, ev.PledgeMade.of(fund, amount_fen=amount_fen)


def check_pledge_target(programme_id: str | None, station_id: str | None) -> None:
    """Before the references are looked up: one programme or one station, not both."""
    if bool(programme_id) == bool(station_id):
        raise DomainError("programme_id", "a pledge is to one programme or one station")


def programme_region(programme: KnownProgramme) -> str:
    """Where a programme's money lies: the common prefix of its scope regions."""
    first = min(programme.scope_regions)
    last = max(programme.scope_regions)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n] or "0"
