"""What a fund's money delivered, and its monthly statements (月度报表).

Activities name the allocations that funded them (`linkage.donation_ids`); the service reads
the activities' events and records each allocation's share (`wushe.funding`) on the fund
the allocation belongs to, as `OutcomeRecorded` events of the partner stream. A fund
remembers, per partition of the activities' topic, the last offset it recorded, so a
redelivered event records nothing twice (docs/decisions/0041-funded-outcomes.md).

A statement covers a month once it is over: the money and outcomes dated in it, and, as
`adjustments`, whatever arrived since for months already stated. Balance is money received
and not yet spent at the stations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from donations.domain.funds import Fund, fund_keys
from wushe.contracts import Event
from wushe.contracts.events import donations as ev
from wushe.contracts.events.activities import Counts
from wushe.funding import Outcome

Figures = dict[str, int]
Stage = Literal["held", "verified", "corrected"]
# Money figures a statement reports, from the ledger's entry kinds (reversals by what they
# reverse).
MONEY = {"gift": "received_fen", "allocation": "allocated_fen", "disbursement": "spent_fen"}


@dataclass(frozen=True)
class Funded:
    """A funded activity as the service remembers it: what a later verification or
    correction of it is shared out by."""

    activity_id: str
    donation_ids: list[str]
    counts: Counts
    activity_date: date


@dataclass(frozen=True)
class Share:
    """One allocation's share of one activity event, and where that event lies."""

    partition: int
    offset: int
    allocation_id: str
    activity_id: str
    stage: Stage
    activity_date: date
    recorded_on: date
    outcome: Outcome


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add(into: Figures, more: Figures, sign: int = 1) -> Figures:
    out = dict(into)
    for name, n in more.items():
        out[name] = out.get(name, 0) + sign * n
    return {k: v for k, v in out.items() if v}


def outcome_event(share: Share) -> ev.Outcome:
    o = share.outcome
    groups = {k.split(":", 1)[1]: v for k, v in o.items() if k.startswith("person_times:")}
    return ev.Outcome(
        activities=o.get("activities", 0), sessions=o.get("sessions", 0), person_times=groups
    )


def shared_fields(share: Share) -> dict[str, object]:
    """What an `OutcomeRecorded` takes from the share itself."""
    keep = ("activity_id", "stage", "activity_date", "recorded_on")
    return {name: getattr(share, name) for name in keep}


def record_outcomes(fund: Fund, shares: Sequence[Share]) -> tuple[Fund, list[Event]]:
    """The fund's allocations' shares, each recorded once: a share at or below the offset the
    fund last recorded for its partition was recorded before (a redelivery)."""
    marks = dict(fund.outcome_marks)
    new = [
        s
        for s in shares
        if s.allocation_id in fund.allocations
        and s.offset > fund.outcome_marks.get(str(s.partition), -1)
    ]
    if not new:
        return fund, []
    by_allocation = {k: dict(v) for k, v in fund.outcomes.items()}
    by_month = {k: dict(v) for k, v in fund.outcomes_by_month.items()}
    events: list[Event] = []
    for s in new:
        marks[str(s.partition)] = max(marks.get(str(s.partition), -1), s.offset)
        a = fund.allocations[s.allocation_id]
        if s.stage != "verified":  # a verification certifies figures already counted
            by_allocation[s.allocation_id] = add(by_allocation.get(s.allocation_id, {}), s.outcome)
            month = month_of(s.activity_date)
            by_month[month] = add(by_month.get(month, {}), s.outcome)
        events.append(
            ev.OutcomeRecorded.of(  # the allocation's id, station and township
                a, **fund_keys(fund), **shared_fields(s), outcome=outcome_event(s)
            )
        )
    changed = fund.model_copy(
        update={"outcome_marks": marks, "outcomes": by_allocation, "outcomes_by_month": by_month}
    )
    return changed, events


def money_by_month(fund: Fund) -> dict[str, Figures]:
    """The ledger's money by the month its entries are dated in (reversals negative, under
    what they reverse), with goods in kind also apart."""
    in_kind = {g.gift_id for g in fund.gifts.values() if g.kind == "in_kind"}
    out: dict[str, Figures] = {}
    for e in fund.entries:
        kind: str = e.kind
        ref = e.ref_id
        if e.kind == "reversal" and e.reverses:
            kind, ref = e.reverses.split(":", 1)
        if kind not in MONEY:
            continue
        month = out.setdefault(month_of(e.on), {})
        figures = {MONEY[kind]: e.amount_fen}
        if kind == "gift" and ref in in_kind:
            figures["received_in_kind_fen"] = e.amount_fen
        out[month_of(e.on)] = add(month, figures)
    return out


def figures_by_month(fund: Fund) -> dict[str, Figures]:
    """Money and outcomes by month, as the fund holds them now."""
    out = money_by_month(fund)
    for month, outcome in fund.outcomes_by_month.items():
        out[month] = add(out.get(month, {}), outcome)
    return out


def months(first: str, last: str) -> Iterable[str]:
    """Every month from `first` to `last`, both included (YYYY-MM)."""
    month = first
    while month <= last:
        yield month
        month = next_month(month)


def last_month(today: date) -> str:
    """The month before `today`'s: the last one that is over."""
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


def next_month(month: str) -> str:
    year, m = int(month[:4]), int(month[5:])
    return f"{year + 1:04d}-01" if m == 12 else f"{year:04d}-{m + 1:02d}"


def statement_figures(f: Figures) -> ev.StatementFigures:
    groups = {k.split(":", 1)[1]: v for k, v in f.items() if k.startswith("person_times:")}
    return ev.StatementFigures(
        received_fen=f.get("received_fen", 0),
        received_in_kind_fen=f.get("received_in_kind_fen", 0),
        allocated_fen=f.get("allocated_fen", 0),
        spent_fen=f.get("spent_fen", 0),
        outcome=ev.Outcome(
            activities=f.get("activities", 0), sessions=f.get("sessions", 0), person_times=groups
        ),
    )


def balance_change(f: Figures) -> int:
    return f.get("received_fen", 0) - f.get("spent_fen", 0)


def issue_statements(fund: Fund, *, through: str) -> tuple[Fund, list[Event]]:
    """Statements for every month over (through `through`) not yet stated, in order, from
    the fund's first dated figure on. A month's statement is issued once; what arrives later
    for it is an adjustment in the next one."""
    now = figures_by_month(fund)
    if not now:
        return fund, []
    first = min(now) if fund.stated_through is None else next_month(fund.stated_through)
    stated = {k: dict(v) for k, v in fund.stated.items()}
    balance = fund.closing_balance_fen
    events: list[Event] = []
    for month in months(first, through):
        late: Figures = {}
        for m, f in now.items():
            if m < month:
                late = add(late, add(f, stated.get(m, {}), -1))
        current = now.get(month, {})
        opening = balance
        balance = opening + balance_change(current) + balance_change(late)
        for m, f in now.items():
            if m <= month:
                stated[m] = dict(f)
        events.append(
            ev.StatementIssued(
                **fund_keys(fund),
                month=month,
                region_code=fund.region_code,
                opening_balance_fen=opening,
                closing_balance_fen=balance,
                month_figures=statement_figures(current),
                adjustments=statement_figures(late),
            )
        )
    if not events:
        return fund, []
    last = events[-1]
    assert isinstance(last, ev.StatementIssued)
    return fund.model_copy(
        update={"stated": stated, "stated_through": last.month, "closing_balance_fen": balance}
    ), events
