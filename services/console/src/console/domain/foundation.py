"""A foundation's money and what it did, shaped for its page and its statement: its funds
(pledges and gifts), gifts received, allocations by station with the activities and
person-times they funded, the Sankey diagram's nodes and links (funder → fund → station or
city → outcomes), and the statement's rows. Money stays in fen here; pages write yuan.

The money comes from the donations service (`GET /funds?funder_id=`, the ledger of record);
the outcomes per allocation from the projector's lineage (`GET /views/lineage/{funder_id}`:
activities naming the allocation in `linkage.donation_ids`), or, when the lineage cannot be
read, from the funds' own `outcomes` (the two agree by design, decision 0041); each fund's
monthly statements (月度报表) from `GET /funds/{fund_id}/statements`."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

from console.domain.codes import GROUPS

# With more stations than this, the diagram groups them by city (462 bands say nothing);
# the tables keep every station.
SANKEY_STATIONS = 12
BOM = "\ufeff"  # Excel opens a CSV as UTF-8 (Chinese intact) only with it


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _int(value: Any) -> int:
    return int(value or 0)


@dataclass(frozen=True)
class FundRow:
    fund_id: str
    number: int  # 1, 2, ... in the page's order: how people tell funds apart
    kind: str  # "pledge" (认捐) or "gift" (捐赠)
    period_start: date | None
    period_end: date | None
    pledged: int
    received: int
    allocated: int
    disbursed: int
    available: int
    outstanding: int
    overdue: int


def fund_rows(funds: Iterable[Mapping[str, Any]]) -> list[FundRow]:
    ordered = sorted(funds, key=lambda f: (str(f.get("period_start") or ""), str(f["fund_id"])))
    return [
        FundRow(
            fund_id=str(f["fund_id"]),
            number=n,
            kind=str(f.get("kind", "")),
            period_start=_day(f.get("period_start")),
            period_end=_day(f.get("period_end")),
            pledged=_int(f.get("pledged_fen")),
            received=_int(f.get("received_fen")),
            allocated=_int(f.get("allocated_fen")),
            disbursed=_int(f.get("disbursed_fen")),
            available=_int(f.get("available_fen")),
            outstanding=_int(f.get("outstanding_fen")),
            overdue=_int(f.get("overdue_fen")),
        )
        for n, f in enumerate(ordered, start=1)
    ]


@dataclass(frozen=True)
class GiftRow:
    fund_number: int
    gift_id: str
    kind: str  # "cash" or "in_kind"
    amount: int
    reversed: int
    item: str | None
    receipt_no: str
    received_on: date | None


def gift_rows(funds: Iterable[Mapping[str, Any]], numbers: Mapping[str, int]) -> list[GiftRow]:
    rows = [
        GiftRow(
            fund_number=numbers.get(str(f["fund_id"]), 0),
            gift_id=str(g.get("gift_id", "")),
            kind=str(g.get("kind", "")),
            amount=_int(g.get("amount_fen")),
            reversed=_int(g.get("reversed_fen")),
            item=g.get("item"),
            receipt_no=str(g.get("receipt_no", "")),
            received_on=_day(g.get("received_on")),
        )
        for f in funds
        for g in f.get("gifts") or []
    ]
    return sorted(rows, key=lambda g: (g.received_on or date.min, g.fund_number, g.receipt_no))


@dataclass(frozen=True)
class Place:
    """Where a station is, by name (None: unknown)."""

    station: str | None
    county: str | None
    city: str | None
    city_code: str


# region code -> the station's place, by name
Namer = Callable[[str], Place]


@dataclass(frozen=True)
class AllocationRow:
    allocation_id: str
    fund_number: int
    station_id: str
    region_code: str
    place: Place
    allocated: int  # net of reversals
    disbursed: int
    activities: int
    sessions: int
    person_times: int


def allocation_rows(
    funds: Iterable[Mapping[str, Any]],
    numbers: Mapping[str, int],
    outcomes: Mapping[str, Mapping[str, int]],
    name: Namer,
) -> list[AllocationRow]:
    """Every allocation with its station's place and what it delivered, by city, county and
    station name."""
    rows = []
    for f in funds:
        for a in f.get("allocations") or []:
            aid = str(a.get("allocation_id", ""))
            done = outcomes.get(aid, {})
            region = str(a.get("region_code", ""))
            rows.append(
                AllocationRow(
                    allocation_id=aid,
                    fund_number=numbers.get(str(f["fund_id"]), 0),
                    station_id=str(a.get("station_id", "")),
                    region_code=region,
                    place=name(region),
                    allocated=_int(a.get("amount_fen")) - _int(a.get("reversed_fen")),
                    disbursed=_int(a.get("disbursed_fen")),
                    activities=_int(done.get("activities")),
                    sessions=_int(done.get("sessions")),
                    person_times=_int(done.get("person_times")),
                )
            )
    return sorted(rows, key=lambda r: (r.region_code, r.fund_number, r.allocation_id))


def outcomes_of(lineage: Mapping[str, Any] | None) -> dict[str, dict[str, int]]:
    """allocation id -> its outcomes (activities, sessions, person_times, ...)."""
    if not lineage:
        return {}
    return {
        str(a["allocation_id"]): {k: int(v) for k, v in (a.get("outcomes") or {}).items()}
        for a in lineage.get("allocations") or []
    }


def fund_outcomes(funds: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """allocation id -> its outcomes, as the donations service records them on each fund."""
    return {
        str(aid): {str(k): int(v) for k, v in (done or {}).items()}
        for f in funds
        for aid, done in (f.get("outcomes") or {}).items()
    }


@dataclass(frozen=True)
class CityRow:
    city_code: str
    city: str | None
    stations: int
    allocated: int
    disbursed: int
    activities: int
    person_times: int


def by_city(rows: Iterable[AllocationRow]) -> list[CityRow]:
    grouped: dict[str, list[AllocationRow]] = {}
    for r in rows:
        grouped.setdefault(r.place.city_code, []).append(r)
    return [
        CityRow(
            city_code=code,
            city=group[0].place.city,
            stations=len({r.station_id for r in group}),
            allocated=sum(r.allocated for r in group),
            disbursed=sum(r.disbursed for r in group),
            activities=sum(r.activities for r in group),
            person_times=sum(r.person_times for r in group),
        )
        for code, group in sorted(grouped.items())
    ]


@dataclass(frozen=True)
class Totals:
    pledged: int = 0
    received: int = 0
    allocated: int = 0
    disbursed: int = 0
    available: int = 0
    outstanding: int = 0
    stations: int = 0
    activities: int = 0
    sessions: int = 0
    person_times: int = 0


def totals(funds: Sequence[FundRow], allocations: Sequence[AllocationRow]) -> Totals:
    return Totals(
        pledged=sum(f.pledged for f in funds),
        received=sum(f.received for f in funds),
        allocated=sum(f.allocated for f in funds),
        disbursed=sum(f.disbursed for f in funds),
        available=sum(f.available for f in funds),
        outstanding=sum(f.outstanding for f in funds),
        stations=len({a.station_id for a in allocations}),
        activities=sum(a.activities for a in allocations),
        sessions=sum(a.sessions for a in allocations),
        person_times=sum(a.person_times for a in allocations),
    )


# --------------------------------------------------------------------------- the Sankey


@dataclass
class Flow:
    """The diagram: nodes (unique names, a layer each) and links in fen; a link into an
    outcome carries the activities and person-times it stands for."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)

    def node(self, name: str, depth: int, kind: str) -> str:
        if not any(n["name"] == name for n in self.nodes):
            self.nodes.append({"name": name, "depth": depth, "kind": kind})
        return name

    def link(self, source: str, target: str, fen: int, **extra: int) -> None:
        if fen > 0:
            self.links.append({"source": source, "target": target, "value": fen, **extra})

    def as_spec(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "links": self.links}


