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


class Outcome(EventPart):
    """What an allocation's money delivered: its share of one or more activities (an
    activity funded by several allocations shares its figures out equally, the remainder to
    the first named: `wushe.funding`). Figures only, never a person."""

    activities: int = Field(description="activities (活动), shared out")
    sessions: int = Field(description="service sessions (服务场次)")
    person_times: dict[str, int] = Field(
        default_factory=dict, description="person-times (服务人次) by beneficiary group"
    )


@REGISTRY.register
class OutcomeRecorded(FundEvent, type="donations.OutcomeRecorded.v1", topic=PARTNER):
    """An activity funded by one of the fund's allocations was held, verified or corrected at
    the allocation's station: the allocation's share of its figures (for a correction, the
    change; a `verified` record repeats the held share, as certified by an official)."""

    allocation_id: str
    station_id: str
    region_code: str = Field(description="the station's township")
    activity_id: str
    stage: Literal["held", "verified", "corrected"]
    activity_date: date = Field(description="the day the figures count on")
    recorded_on: date = Field(description="the day it was held, verified or corrected")
    outcome: Outcome


class StatementFigures(EventPart):
    received_fen: int = Field(description="money and goods received (cash and in kind)")
    received_in_kind_fen: int = Field(description="of which goods in kind, at stated value")
    allocated_fen: int = Field(description="allocated to stations (拨付)")
    spent_fen: int = Field(description="disbursed at the stations (支出)")
    outcome: Outcome


@REGISTRY.register
class StatementIssued(FundEvent, type="donations.StatementIssued.v1", topic=PARTNER):
    """A fund's monthly statement (月度报表), issued once the month is over: the money and
    outcomes dated in the month, and what came in late for months stated before
    (`adjustments`). Balance is money received and not yet spent:
    closing = opening + received − spent, each with its adjustments."""

    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    region_code: str
    opening_balance_fen: int
    closing_balance_fen: int
    month_figures: StatementFigures
    adjustments: StatementFigures
