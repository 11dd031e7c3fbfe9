"""What partners and auditors check of the money: a fund's totals from its state, its
ledger and its events (reconciliation), and which funders get a partner feed of their own."""

from __future__ import annotations

from pydantic import BaseModel, Field

from donations.domain.donors import Donor
from donations.domain.funds import Fund
from wushe.contracts import Event
from wushe.contracts.events import donations as ev

# Organisations may become partners that follow their money on Kafka; an individual is
# never one (their records stay on the shared stream the platform reads).
PARTNER_KINDS: frozenset[str] = frozenset({"foundation", "company"})


def has_partner_feed(donor: Donor | None) -> bool:
    """Whether the funder's records are copied to a feed of its own
    (docs/decisions/0028-a-feed-per-partner.md)."""
    return donor is not None and not donor.anonymous and donor.kind in PARTNER_KINDS


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


class FundCheck(BaseModel):
    fund_id: str
    funder_id: str
    ledger: Totals
    events: Totals
    unpublished_events: int
    problems: list[str]


class Reconciliation(BaseModel):
    funds: int
    totals: Totals = Field(description="over the funds, from their ledgers")
    mismatches: list[FundCheck]
    unpublished_events: int
    ok: bool


class Reconciler:
    """Reconciliation over funds read one at a time: totals from their ledgers, and every
    fund that disagrees with its rules, its entries or its recorded events."""

    def __init__(self) -> None:
        self.funds = 0
        self.totals = Totals()
        self.mismatches: list[FundCheck] = []
        self.unpublished = 0

    def add(self, fund: Fund, from_events: Totals, unpublished: int) -> None:
        """One fund, with its totals from its events and how many of them wait for the relay."""
        self.funds += 1
        ledger = fund_totals(fund)
        self.unpublished += unpublished
        self.totals = self.totals.add(ledger)
        problems = check_fund(fund, from_events)
        if problems:
            self.mismatches.append(
                FundCheck(
                    fund_id=fund.fund_id,
                    funder_id=fund.funder_id,
                    ledger=ledger,
                    events=from_events,
                    unpublished_events=unpublished,
                    problems=problems,
                )
            )

    def report(self) -> Reconciliation:
        return Reconciliation(
            funds=self.funds,
            totals=self.totals,
            mismatches=self.mismatches,
            unpublished_events=self.unpublished,
            ok=not self.mismatches,
        )
