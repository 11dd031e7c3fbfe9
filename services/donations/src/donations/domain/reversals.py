"""Reversing entries (冲正): a refund of a gift, an allocation taken back, a disbursement
returned. Nothing is edited or deleted."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from donations.domain.funds import Fund, fund_keys, whole_fen, with_entry
from wushe.contracts import Event
from wushe.contracts.events import donations as ev
from wushe.errors import Conflict, DomainError


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
    whole_fen(amount_fen)
    if on > today:
        raise DomainError("reversed_on", "must not be in the future")
    update: dict[str, Any] = {}
    station_id: str | None = None
    allocation_id: str | None = None
    gift_kind: Literal["cash", "in_kind"] | None = None
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
        gift_kind = g.kind
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
    update["entries"] = with_entry(
        fund, "reversal", reversal_id, -amount_fen, on, reverses=target, reason_code=reason_code
    )
    return fund.model_copy(update=update), [
        ev.EntryReversed(
            **fund_keys(fund),
            reversal_id=reversal_id,
            entry_kind=entry_kind,
            entry_id=entry_id,
            amount_fen=amount_fen,
            reversed_on=on,
            reason_code=reason_code,
            station_id=station_id,
            region_code=region,
            allocation_id=allocation_id,
            gift_kind=gift_kind,
        )
    ]
