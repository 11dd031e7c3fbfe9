"""Money to outcome for a foundation: its funds, allocations and what they delivered."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

from projector.engine import Bucket, Delta
from wushe import clock, funding
from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act
from wushe.contracts.events import donations as don


class MoneyLineage:
    """Money to outcome, for a foundation: its funds (pledged, received), each allocation
    with its station (allocated, disbursed), and what activities funded by that allocation
    delivered (activities naming the allocation id in `linkage.donation_ids`; one funded by
    several shares its outcome out equally among them, `wushe.funding`).

    Keys: `<funder>|fund|<fund>`, `<funder>|alloc|<allocation>|<station>` and
    `outcome|<allocation>`; the views API joins them per funder at query time."""

    name = "lineage"
    topics: tuple[str, ...] = (don.PARTNER, act.ACTIVITIES)
    counters: ClassVar[dict[str, str]] = {
        "pledged_fen": "a fund's money pledged (认捐), in fen (分)",
        "received_fen": "a fund's money and goods received (到账), in fen, less gifts "
        "reversed (冲正)",
        "allocated_fen": "an allocation's money allocated to its station (拨付), in fen, "
        "less reversals",
        "disbursed_fen": "an allocation's money spent at the station (支出), in fen, less "
        "reversals",
        "activities": "activities the allocation funded (naming it in `linkage.donation_ids`; "
        "one funded by several is shared out equally, the remainder to the first named): "
        "the allocation's `outcomes`",
        "sessions": "their service sessions (服务场次), corrections included",
        "person_times": "their person-times (服务人次), every beneficiary group together",
        "person_times:<group>": "their person-times (人次) by beneficiary group (服务对象)",
    }

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, don.FundEvent):
            if (money := _money(event)) is not None:
                yield money
        elif isinstance(event, act.ActivityHeld):
            f = event.activity
            shares = funding.held_shares(event.counts, event.linkage.donation_ids)
            for allocation_id, share in shares.items():
                yield Bucket(f"outcome|{allocation_id}", f.region_code, event.held_on), share
        elif isinstance(event, act.ActivityCorrected):
            day = event.activity_date or clock.today(envelope.time)
            now = event.linkage.donation_ids
            before = now if event.previous_donation_ids is None else event.previous_donation_ids
            shares = funding.corrected_shares(event.previous, event.counts, before, now)
            for allocation_id, share in shares.items():
                yield Bucket(f"outcome|{allocation_id}", event.region_code, day), share


FundMoney = don.PledgeMade | don.GiftReceived | don.EntryReversed
AllocationMoney = don.FundsAllocated | don.FundsDisbursed | don.EntryReversed


def _fund(e: FundMoney, day: date) -> Bucket:
    return Bucket(f"{e.funder_id}|fund|{e.fund_id}", e.region_code, day)


def _allocation(
    e: don.FundsAllocated | don.FundsDisbursed | don.EntryReversed, day: date
) -> Bucket:
    return Bucket(f"{e.funder_id}|alloc|{e.allocation_id}|{e.station_id}", e.region_code, day)


def _money(event: don.FundEvent) -> tuple[Bucket, Delta] | None:
    """A funder's money event: its fund's or allocation's bucket and what it adds (None:
    nothing to count)."""
    if isinstance(event, don.PledgeMade):
        return _fund(event, event.period_start), {"pledged_fen": event.amount_fen}
    if isinstance(event, don.GiftReceived):
        return _fund(event, event.received_on), {"received_fen": event.amount_fen}
    if isinstance(event, don.FundsAllocated):
        return _allocation(event, event.allocated_on), {"allocated_fen": event.amount_fen}
    if isinstance(event, don.FundsDisbursed):
        return _allocation(event, event.paid_on), {"disbursed_fen": event.amount_fen}
    if isinstance(event, don.EntryReversed):
        if event.entry_kind == "gift":
            return _fund(event, event.reversed_on), {"received_fen": -event.amount_fen}
        if event.allocation_id and event.station_id:
            counter = "allocated_fen" if event.entry_kind == "allocation" else "disbursed_fen"
            return _allocation(event, event.reversed_on), {counter: -event.amount_fen}
    return None


@dataclass
class Fund:
    fund_id: str
    pledged_fen: int
    received_fen: int


@dataclass
class Allocation:
    allocation_id: str
    station_id: str
    allocated_fen: int
    disbursed_fen: int
    outcomes: dict[str, int]


@dataclass
class Lineage:
    funds: list[Fund] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)


def lineage(rows: dict[str, Delta], outcomes: dict[str, Delta]) -> Lineage:
    """One funder's keys (`<funder>|fund|…`, `<funder>|alloc|…`) joined with the outcomes of
    its allocations (`outcome|<allocation>`), and everything summed."""
    out = Lineage()
    for key, c in sorted(rows.items()):
        parts = key.split("|")
        if parts[1] == "fund":
            out.funds.append(
                Fund(
                    fund_id=parts[2],
                    pledged_fen=c.get("pledged_fen", 0),
                    received_fen=c.get("received_fen", 0),
                )
            )
        else:
            done = outcomes.get(f"outcome|{parts[2]}", {})
            out.allocations.append(
                Allocation(
                    allocation_id=parts[2],
                    station_id=parts[3],
                    allocated_fen=c.get("allocated_fen", 0),
                    disbursed_fen=c.get("disbursed_fen", 0),
                    outcomes=done,
                )
            )
            for name, n in done.items():
                out.totals[name] = out.totals.get(name, 0) + n
        for name, n in c.items():
            out.totals[name] = out.totals.get(name, 0) + n
    return out