@dataclass(frozen=True)
class SankeyWords:
    """The diagram's labels, in the person's language."""

    funder: str
    fund: Callable[[FundRow], str]  # a fund's label
    unallocated: str  # received, not yet allocated
    outcome: Callable[[int, int], str]  # activities, person-times -> label
    no_outcome: str  # allocated money with no activity recorded against it yet
    unknown_place: str


def sankey(
    funds: Sequence[FundRow], allocations: Sequence[AllocationRow], words: SankeyWords
) -> tuple[Flow, bool]:
    """Funder → each fund (received) → each station, or each city when there are many
    stations (allocated), and what is left to allocate → outcomes: the activities and
    person-times the allocations funded (money to outcome), else "no activity recorded yet".
    Returns the flow and whether it is by city."""
    flow = Flow()
    root = flow.node(words.funder, 0, "funder")
    by_fund: dict[int, str] = {}
    for f in funds:
        label = flow.node(words.fund(f), 1, "fund")
        by_fund[f.number] = label
        flow.link(root, label, f.received)
    stations = {a.station_id for a in allocations}
    grouped = len(stations) > SANKEY_STATIONS

    def target_of(a: AllocationRow) -> str:
        if grouped:
            return a.place.city or words.unknown_place
        return a.place.station or words.unknown_place

    money: dict[tuple[int, str], int] = {}
    order: dict[str, str] = {}  # target -> its first region code: bands in region order
    done: dict[str, list[int]] = {}  # target -> [fen with outcomes, activities, person-times]
    idle: dict[str, int] = {}  # target -> fen with no outcome yet
    for a in allocations:
        target = target_of(a)
        order[target] = min(order.get(target, a.region_code), a.region_code)
        money[(a.fund_number, target)] = money.get((a.fund_number, target), 0) + a.allocated
        if a.activities or a.person_times:
            acc = done.setdefault(target, [0, 0, 0])
            acc[0] += a.allocated
            acc[1] += a.activities
            acc[2] += a.person_times
        else:
            idle[target] = idle.get(target, 0) + a.allocated
    for (number, target), fen in sorted(money.items(), key=lambda m: (m[0][0], order[m[0][1]])):
        flow.node(target, 2, "city" if grouped else "station")
        flow.link(by_fund[number], target, fen)
    for f in funds:
        if f.available > 0:
            flow.node(words.unallocated, 2, "unallocated")
            flow.link(by_fund[f.number], words.unallocated, f.available)
    if done:  # outcomes exist: where money met them, and where it has not yet
        activities = sum(v[1] for v in done.values())
        person_times = sum(v[2] for v in done.values())
        label = flow.node(words.outcome(activities, person_times), 3, "outcome")
        for target, (fen, acts, people) in sorted(done.items(), key=lambda d: order[d[0]]):
            flow.link(target, label, fen, activities=acts, person_times=people)
        for target, fen in sorted(idle.items(), key=lambda i: order[i[0]]):
            flow.node(words.no_outcome, 3, "no_outcome")
            flow.link(target, words.no_outcome, fen)
    return flow, grouped


