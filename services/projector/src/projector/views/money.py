"""Money in fen per fund and per station."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from projector.engine import Bucket, Delta
from wushe.contracts import Envelope, Event
from wushe.contracts.events import donations as don

# A gift's amount counts in received_fen and in its kind's own key.
RECEIVED_BY_KIND = {"cash": "received_cash_fen", "in_kind": "received_in_kind_fen"}


class MoneyRollup:
    """Money in fen (分): pledged and received per fund in the fund's region (a programme's
    scope or a station's township), received also by kind (cash, in kind), allocated and
    disbursed per station; reversing entries subtract on their own day."""

    name = "money"
    topics: tuple[str, ...] = (don.PARTNER,)
    counters: ClassVar[dict[str, str]] = {
        "pledged_fen": "money pledged (认捐), in fen (分), on the pledge's first day",
        "pledges": "pledges made (认捐)",
        "received_fen": "money and goods received (到账, goods at their valuation), in fen, "
        "less gifts reversed (冲正)",
        "received_cash_fen": "of that, cash (现金), in fen",
        "received_in_kind_fen": "of that, goods in kind (物资, at their valuation), in fen",
        "gifts": "gifts received (捐赠)",
        "allocated_fen": "money allocated to the station (拨付), in fen, less allocations reversed",
        "disbursed_fen": "money spent at the station (支出), in fen, less disbursements reversed",
        "reversals": "reversing entries (冲正) of gifts, allocations and disbursements",
    }

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, don.PledgeMade):
            yield (
                Bucket(event.fund_id, event.region_code, event.period_start),
                {"pledged_fen": event.amount_fen, "pledges": 1},
            )
        elif isinstance(event, don.GiftReceived):
            delta = {"received_fen": event.amount_fen, "gifts": 1}
            delta[RECEIVED_BY_KIND[event.kind]] = event.amount_fen
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
            delta = {field: -event.amount_fen, "reversals": 1}
            # A gift's reversal names the gift's kind since `gift_kind` was added; one
            # recorded before says nothing of it and comes off received_fen alone.
            if event.gift_kind is not None:
                delta[RECEIVED_BY_KIND[event.gift_kind]] = -event.amount_fen
            yield Bucket(key or event.fund_id, event.region_code, event.reversed_on), delta
