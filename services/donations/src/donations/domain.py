"""Pure rules of the donations service: commands in, events and new state out, no I/O.

Money is integer fen (分), never a float. Every fund (a pledge, or a gift made without one)
is one aggregate holding its gifts, allocations, disbursements and an append-only ledger of
entries; a refund or correction is a reversing entry, never an edit. Because a fund is
saved with optimistic concurrency (one insert per version), "allocations never exceed what
the fund has" holds under concurrent requests on FerretDB as on MongoDB.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from wushe.contracts import Event
from wushe.contracts.events import donations as ev
from wushe.errors import Conflict, DomainError

# --------------------------------------------------------------------------- references


class KnownStation(BaseModel):
    station_id: str
    region_code: str
    status: str


class KnownProgramme(BaseModel):
    programme_id: str
    scope_regions: list[str]
    start_date: date
    end_date: date
    enrolled: list[str] = []


def check_station(station: KnownStation | None, station_id: str) -> KnownStation:
    if station is None:
        raise DomainError(
            "station_id", f"unknown station {station_id} (not known from registry events)"
        )
    if station.status == "closed":
        raise Conflict("station_id", f"{station_id} is closed")
    return station


# --------------------------------------------------------------------------- donors


class Donor(BaseModel):
    donor_id: str
    kind: ev.DonorKind
    region_code: str
    org_id: str | None = None
    anonymous: bool = False
    # Personal data of individual donors: encrypted and masked; never in events or logs.
    name_enc: str | None = None
    name_masked: str | None = None
    phone_enc: str | None = None
    phone_masked: str | None = None
    id_number_enc: str | None = None
    id_number_masked: str | None = None
    display_name: str | None = None  # organisations only: their public name

    @property
    def funder_id(self) -> str:
        return "anonymous" if self.anonymous else self.donor_id


# Organisations may become partners that follow their money on Kafka; an individual is
# never one (their records stay on the shared stream the platform reads).
PARTNER_KINDS: frozenset[str] = frozenset({"foundation", "company"})


def has_partner_feed(donor: Donor | None) -> bool:
    """Whether the funder's records are copied to a feed of its own
    (docs/decisions/0028-a-feed-per-partner.md)."""
    return donor is not None and not donor.anonymous and donor.kind in PARTNER_KINDS


# --------------------------------------------------------------------------- funds


class Gift(BaseModel):
    gift_id: str
    kind: Literal["cash", "in_kind"]
    amount_fen: int
    item: str | None = None
    quantity: float | None = None
    unit: str | None = None
    receipt_no: str
    received_on: date
    reversed_fen: int = 0

    @property
    def net(self) -> int:
        return self.amount_fen - self.reversed_fen


class Allocation(BaseModel):
    allocation_id: str
    station_id: str
    region_code: str
    activity_id: str | None = None
    amount_fen: int
    allocated_on: date
    reversed_fen: int = 0
    disbursed_fen: int = 0  # net of reversed disbursements

    @property
    def net(self) -> int:
        return self.amount_fen - self.reversed_fen


class Disbursement(BaseModel):
    disbursement_id: str
    allocation_id: str
    amount_fen: int
    paid_on: date
    purpose: str
    reversed_fen: int = 0

    @property
    def net(self) -> int:
        return self.amount_fen - self.reversed_fen


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


def _fen(amount: int, field: str = "amount_fen") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise DomainError(field, "an integer number of fen")
    if not 0 < amount <= ev.MAX_FEN:
        raise DomainError(field, "between 1 and 2^63-1 fen")
    return amount


def _entry(fund: Fund, kind: Any, ref_id: str, amount: int, on: date, **extra: Any) -> list[Entry]:
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


def _base(fund: Fund) -> dict[str, Any]:
    return {"fund_id": fund.fund_id, "funder_id": fund.funder_id}


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
    _fen(amount_fen)
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
    fund = Fund(
        fund_id=fund_id,
        kind="pledge",
        donor_id=donor.donor_id,
        funder_id=donor.funder_id,
        region_code=region_code,
        programme_id=programme.programme_id if programme else None,
        station_id=station.station_id if station else None,
        pledged_fen=amount_fen,
        period_start=period_start,
        period_end=period_end,
        instalments=instalments,
    )
    fund = fund.model_copy(
        update={"entries": _entry(fund, "pledge", fund_id, amount_fen, period_start)}
    )
    return fund, ev.PledgeMade(
        **_base(fund),
        programme_id=fund.programme_id,
        station_id=fund.station_id,
        region_code=region_code,
        amount_fen=amount_fen,
        period_start=period_start,
        period_end=period_end,
        instalments=instalments,
    )


class GiftIn(BaseModel):
    gift_id: str
    kind: Literal["cash", "in_kind"]
    amount_fen: int
    item: str | None = None
    quantity: float | None = None
    unit: str | None = None
    receipt_no: str
    received_on: date


def _check_gift(g: GiftIn, today: date) -> None:
    _fen(g.amount_fen)
    if g.received_on > today:
        raise DomainError("received_on", "must not be in the future")
    if g.kind == "in_kind":
        if not (g.item and g.quantity and g.unit):
            raise DomainError("item", "a gift in kind needs item, quantity and unit")
        if g.quantity <= 0:
            raise DomainError("quantity", "must be positive")
    elif g.item or g.quantity or g.unit:
        raise DomainError("item", "a cash gift has no item, quantity or unit")
    if not g.receipt_no.strip():
        raise DomainError("receipt_no", "a receipt number (捐赠票据号) is required")


def _gift_event(fund: Fund, gift: Gift) -> Event:
    return ev.GiftReceived(
        **_base(fund),
        gift_id=gift.gift_id,
        pledge_linked=fund.kind == "pledge",
        kind=gift.kind,
        amount_fen=gift.amount_fen,
        item=gift.item,
        quantity=gift.quantity,
        unit=gift.unit,
        receipt_no=gift.receipt_no,
        received_on=gift.received_on,
        region_code=fund.region_code,
        programme_id=fund.programme_id,
    )


def gift_fund(
    *,
    fund_id: str,
    donor: Donor,
    region_code: str,
    programme_id: str | None,
    gift: GiftIn,
    today: date,
) -> tuple[Fund, Event]:
    """A gift made without a pledge: a fund of its own, its value what may be allocated."""
    _check_gift(gift, today)
    g = Gift(**gift.model_dump())
    fund = Fund(
        fund_id=fund_id,
        kind="gift",
        donor_id=donor.donor_id,
        funder_id=donor.funder_id,
        region_code=region_code,
        programme_id=programme_id,
        gifts={g.gift_id: g},
    )
    fund = fund.model_copy(
        update={"entries": _entry(fund, "gift", g.gift_id, g.amount_fen, g.received_on)}
    )
    return fund, _gift_event(fund, g)


def receive_on_pledge(fund: Fund, gift: GiftIn, *, today: date) -> tuple[Fund, list[Event]]:
    """A gift fulfilling (part of) a pledge. The same gift id again changes nothing."""
    if gift.gift_id in fund.gifts:
        return fund, []
    if fund.kind != "pledge":
        raise Conflict("pledge_id", f"{fund.fund_id} is not a pledge")
    _check_gift(gift, today)
    outstanding = fund.pledged_fen - fund.received
    if gift.amount_fen > outstanding:
        raise Conflict(
            "amount_fen",
            f"only {outstanding} fen of the pledge are outstanding; "
            "record the rest as a gift of its own",
        )
    g = Gift(**gift.model_dump())
    new = fund.model_copy(
        update={
            "gifts": {**fund.gifts, g.gift_id: g},
            "entries": _entry(fund, "gift", g.gift_id, g.amount_fen, g.received_on),
        }
    )
    return new, [_gift_event(new, g)]


def allocate(
    fund: Fund,
    *,
    allocation_id: str,
    station: KnownStation,
    activity_id: str | None,
    amount_fen: int,
    on: date,
    today: date,
) -> tuple[Fund, list[Event]]:
    """Earmark money of the fund for a station (and activity). Never more than available."""
    if allocation_id in fund.allocations:
        return fund, []
    _fen(amount_fen)
    if on > today:
        raise DomainError("allocated_on", "must not be in the future")
    if fund.station_id is not None and station.station_id != fund.station_id:
        raise DomainError("station_id", f"this pledge is for {fund.station_id} only")
    if not station.region_code.startswith(fund.region_code[:2]):
        raise DomainError("station_id", "outside the fund's province")
    if amount_fen > fund.available:
        raise Conflict("amount_fen", f"only {fund.available} fen of {fund.fund_id} are available")
    a = Allocation(
        allocation_id=allocation_id,
        station_id=station.station_id,
        region_code=station.region_code,
        activity_id=activity_id,
        amount_fen=amount_fen,
        allocated_on=on,
    )
    new = fund.model_copy(
        update={
            "allocations": {**fund.allocations, allocation_id: a},
            "entries": _entry(fund, "allocation", allocation_id, amount_fen, on),
        }
    )
    return new, [
        ev.FundsAllocated(
            **_base(fund),
            allocation_id=allocation_id,
            station_id=a.station_id,
            region_code=a.region_code,
            activity_id=activity_id,
            programme_id=fund.programme_id,
            amount_fen=amount_fen,
            allocated_on=on,
        )
    ]


class PlannedAllocation(BaseModel):
    station: KnownStation
    activity_id: str | None = None
    amount_fen: int


def allocate_plan(
    fund: Fund,
    *,
    plan_id: str,
    allocations: list[PlannedAllocation],
    on: date,
    today: date,
) -> tuple[Fund, list[Event]]:
    """A foundation's allocation plan: many stations at once, all or none. Each allocation
    obeys `allocate`'s rules against what the ones before it left available; the first that
    breaks one refuses the plan, named by its place (`allocations.3.amount_fen`)."""
    if on > today:
        raise DomainError("allocated_on", "must not be in the future")
    events: list[Event] = []
    for i, planned in enumerate(allocations):
        try:
            fund, new = allocate(
                fund,
                allocation_id=f"{plan_id}-{i + 1}",
                station=planned.station,
                activity_id=planned.activity_id,
                amount_fen=planned.amount_fen,
                on=on,
                today=today,
            )
        except DomainError as exc:
            raise type(exc)(f"allocations.{i}.{exc.field}", exc.reason) from None
        events += new
    return fund, events


def disburse(
    fund: Fund,
    *,
    disbursement_id: str,
    allocation_id: str,
    amount_fen: int,
    on: date,
    purpose: Any,
    today: date,
) -> tuple[Fund, list[Event]]:
    """Pay out against an allocation: never more than its undisbursed part, and never more
    than the fund has received (a pledge pays out only what actually arrived)."""
    if disbursement_id in fund.disbursements:
        return fund, []
    _fen(amount_fen)
    a = fund.allocations.get(allocation_id)
    if a is None:
        raise DomainError("allocation_id", f"unknown allocation {allocation_id}")
    if on > today:
        raise DomainError("paid_on", "must not be in the future")
    if on < a.allocated_on:
        raise DomainError("paid_on", "before the allocation")
    left = a.net - a.disbursed_fen
    if amount_fen > left:
        raise Conflict("amount_fen", f"only {left} fen of {allocation_id} are not yet disbursed")
    if fund.disbursed + amount_fen > fund.received:
        raise Conflict(
            "amount_fen", f"only {fund.received - fund.disbursed} fen received and not yet paid out"
        )
    d = Disbursement(
        disbursement_id=disbursement_id,
        allocation_id=allocation_id,
        amount_fen=amount_fen,
        paid_on=on,
        purpose=purpose,
    )
    a = a.model_copy(update={"disbursed_fen": a.disbursed_fen + amount_fen})
    new = fund.model_copy(
        update={
            "allocations": {**fund.allocations, allocation_id: a},
            "disbursements": {**fund.disbursements, disbursement_id: d},
            "entries": _entry(fund, "disbursement", disbursement_id, amount_fen, on),
        }
    )
    return new, [
        ev.FundsDisbursed(
            **_base(fund),
            disbursement_id=disbursement_id,
            allocation_id=allocation_id,
            station_id=a.station_id,
            region_code=a.region_code,
            amount_fen=amount_fen,
            paid_on=on,
            purpose=purpose,
        )
    ]


def reverse(
    fund: Fund,
    *,
    reversal_id: str,
    entry_kind: Literal["gift", "allocation", "disbursement"],
    entry_id: str,
    amount_fen: int,
    on: date,
    reason_code: ev.ReversalReason,
    today: date,
) -> tuple[Fund, list[Event]]:
    """A reversing entry for part or all of a gift (refund), allocation or disbursement.
    What depends on it must be reversed first: a gift fund cannot fall below what is
    allocated, an allocation below what is disbursed."""
    if reversal_id in fund.reversals:
        return fund, []
    _fen(amount_fen)
    if on > today:
        raise DomainError("reversed_on", "must not be in the future")
    update: dict[str, Any] = {}
    station_id: str | None = None
    allocation_id: str | None = None
    region = fund.region_code
    if entry_kind == "gift":
        g = fund.gifts.get(entry_id)
        if g is None:
            raise DomainError("entry_id", f"unknown gift {entry_id}")
        if amount_fen > g.net:
            raise Conflict("amount_fen", f"only {g.net} fen of {entry_id} stand")
        if fund.kind == "gift" and fund.received - amount_fen < fund.allocated:
            raise Conflict(
                "amount_fen", "allocated money would exceed the gift: reverse allocations first"
            )
        if fund.received - amount_fen < fund.disbursed:
            raise Conflict("amount_fen", "paid-out money would exceed what was received")
        update["gifts"] = {
            **fund.gifts,
            entry_id: g.model_copy(update={"reversed_fen": g.reversed_fen + amount_fen}),
        }
    elif entry_kind == "allocation":
        a = fund.allocations.get(entry_id)
        if a is None:
            raise DomainError("entry_id", f"unknown allocation {entry_id}")
        if amount_fen > a.net - a.disbursed_fen:
            raise Conflict(
                "amount_fen", f"only {a.net - a.disbursed_fen} fen of {entry_id} are not disbursed"
            )
        update["allocations"] = {
            **fund.allocations,
            entry_id: a.model_copy(update={"reversed_fen": a.reversed_fen + amount_fen}),
        }
        station_id, region, allocation_id = a.station_id, a.region_code, a.allocation_id
    else:
        d = fund.disbursements.get(entry_id)
        if d is None:
            raise DomainError("entry_id", f"unknown disbursement {entry_id}")
        if amount_fen > d.net:
            raise Conflict("amount_fen", f"only {d.net} fen of {entry_id} stand")
        a = fund.allocations[d.allocation_id]
        update["disbursements"] = {
            **fund.disbursements,
            entry_id: d.model_copy(update={"reversed_fen": d.reversed_fen + amount_fen}),
        }
        update["allocations"] = {
            **fund.allocations,
            a.allocation_id: a.model_copy(update={"disbursed_fen": a.disbursed_fen - amount_fen}),
        }
        station_id, region, allocation_id = a.station_id, a.region_code, a.allocation_id
    target = f"{entry_kind}:{entry_id}"
    update["reversals"] = {**fund.reversals, reversal_id: target}
    update["entries"] = _entry(
        fund, "reversal", reversal_id, -amount_fen, on, reverses=target, reason_code=reason_code
    )
    return fund.model_copy(update=update), [
        ev.EntryReversed(
            **_base(fund),
            reversal_id=reversal_id,
            entry_kind=entry_kind,
            entry_id=entry_id,
            amount_fen=amount_fen,
            reversed_on=on,
            reason_code=reason_code,
            station_id=station_id,
            region_code=region,
            allocation_id=allocation_id,
        )
    ]


# --------------------------------------------------------------------------- reconciliation


class Totals(BaseModel):
    pledged_fen: int = 0
    received_fen: int = 0
    allocated_fen: int = 0
    disbursed_fen: int = 0

    def add(self, other: Totals) -> Totals:
        return Totals(**{k: getattr(self, k) + getattr(other, k) for k in Totals.model_fields})


FIELD_OF = {"gift": "received_fen", "allocation": "allocated_fen", "disbursement": "disbursed_fen"}


def fund_totals(fund: Fund) -> Totals:
    return Totals(
        pledged_fen=fund.pledged_fen,
        received_fen=fund.received,
        allocated_fen=fund.allocated,
        disbursed_fen=fund.disbursed,
    )


def fold(totals: Totals, event: Event) -> Totals:
    """Totals from events alone: what a partner computes from the stream."""
    t = totals.model_copy()
    if isinstance(event, ev.PledgeMade):
        t.pledged_fen += event.amount_fen
    elif isinstance(event, ev.GiftReceived):
        t.received_fen += event.amount_fen
    elif isinstance(event, ev.FundsAllocated):
        t.allocated_fen += event.amount_fen
    elif isinstance(event, ev.FundsDisbursed):
        t.disbursed_fen += event.amount_fen
    elif isinstance(event, ev.EntryReversed):
        field = FIELD_OF[event.entry_kind]
        setattr(t, field, getattr(t, field) - event.amount_fen)
    return t


def entry_totals(fund: Fund) -> Totals:
    """Totals from the append-only ledger's entries (reversals are negative entries)."""
    t = Totals()
    for e in fund.entries:
        if e.kind == "pledge":
            t.pledged_fen += e.amount_fen
        else:
            kind = e.reverses.split(":", 1)[0] if e.reverses else e.kind
            setattr(t, FIELD_OF[kind], getattr(t, FIELD_OF[kind]) + e.amount_fen)
    return t


def check_fund(fund: Fund, from_events: Totals) -> list[str]:
    """What is wrong with a fund: the rules' invariants, and the agreement of its state, its
    ledger entries and its events. Empty when all is well."""
    problems = []
    if fund.allocated > fund.capacity:
        problems.append(f"allocated {fund.allocated} fen exceed the fund's {fund.capacity}")
    if fund.disbursed > fund.received:
        problems.append(f"disbursed {fund.disbursed} fen exceed received {fund.received}")
    state = fund_totals(fund)
    for source, totals in (("ledger entries", entry_totals(fund)), ("events", from_events)):
        for name in Totals.model_fields:
            a, b = getattr(state, name), getattr(totals, name)
            if a != b:
                problems.append(f"{name}: state {a} != {source} {b}")
    return problems
