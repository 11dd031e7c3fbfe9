"""Allocations: money of a fund earmarked for a station (and activity), one at a
time or as a foundation's allocation plan, never more than the fund has available."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from donations.domain.funds import Allocation, Fund, fund_keys, whole_fen, with_entry
from wushe.contracts import Event
from wushe.contracts.events import donations as ev
from wushe.contracts.known import KnownStation
from wushe.errors import Conflict, DomainError


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
    whole_fen(amount_fen)
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
        **station.place,
        activity_id=activity_id,
        amount_fen=amount_fen,
        allocated_on=on,
    )
    new = fund.model_copy(
        update={
            "allocations": {**fund.allocations, allocation_id: a},
            "entries": with_entry(fund, "allocation", allocation_id, amount_fen, on),
        }
    )
    return new, [ev.FundsAllocated.of(a, **fund_keys(fund), programme_id=fund.programme_id)]


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