# --------------------------------------------------------------------------- monthly statements


# A statement's money figures: the console's name and the statement's field.
STATEMENT_MONEY = {
    "received": "received_fen",
    "in_kind": "received_in_kind_fen",
    "allocated": "allocated_fen",
    "spent": "spent_fen",
}


@dataclass(frozen=True)
class MonthFigures:
    """A statement's figures for its month, or its adjustments (late figures of months
    stated before): money in fen, outcomes as counts."""

    received: int = 0  # cash and goods
    in_kind: int = 0  # of which goods in kind, at their stated value
    allocated: int = 0
    spent: int = 0
    activities: int = 0
    sessions: int = 0
    person_times: int = 0
    groups: tuple[tuple[str, int], ...] = ()  # person-times by group, in the groups' order

    def __bool__(self) -> bool:
        money = (self.received, self.in_kind, self.allocated, self.spent)
        return any(money) or any((self.activities, self.sessions, self.person_times))


@dataclass(frozen=True)
class StatementMonth:
    month: str  # YYYY-MM
    opening: int
    closing: int
    figures: MonthFigures
    adjustments: MonthFigures | None  # None: nothing recorded late


@dataclass(frozen=True)
class FundStatements:
    """One fund's statements, the latest month first; `months` is None when they could not
    be read (the rest of the page stands)."""

    fund: FundRow
    stated_through: str | None
    months: list[StatementMonth] | None


