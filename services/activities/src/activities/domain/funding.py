"""Which donation allocations may fund an activity (`linkage.donation_ids`).

The activities service keeps a copy of the allocations from the partner stream
(`activities.handlers.AllocationCopy`); an activity names an allocation only when it exists,
was made to the activity's own station, on or before the day the activity was held, and is
not reversed in full. Another province's allocation reads as unknown, as its stations do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict

from wushe.errors import DomainError

FIELD = "linkage.donation_ids"


class KnownAllocation(BaseModel):
    """An allocation as the copy keeps it: where it went, when, and what is left of it."""

    model_config = ConfigDict(extra="ignore")

    allocation_id: str
    fund_id: str
    funder_id: str
    station_id: str
    region_code: str
    allocated_on: date
    amount_fen: int
    reversed_fen: int = 0


def check_funding(
    station_id: str,
    held_on: date,
    donation_ids: Sequence[str],
    known: Mapping[str, KnownAllocation],
) -> None:
    """Refuse (422 on `linkage.donation_ids`) an allocation the activity may not name;
    `known` holds the named allocations the caller may see."""
    if len(set(donation_ids)) != len(donation_ids):
        raise DomainError(FIELD, "an allocation is listed twice")
    for allocation_id in donation_ids:
        allocation = known.get(allocation_id)
        if allocation is None:
            raise DomainError(FIELD, f"unknown allocation {allocation_id}")
        if allocation.station_id != station_id:
            raise DomainError(
                FIELD,
                f"allocation {allocation_id} was made to station {allocation.station_id}, "
                f"not to {station_id}",
            )
        if allocation.allocated_on > held_on:
            raise DomainError(
                FIELD,
                f"allocation {allocation_id} was made on {allocation.allocated_on}, after "
                f"the activity was held ({held_on})",
            )
        if allocation.amount_fen <= allocation.reversed_fen:
            raise DomainError(FIELD, f"allocation {allocation_id} was reversed in full (冲正)")
