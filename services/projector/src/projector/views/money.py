"""Money in fen per fund and per station."""

from __future__ import annotations

from collections.abc import Iterable

from projector.engine import Bucket, Delta
from wushe.contracts import Envelope, Event
from wushe.contracts.events import donations as don


class MoneyRollup:
    """Money in fen (分): pledged and received per fund in the fund's region (a programme's
    scope or a station's township), allocated and disbursed per station; reversing entries
    subtract on their own day."""

    name = "money"
    topics: tuple[str, ...] = (don.PARTNER,)

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, don.PledgeMade):
            yield (
                Bucket(event.fund_id, event.region_code, event.period_start),
                {"pledged_fen": event.amount_fen, "pledges": 1},
            )
        elif isinstance(event, don.GiftReceived):
            delta = {"received_fen": event.amount_fen, "gifts": 1}
            if event.kind == "in_kind":
                delta["received_in_kind_fen"] = event.amount_fen
            yield Bucket(event.fund_id, event.region_code, event.received_on), delta
        elif isinstance(event, don.FundsAllocated):
            yield Bucket.at(event, event.allocated_on), {"allocated_fen": event.amount_fen}
        elif isinstance(event, don.FundsDisbursed):
            yield Bucket.at(event, event.paid_on), {"disbursed_fen": event.amount_fen}
        elif isinstance(event, don.EntryReversed):
            field = {"gift": "received_fen", "allocation": "allocated_fen"}.get(
                event.entry_kind, "disbursed_fen"
            )
            key = event.station_id if event.entry_kind != "gift" else event.fund_id
            yield (
                Bucket(key or event.fund_id, event.region_code, event.reversed_on),
                {field: -event.amount_fen, "reversals": 1},
            )