def month_figures(figures: Mapping[str, Any] | None) -> MonthFigures:
    f = figures or {}
    outcome = f.get("outcome") or {}
    by_group: dict[str, int] = {}
    for group, n in (outcome.get("person_times") or {}).items():
        key = group if group in GROUPS else "other"  # a group this console has no word for
        by_group[key] = by_group.get(key, 0) + int(n)
    money = {name: _int(f.get(field)) for name, field in STATEMENT_MONEY.items()}
    counts = {name: _int(outcome.get(name)) for name in ("activities", "sessions")}
    return MonthFigures(
        **money,
        **counts,
        person_times=sum(by_group.values()),
        groups=tuple((g, by_group[g]) for g in GROUPS if by_group.get(g)),
    )


def fund_statements(
    funds: Sequence[FundRow], answers: Mapping[str, Mapping[str, Any] | None]
) -> list[FundStatements]:
    """Each fund's monthly statements (`answers`: fund id -> its `GET /funds/{id}/statements`
    answer, None when it could not be read), in the funds' order, each the latest first."""
    out = []
    for fund in funds:
        answer = answers.get(fund.fund_id)
        if answer is None:
            out.append(FundStatements(fund, None, None))
            continue
        months = [
            StatementMonth(
                month=str(s.get("month", "")),
                opening=_int(s.get("opening_balance_fen")),
                closing=_int(s.get("closing_balance_fen")),
                figures=month_figures(s.get("month_figures")),
                adjustments=month_figures(s.get("adjustments")) or None,
            )
            for s in answer.get("items") or []
        ]
        months.sort(key=lambda m: m.month, reverse=True)
        through = answer.get("stated_through")
        out.append(FundStatements(fund, str(through) if through else None, months))
    return out


# --------------------------------------------------------------------------- the statement


@dataclass(frozen=True)
class StatementLine:
    on: date | None
    fund_number: int
    kind: str
    amount: int  # fen, signed as the ledger keeps it
    ref_id: str
    station: str  # the station's name for allocations and disbursements, else ""
    place: str  # where that station is
    detail: str  # receipt number, purpose, reversal reason


def statement_lines(
    funds: Iterable[Mapping[str, Any]],
    numbers: Mapping[str, int],
    station_of: Mapping[str, tuple[str, str]],
) -> list[StatementLine]:
    """Every line of every fund's ledger (the append-only entries), in date order, with the
    station an allocation or disbursement went to (`station_of`: allocation id -> its
    station's name and place)."""
    lines = []
    for f in funds:
        gifts = {str(g.get("gift_id")): g for g in f.get("gifts") or []}
        paid = {str(d.get("disbursement_id")): d for d in f.get("disbursements") or []}
        for e in f.get("entries") or []:
            ref = str(e.get("ref_id", ""))
            kind = str(e.get("kind", ""))
            station, where, detail = "", "", ""
            if kind == "gift" and ref in gifts:
                detail = str(gifts[ref].get("receipt_no") or "")
            elif kind == "allocation":
                station, where = station_of.get(ref, ("", ""))
            elif kind == "disbursement" and ref in paid:
                station, where = station_of.get(str(paid[ref].get("allocation_id")), ("", ""))
                detail = str(paid[ref].get("purpose") or "")
            elif kind == "reversal":
                detail = " ".join(str(x) for x in (e.get("reverses"), e.get("reason_code")) if x)
            lines.append(
                StatementLine(
                    on=_day(e.get("on")),
                    fund_number=numbers.get(str(f["fund_id"]), 0),
                    kind=kind,
                    amount=_int(e.get("amount_fen")),
                    ref_id=ref,
                    station=station,
                    place=where,
                    detail=detail,
                )
            )
    return sorted(lines, key=lambda s: (s.on or date.min, s.fund_number))


def yuan_plain(fen: int) -> str:
    """Fen as yuan for a spreadsheet: digits, a point, two decimals, no symbol or commas
    (a number Excel sums): 123456 -> "1234.56"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document Excel opens with its Chinese intact: UTF-8 with a byte-order mark,
    CRLF line ends."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return BOM + buf.getvalue()


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment with a UTF-8 file name (RFC 6266 / RFC 5987) and an ASCII fallback for
    clients that read only `filename`."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
