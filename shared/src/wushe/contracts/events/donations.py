"""Events of the donations service: donors, and the money of every fund (a pledge, or a gift
made without one): gifts received, allocations to stations and activities, disbursements,
and reversing entries.

Fund events form the **partner stream** (`donations.partner`): partner foundations read it
to follow where their money went. It carries pseudonymous ids, station region codes and
integer amounts in fen (分), never a donor's name, phone or ID number, and each record is
keyed by the funder's id (CloudEvents `partitionkey`), so a foundation filters its own events
by key. The topic is retained forever: a partner can replay from offset 0. Documented for
partners by the committed JSON Schemas and `docs/asyncapi/donations-partner.yaml`.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from wushe.contracts.envelope import Event, EventPart
from wushe.contracts.registry import REGISTRY

DONORS = "donations.donors"
PARTNER = "donations.partner"

MAX_FEN = 2**63 - 1
Fen = int  # integer fen (分); never a float
DonorKind = Literal["foundation", "company", "individual"]
ReversalReason = Literal["refund", "correction", "duplicate", "returned_unspent", "other"]


@REGISTRY.register
class DonorRegistered(Event, type="donations.DonorRegistered.v1", topic=DONORS):
    """A donor, by pseudonymous id and kind; an organisation links its registry id."""

    donor_id: str
    kind: DonorKind
    region_code: str
    org_id: str | None = None
    anonymous: bool = False


class FundEvent(Event):
    """Every fund event names its funder, whose id keys the record on the partner stream."""

    partition_by: ClassVar[str | None] = "funder_id"
    fund_id: str
    funder_id: str = Field(description="pseudonymous donor id ('anonymous' for anonymous gifts)")


class Instalment(EventPart):
    due_on: date
    amount_fen: int = Field(gt=0, le=MAX_FEN)


@REGISTRY.register
class PledgeMade(FundEvent, type="donations.PledgeMade.v1", topic=PARTNER):
    programme_id: str | None = None
    station_id: str | None = None
    region_code: str = Field(description="the programme's scope or the station's township")
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    period_start: date
    period_end: date
    instalments: list[Instalment] = Field(default_factory=list)


@REGISTRY.register
class GiftReceived(FundEvent, type="donations.GiftReceived.v1", topic=PARTNER):
    """Money or goods received: on a pledge (fund kind pledge) or as a fund of its own."""

    gift_id: str
    pledge_linked: bool
    kind: Literal["cash", "in_kind"]
    amount_fen: int = Field(gt=0, le=MAX_FEN, description="cash, or the valuation of goods")
    item: str | None = Field(None, description="in kind: what, e.g. 大米")
    quantity: float | None = None
    unit: str | None = None
    receipt_no: str
    received_on: date
    region_code: str
    programme_id: str | None = None


@REGISTRY.register
class FundsAllocated(FundEvent, type="donations.FundsAllocated.v1", topic=PARTNER):
    allocation_id: str
    station_id: str
    region_code: str = Field(description="the station's township")
    activity_id: str | None = None
    programme_id: str | None = None
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    allocated_on: date


@REGISTRY.register
class FundsDisbursed(FundEvent, type="donations.FundsDisbursed.v1", topic=PARTNER):
    disbursement_id: str
    allocation_id: str
    station_id: str
    region_code: str
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    paid_on: date
    purpose: Literal["activity_costs", "goods", "services", "subsidy", "other"]


@REGISTRY.register
class EntryReversed(FundEvent, type="donations.EntryReversed.v1", topic=PARTNER):
    """A reversing entry (冲正): part or all of an earlier gift, allocation or disbursement
    taken back. The ledger is append-only; this is how a refund or correction shows."""

    reversal_id: str
    entry_kind: Literal["gift", "allocation", "disbursement"]
    entry_id: str
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    reversed_on: date
    reason_code: ReversalReason
    station_id: str | None = None
    region_code: str
    allocation_id: str | None = Field(
        None, description="allocations and disbursements: the allocation concerned"
    )
    # Added after v1 (optional): a gift's kind (cash or in kind), so views can take the
    # reversal from the right one.
    gift_kind: Literal["cash", "in_kind"] | None = Field(
        None, description="gifts: the reversed gift's kind"
    )
