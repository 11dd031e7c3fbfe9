"""The donations service's pure rules: pledges, gifts, allocations, disbursements, reversing
entries, and the totals a partner computes from the events. No I/O."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from donations import domain
from donations.domain import Donor, Fund, GiftIn
from donations.domain.outcomes import Share, issue_statements, record_outcomes
from wushe import funding
from wushe.contracts import Event
from wushe.contracts.events import donations as ev
from wushe.contracts.events.activities import Counts
from wushe.contracts.known import KnownProgramme, KnownStation
from wushe.errors import Conflict, DomainError

TODAY = date(2026, 11, 23)
FOUNDATION = Donor(donor_id="dnr-f", kind="foundation", region_code="36", display_name="基金会")
PROGRAMME = KnownProgramme(
    programme_id="blue-vest",
    scope_regions=["36"],
    start_date=date(2026, 1, 1),
    end_date=date(2026, 12, 31),
)
STATION = KnownStation(station_id="st-360402001", region_code="360402001", status="operating")


def pledge(
    amount: int = 100_000, station: KnownStation | None = None, **kw: object
) -> tuple[Fund, list[Event]]:
    fund, event = domain.make_pledge(
        fund_id="plg-1",
        donor=FOUNDATION,
        region_code="36",
        programme=PROGRAMME,
        station=station,
        amount_fen=amount,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
        instalments=kw.get("instalments", []),  # type: ignore[arg-type]
    )
    return fund, [event]


def cash(gid: str, amount: int, on: date = date(2026, 3, 1)) -> GiftIn:
    return GiftIn(
        gift_id=gid, kind="cash", amount_fen=amount, receipt_no=f"R-{gid}", received_on=on
    )


def allocate(fund: Fund, aid: str, amount: int) -> tuple[Fund, list[Event]]:
    return domain.allocate(
        fund,
        allocation_id=aid,
        station=STATION,
        activity_id=None,
        amount_fen=amount,
        on=date(2026, 3, 2),
        today=TODAY,
    )


def disburse(
    fund: Fund, did: str, aid: str, amount: int, purpose: str = "goods"
) -> tuple[Fund, list[Event]]:
    paid: dict[str, Any] = {"disbursement_id": did, "allocation_id": aid, "amount_fen": amount}
    return domain.disburse(fund, **paid, on=TODAY, purpose=purpose, today=TODAY)


def reverse(
    fund: Fund, rid: str, entry: tuple[str, str], amount: int, reason: ev.ReversalReason
) -> tuple[Fund, list[Event]]:
    """Reverse `amount` of entry (kind, id)."""
    back: dict[str, Any] = {"reversal_id": rid, "entry_kind": entry[0], "entry_id": entry[1]}
    return domain.reverse(
        fund, **back, amount_fen=amount, on=TODAY, reason_code=reason, today=TODAY
    )


def test_a_pledge_needs_whole_fen_one_target_and_instalments_that_add_up() -> None:
    fund, [made] = pledge()
    assert isinstance(made, ev.PledgeMade)
    assert (made.funder_id, made.amount_fen, fund.available) == ("dnr-f", 100_000, 100_000)
    for bad in (0, -5, 2**63):
        with pytest.raises(DomainError):
            pledge(bad)
    with pytest.raises(DomainError, match="add up"):
        pledge(instalments=[ev.Instalment(due_on=date(2026, 6, 1), amount_fen=50_000)])
    with pytest.raises(DomainError, match="one programme or one station"):
        pledge(1, station=STATION)


def test_gifts_fulfil_a_pledge_up_to_its_amount_and_repeat_harmlessly() -> None:
    fund, _ = pledge()
    fund, [got] = domain.receive_on_pledge(fund, cash("g1", 60_000), today=TODAY)
    assert isinstance(got, ev.GiftReceived)
    assert got.pledge_linked
    same, none = domain.receive_on_pledge(fund, cash("g1", 60_000), today=TODAY)
    assert (same, none) == (fund, [])
    with pytest.raises(Conflict, match="40000 fen of the pledge are outstanding"):
        domain.receive_on_pledge(fund, cash("g2", 40_001), today=TODAY)
    goods = GiftIn(
        gift_id="g3", kind="in_kind", amount_fen=5_000, receipt_no="R3", received_on=TODAY
    )
    with pytest.raises(DomainError, match="item, quantity and unit"):
        domain.receive_on_pledge(fund, goods, today=TODAY)
    rice = goods.model_copy(update={"item": "大米", "quantity": 50, "unit": "kg"})
    fund, _ = domain.receive_on_pledge(fund, rice, today=TODAY)
    assert fund.received == 65_000


def test_allocations_never_exceed_the_pledge_and_disbursements_never_exceed_what_arrived() -> None:
    fund, _ = pledge()
    fund, _ = allocate(fund, "a1", 70_000)
    with pytest.raises(Conflict, match="only 30000 fen"):
        allocate(fund, "a2", 30_001)
    fund, _ = allocate(fund, "a2", 30_000)
    assert fund.available == 0
    with pytest.raises(Conflict, match="received"):  # nothing has arrived yet
        disburse(fund, "d1", "a1", 1)
    fund, _ = domain.receive_on_pledge(fund, cash("g1", 50_000), today=TODAY)
    fund, [paid] = disburse(fund, "d1", "a1", 50_000)
    assert isinstance(paid, ev.FundsDisbursed)
    assert paid.region_code == "360402001"
    with pytest.raises(Conflict):
        disburse(fund, "d2", "a2", 1)


def test_reversals_are_new_entries_and_respect_what_depends_on_them() -> None:
    fund, _ = pledge()
    fund, _ = domain.receive_on_pledge(fund, cash("g1", 80_000), today=TODAY)
    fund, _ = allocate(fund, "a1", 60_000)
    fund, _ = disburse(fund, "d1", "a1", 50_000, "services")
    with pytest.raises(Conflict, match="not disbursed"):
        reverse(fund, "r1", ("allocation", "a1"), 20_000, "correction")
    fund, [back] = reverse(fund, "r1", ("disbursement", "d1"), 20_000, "returned_unspent")
    assert isinstance(back, ev.EntryReversed)
    assert back.station_id == "st-360402001"
    fund, _ = reverse(fund, "r2", ("allocation", "a1"), 30_000, "correction")
    with pytest.raises(Conflict, match="paid-out money"):
        reverse(fund, "r3", ("gift", "g1"), 60_000, "refund")
    fund, [refund] = reverse(fund, "r3", ("gift", "g1"), 50_000, "refund")
    assert isinstance(refund, ev.EntryReversed)
    assert (refund.gift_kind, back.gift_kind) == ("cash", None)  # views take it from cash
    again, none = reverse(fund, "r3", ("gift", "g1"), 50_000, "refund")
    assert (again, none) == (fund, [])
    assert (fund.received, fund.allocated, fund.disbursed) == (30_000, 30_000, 30_000)
    assert [e.kind for e in fund.entries] == [
        "pledge",
        "gift",
        "allocation",
        "disbursement",
        "reversal",
        "reversal",
        "reversal",
    ]
    assert domain.entry_totals(fund) == domain.fund_totals(fund)


def test_a_gift_fund_allocates_only_its_gift_and_a_refund_waits_for_allocations() -> None:
    fund, _ = domain.gift_fund(
        fund_id="gfd-1",
        donor=FOUNDATION,
        region_code="36",
        programme_id=None,
        gift=cash("g", 10_000),
        today=TODAY,
    )
    fund, _ = allocate(fund, "a1", 10_000)
    with pytest.raises(Conflict):
        allocate(fund, "a2", 1)
    with pytest.raises(Conflict, match="reverse allocations first"):
        reverse(fund, "r", ("gift", "g"), 1, "refund")


def test_totals_from_events_equal_the_ledger_and_a_difference_is_reported() -> None:
    fund, events = pledge()
    for step in (
        lambda f: domain.receive_on_pledge(f, cash("g1", 80_000), today=TODAY),
        lambda f: allocate(f, "a1", 60_000),
        lambda f: disburse(f, "d1", "a1", 10_000),
        lambda f: reverse(f, "r1", ("gift", "g1"), 5_000, "refund"),
    ):
        fund, more = step(fund)
        events += more
    totals = domain.Totals()
    for e in events:
        totals = domain.fold(totals, e)
    assert totals == domain.Totals(
        pledged_fen=100_000, received_fen=75_000, allocated_fen=60_000, disbursed_fen=10_000
    )
    assert domain.check_fund(fund, totals) == []
    missing_one = domain.Totals()
    for e in events[:-1]:
        missing_one = domain.fold(missing_one, e)
    assert domain.check_fund(fund, missing_one) == ["received_fen: state 75000 != events 80000"]
    tampered = fund.model_copy(update={"entries": fund.entries[:-1]})
    assert domain.check_fund(tampered, totals) == [
        "received_fen: state 75000 != ledger entries 80000"
    ]


def test_instalments_due_and_not_received_are_overdue() -> None:
    fund, _ = pledge(
        instalments=[
            ev.Instalment(due_on=date(2026, 3, 31), amount_fen=40_000),
            ev.Instalment(due_on=date(2026, 9, 30), amount_fen=60_000),
        ]
    )
    assert fund.overdue(date(2026, 3, 1)) == 0
    assert fund.overdue(date(2026, 10, 1)) == 100_000
    fund, _ = domain.receive_on_pledge(fund, cash("g1", 70_000), today=TODAY)
    assert fund.overdue(date(2026, 4, 1)) == 0
    assert fund.overdue(date(2026, 10, 1)) == 30_000


def test_only_organisations_that_fund_in_their_own_name_get_a_partner_feed() -> None:
    def donor(kind: ev.DonorKind, anonymous: bool = False) -> Donor:
        return Donor(donor_id="dnr-1", kind=kind, region_code="36", anonymous=anonymous)

    assert domain.has_partner_feed(donor("foundation"))
    assert domain.has_partner_feed(donor("company"))
    assert not domain.has_partner_feed(donor("individual"))
    assert not domain.has_partner_feed(donor("individual", anonymous=True))
    assert not domain.has_partner_feed(None)


def shares_of(aid: str, offset: int, day: date, outcome: dict[str, int], **kw: Any) -> Share:
    return Share(
        partition=kw.get("partition", 0),
        offset=offset,
        allocation_id=aid,
        activity_id=f"act-{offset}",
        stage=kw.get("stage", "held"),
        activity_date=day,
        recorded_on=day,
        outcome=outcome,
    )


def test_outcomes_are_recorded_once_per_activity_event_and_only_for_the_funds_allocations() -> None:
    fund, _ = pledge()
    fund, _ = allocate(fund, "a1", 50_000)
    held = funding.held_shares(COUNTS_HELD, ["a1", "a-elsewhere"])
    batch = [shares_of(aid, 7, date(2026, 3, 5), share) for aid, share in held.items()]
    fund, events = record_outcomes(fund, batch)
    [recorded] = events
    assert isinstance(recorded, ev.OutcomeRecorded)
    assert recorded.allocation_id == "a1"
    assert recorded.station_id == STATION.station_id
    assert recorded.outcome == ev.Outcome(activities=1, sessions=2, person_times={"elders": 10})
    assert fund.outcomes["a1"]["person_times"] == 10
    again, none = record_outcomes(fund, batch)  # redelivered: at or below the mark
    assert none == []
    assert again == fund
    verified = [shares_of("a1", 9, date(2026, 3, 5), held["a1"], stage="verified")]
    fund, [certified] = record_outcomes(fund, verified)
    assert isinstance(certified, ev.OutcomeRecorded)
    assert certified.stage == "verified"
    assert fund.outcomes["a1"]["activities"] == 1  # a verification counts nothing again


COUNTS_HELD = Counts(sessions=3, person_times={"elders": 20})


def test_statements_cover_each_month_over_once_and_late_figures_as_adjustments() -> None:
    fund, _ = pledge()
    fund, _ = domain.receive_on_pledge(fund, cash("g1", 50_000, date(2026, 3, 1)), today=TODAY)
    goods = GiftIn(
        gift_id="g2",
        kind="in_kind",
        amount_fen=8_000,
        item="大米",
        quantity=40,
        unit="袋",
        receipt_no="R-g2",
        received_on=date(2026, 4, 2),
    )
    fund, _ = domain.receive_on_pledge(fund, goods, today=TODAY)
    fund, _ = allocate(fund, "a1", 30_000)  # dated 2026-03-02
    fund, _ = domain.disburse(
        fund,
        disbursement_id="d1",
        allocation_id="a1",
        amount_fen=12_000,
        on=date(2026, 4, 10),
        purpose="goods",
        today=TODAY,
    )
    held = funding.held_shares(COUNTS_HELD, ["a1"])["a1"]
    fund, _ = record_outcomes(fund, [shares_of("a1", 1, date(2026, 3, 20), held)])
    fund, issued = issue_statements(fund, through="2026-04")
    march, april = issued
    assert isinstance(march, ev.StatementIssued)
    assert isinstance(april, ev.StatementIssued)
    assert (march.month, march.opening_balance_fen, march.closing_balance_fen) == (
        "2026-03",
        0,
        50_000,
    )
    assert march.month_figures.allocated_fen == 30_000
    assert march.month_figures.outcome == ev.Outcome(
        activities=1, sessions=3, person_times={"elders": 20}
    )
    assert april.opening_balance_fen == 50_000
    assert april.month_figures.received_fen == 8_000
    assert april.month_figures.received_in_kind_fen == 8_000
    assert april.month_figures.spent_fen == 12_000
    assert april.closing_balance_fen == 50_000 + 8_000 - 12_000
    assert issue_statements(fund, through="2026-04") == (fund, [])  # issued once
    # An activity of March recorded in May: May's statement carries it as an adjustment.
    fund, _ = record_outcomes(fund, [shares_of("a1", 2, date(2026, 3, 25), held)])
    fund, [may] = issue_statements(fund, through="2026-05")
    assert isinstance(may, ev.StatementIssued)
    assert may.opening_balance_fen == april.closing_balance_fen == may.closing_balance_fen
    assert may.month_figures.outcome.activities == 0
    assert may.adjustments.outcome == ev.Outcome(
        activities=1, sessions=3, person_times={"elders": 20}
    )
