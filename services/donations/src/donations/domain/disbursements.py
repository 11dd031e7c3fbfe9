"""Disbursements: money paid out against an allocation."""

from __future__ import annotations

from datetime import date
from typing import Any

from donations.domain.funds import Disbursement, Fund, fund_keys, whole_fen, with_entry
from wushe.contracts import Event
from wushe.contracts.events import donations as ev
from wushe.errors import Conflict, DomainError


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
    whole_fen(amount_fen)
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
            "entries": with_entry(fund, "disbursement", disbursement_id, amount_fen, on),
        }
    )
    return new, [
        ev.FundsDisbursed.of(
            d, **fund_keys(fund), station_id=a.station_id, region_code=a.region_code
        )
    ]
