"""Disclosure (信息公开): what a charitable fund, and the funds of a programme, publish to
anyone, and what they never do (docs/decisions/0043-disclosure.md).

Published: income by source (cash, and goods in kind at their stated valuation with item,
quantity and unit, net of reversals), allocations to stations and the spending out of each
by purpose, and what each allocation's money delivered (活动场次, 服务场次, 服务人次). An
organisation that gives is named; a person never is: their gifts are one line, 个人捐赠,
without dates or fund ids, and an anonymous donor's are 匿名捐赠 the same way.

Pure: the names of stations, organisations, programmes and places come in as `Refs`, which
the store looks up in the registry copy and the admin-region data. Money stays in fen here;
the CSV and the page write yuan with two decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from donations.domain.donors import Donor
from donations.domain.funds import Allocation, Fund
from wushe.contracts.events.activities import GROUP_NAMES

FUND_KINDS = {"pledge": "认捐", "gift": "捐赠"}
GIFT_KINDS = {"cash": "现金", "in_kind": "物资"}
PURPOSES = {
    "activity_costs": "活动经费",
    "goods": "物资采购",
    "services": "服务购买",
    "subsidy": "补贴",
    "other": "其他",
}
GROUPS = GROUP_NAMES
INDIVIDUAL = "个人捐赠"
ANONYMOUS = "匿名捐赠"
PERSONS = {"individual": "个人", "anonymous": "匿名"}  # a fund's title: 个人认捐, 匿名捐赠
NOTES = [
    "金额单位为元；物资按捐赠时确认的折价计入，冲正（退款、更正、收回）已扣除。",
    "个人捐赠不公开捐赠人姓名及任何身份信息，合并为“个人捐赠”一行；匿名捐赠合并为“匿名捐赠”。",
    "服务成效为注明由各笔拨付资金支持的活动：一项活动由几笔拨付共同支持时，其场次和人次在各笔之间平分。",
]

SourceKind = Literal["organisation", "individual", "anonymous"]
ORDER = {"organisation": 0, "individual": 1, "anonymous": 2}  # how sources are listed


# -- what the store looks up for a disclosure


class Place(BaseModel):
    code: str = Field(description="the statistical code (GB/T 2260 and township codes)")
    name: str = Field(description="its own name, e.g. a township's: 十里街道")
    full_name: str = Field(description="with the regions above it: 江西省九江市濂溪区十里街道")


class StationRef(BaseModel):
    station_id: str
    name: str | None = None
    region_code: str
    operator_org_id: str | None = None


class OrgRef(BaseModel):
    org_id: str
    name: str
    credit_code: str | None = None


class Refs(BaseModel):
    """What the registry copy and the region data say of the records a disclosure names."""

    donors: dict[str, Donor] = {}
    stations: dict[str, StationRef] = {}
    organisations: dict[str, OrgRef] = {}
    programmes: dict[str, str] = {}  # programme id -> its name
    places: dict[str, Place] = {}

    def place(self, code: str) -> Place:
        """A region by name; one the region data does not know says so, never a bare code."""
        return self.places.get(code) or Place(
            code=code, name=f"未知地区（代码 {code}）", full_name=f"未知地区（代码 {code}）"
        )

    def station_name(self, station_id: str, region_code: str) -> str:
        """The station's registered name; a copy from before names were kept: the name the
        registry gives a station by default (its township's name + 社工站)."""
        known = self.stations.get(station_id)
        if known is not None and known.name:
            return known.name
        return f"{self.place(region_code).name}社工站"

    def programme_name(self, programme_id: str) -> str:
        return self.programmes.get(programme_id) or f"公益项目（{programme_id}）"


def codes_to_name(funds: Iterable[Fund]) -> set[str]:
    """The region codes a disclosure of `funds` names: each allocation's township and each
    fund's region."""
    codes = {f.region_code for f in funds}
    return codes | {a.region_code for f in funds for a in f.allocations.values()}


# -- what a disclosure shows


class Source(BaseModel):
    """Who gave: an organisation by name; a person never (个人捐赠, 匿名捐赠)."""

    kind: SourceKind
    name: str
    funder_id: str | None = Field(None, description="organisations only: their funder id")


class Outcomes(BaseModel):
    """What money delivered: activities it funded (an activity several allocations funded
    is shared out among them, so counts are whole shares)."""

    activities: int = Field(0, description="活动场次")
    sessions: int = Field(0, description="服务场次")
    person_times: int = Field(0, description="服务人次, every group")
    person_times_by_group: dict[str, int] = Field(
        default_factory=dict, description="服务人次 by beneficiary group (elders, children …)"
    )

    def plus(self, other: Outcomes) -> Outcomes:
        groups = dict(self.person_times_by_group)
        for group, n in other.person_times_by_group.items():
            groups[group] = groups.get(group, 0) + n
        return Outcomes(
            activities=self.activities + other.activities,
            sessions=self.sessions + other.sessions,
            person_times=self.person_times + other.person_times,
            person_times_by_group={g: groups[g] for g in sorted(groups, key=group_order)},
        )


class IncomeLine(BaseModel):
    """A gift of an organisation, or the gifts of persons (or anonymous ones) of one kind
    and item taken together."""

    source: str
    source_kind: SourceKind
    fund_id: str | None = Field(None, description="organisations' funds only")
    kind: Literal["cash", "in_kind"]
    kind_label: str
    item: str | None = None
    quantity: float | None = None
    unit: str | None = None
    received_on: date | None = Field(None, description="None: several persons' gifts together")
    gifts: int = Field(description="how many gifts the line takes together")
    amount_fen: int = Field(description="as received; goods at their stated valuation")
    reversed_fen: int
    net_fen: int


class SourceTotal(BaseModel):
    source: Source
    funds: int
    pledged_fen: int
    cash_fen: int = Field(description="net of reversals")
    in_kind_fen: int = Field(description="at stated valuation, net of reversals")
    received_fen: int


class Spending(BaseModel):
    purpose: str
    purpose_label: str
    payments: int
    amount_fen: int
    reversed_fen: int
    net_fen: int


class AllocationLine(BaseModel):
    allocation_id: str
    fund_id: str | None = Field(None, description="organisations' funds only")
    source: str
    station_id: str
    station_name: str
    township: Place
    allocated_on: date
    amount_fen: int
    reversed_fen: int
    net_fen: int
    disbursed_fen: int = Field(description="paid out of it, net of returned payments")
    undisbursed_fen: int
    spending: list[Spending]
    outcomes: Outcomes


class DisclosedTotals(BaseModel):
    pledged_fen: int
    received_fen: int
    received_cash_fen: int
    received_in_kind_fen: int
    allocated_fen: int
    disbursed_fen: int
    undisbursed_fen: int = Field(description="allocated, not yet paid out")
    spending: list[Spending] = Field(description="by purpose")
    outcomes: Outcomes


class Named(BaseModel):
    id: str
    name: str


class StationShown(BaseModel):
    station_id: str
    name: str
    township: Place


class Disclosure(BaseModel):
    """A fund's or a programme's public account (慈善信息公开)."""

    subject: Literal["fund", "programme"]
    title: str
    fund_id: str | None = None
    fund_kind: str | None = Field(None, description="认捐 (pledge) or 捐赠 (gift)")
    donor: Source | None = Field(None, description="a fund's: who gave")
    programme: Named | None = None
    station: StationShown | None = Field(None, description="a pledge to one station")
    region: Place | None = None
    period_start: date | None = None
    period_end: date | None = None
    sources: list[SourceTotal]
    income: list[IncomeLine]
    allocations: list[AllocationLine]
    totals: DisclosedTotals
    as_of: datetime | None = Field(None, description="when the newest of its funds changed")
    notes: list[str] = NOTES


# -- building one


def source_of(fund: Fund, refs: Refs) -> Source:
    """Who gave a fund, as the public may see it: an organisation's name, never a person."""
    if fund.funder_id == "anonymous":
        return Source(kind="anonymous", name=ANONYMOUS)
    return donor_source(refs.donors.get(fund.donor_id), refs)


def donor_source(donor: Donor | None, refs: Refs) -> Source:
    if donor is None or donor.anonymous:
        return Source(kind="anonymous", name=ANONYMOUS)
    if donor.kind == "individual":
        return Source(kind="individual", name=INDIVIDUAL)
    org = refs.organisations.get(donor.org_id) if donor.org_id else None
    name = donor.display_name or (org.name if org else None) or "捐赠机构"
    return Source(kind="organisation", name=name, funder_id=donor.donor_id)


def outcomes_of(figures: Mapping[str, int]) -> Outcomes:
    """Outcome counters as the fund keeps them (`activities`, `sessions`, `person_times`,
    `person_times:<group>`), as shown."""
    groups = {k.split(":", 1)[1]: v for k, v in figures.items() if k.startswith("person_times:")}
    return Outcomes(
        activities=figures.get("activities", 0),
        sessions=figures.get("sessions", 0),
        person_times=figures.get("person_times", sum(groups.values())),
        person_times_by_group={g: groups[g] for g in sorted(groups, key=group_order) if groups[g]},
    )


def group_order(group: str) -> tuple[int, str]:
    """Beneficiary groups in the order the platform lists them (elders first)."""
    order = list(GROUPS)
    return (order.index(group) if group in order else len(order), group)


def allocation_outcomes(fund: Fund) -> dict[str, Outcomes]:
    """What each allocation's money delivered: the fund's record of the activities that name
    it (`Fund.outcomes`, kept from the activities' events); zeros for an allocation no
    activity names yet."""
    return {a: outcomes_of(fund.outcomes.get(a, {})) for a in fund.allocations}


def _income(funds: Sequence[tuple[Fund, Source]]) -> list[IncomeLine]:
    named: list[IncomeLine] = []
    pooled: dict[tuple[str, str, str | None, str | None], IncomeLine] = {}
    for fund, source in funds:
        for g in sorted(fund.gifts.values(), key=lambda g: (g.received_on, g.gift_id)):
            line = IncomeLine(
                source=source.name,
                source_kind=source.kind,
                kind=g.kind,
                kind_label=GIFT_KINDS[g.kind],
                item=g.item,
                quantity=g.quantity,
                unit=g.unit,
                gifts=1,
                amount_fen=g.amount_fen,
                reversed_fen=g.reversed_fen,
                net_fen=g.net,
            )
            if source.kind == "organisation":
                named.append(
                    line.model_copy(update={"fund_id": fund.fund_id, "received_on": g.received_on})
                )
                continue
            key = (source.kind, g.kind, g.item, g.unit)
            if (was := pooled.get(key)) is not None:
                line = was.model_copy(
                    update={
                        "quantity": None
                        if g.quantity is None
                        else (was.quantity or 0) + g.quantity,
                        "gifts": was.gifts + 1,
                        "amount_fen": was.amount_fen + g.amount_fen,
                        "reversed_fen": was.reversed_fen + g.reversed_fen,
                        "net_fen": was.net_fen + g.net,
                    }
                )
            pooled[key] = line
    named.sort(key=lambda n: (n.received_on or date.min, n.source, n.fund_id or "", n.kind))
    return named + [pooled[k] for k in sorted(pooled, key=lambda k: (ORDER[k[0]], *map(str, k)))]


def _sources(funds: Sequence[tuple[Fund, Source]]) -> list[SourceTotal]:
    totals: dict[tuple[str, str], SourceTotal] = {}
    for fund, source in funds:
        cash = sum(g.net for g in fund.gifts.values() if g.kind == "cash")
        key = (source.kind, source.funder_id or source.name)
        was = totals.get(key) or SourceTotal(
            source=source, funds=0, pledged_fen=0, cash_fen=0, in_kind_fen=0, received_fen=0
        )
        totals[key] = was.model_copy(
            update={
                "funds": was.funds + 1,
                "pledged_fen": was.pledged_fen + fund.pledged_fen,
                "cash_fen": was.cash_fen + cash,
                "in_kind_fen": was.in_kind_fen + fund.received - cash,
                "received_fen": was.received_fen + fund.received,
            }
        )
    return sorted(totals.values(), key=lambda t: (ORDER[t.source.kind], -t.received_fen))


def _spending(fund: Fund, allocation_id: str | None = None) -> dict[str, Spending]:
    out: dict[str, Spending] = {}
    for d in fund.disbursements.values():
        if allocation_id is not None and d.allocation_id != allocation_id:
            continue
        was = out.get(d.purpose) or Spending(
            purpose=d.purpose,
            purpose_label=PURPOSES.get(d.purpose, d.purpose),
            payments=0,
            amount_fen=0,
            reversed_fen=0,
            net_fen=0,
        )
        out[d.purpose] = _add_spending(was, d.amount_fen, d.reversed_fen, 1)
    return out


def _add_spending(was: Spending, amount: int, reversed_: int, payments: int) -> Spending:
    return was.model_copy(
        update={
            "payments": was.payments + payments,
            "amount_fen": was.amount_fen + amount,
            "reversed_fen": was.reversed_fen + reversed_,
            "net_fen": was.net_fen + amount - reversed_,
        }
    )


def _merge_spending(parts: Iterable[Spending]) -> list[Spending]:
    out: dict[str, Spending] = {}
    for s in parts:
        was = out.get(s.purpose)
        out[s.purpose] = (
            s if was is None else _add_spending(was, s.amount_fen, s.reversed_fen, s.payments)
        )
    return [
        out[p] for p in sorted(out, key=lambda p: list(PURPOSES).index(p) if p in PURPOSES else 99)
    ]


def _allocation(
    fund: Fund, a: Allocation, source: Source, refs: Refs, outcomes: Outcomes
) -> AllocationLine:
    return AllocationLine(
        allocation_id=a.allocation_id,
        fund_id=fund.fund_id if source.kind == "organisation" else None,
        source=source.name,
        station_id=a.station_id,
        station_name=refs.station_name(a.station_id, a.region_code),
        township=refs.place(a.region_code),
        allocated_on=a.allocated_on,
        amount_fen=a.amount_fen,
        reversed_fen=a.reversed_fen,
        net_fen=a.net,
        disbursed_fen=a.disbursed_fen,
        undisbursed_fen=a.net - a.disbursed_fen,
        spending=_merge_spending(_spending(fund, a.allocation_id).values()),
        outcomes=outcomes,
    )


def _disclosure(funds: Sequence[Fund], refs: Refs, **shown: Any) -> Disclosure:
    """A disclosure of `funds` (`shown`: what names its subject): their sources, income,
    allocations and totals."""
    sourced = [(f, source_of(f, refs)) for f in funds]
    allocations: list[AllocationLine] = []
    for fund, source in sourced:
        outcomes = allocation_outcomes(fund)
        allocations += [
            _allocation(fund, a, source, refs, outcomes[a.allocation_id])
            for a in fund.allocations.values()
        ]
    allocations.sort(
        key=lambda a: (a.township.code, a.station_name, a.allocated_on, a.allocation_id)
    )
    cash = sum(g.net for f in funds for g in f.gifts.values() if g.kind == "cash")
    received = sum(f.received for f in funds)
    allocated = sum(f.allocated for f in funds)
    disbursed = sum(f.disbursed for f in funds)
    delivered = Outcomes()
    for line in allocations:
        delivered = delivered.plus(line.outcomes)
    totals = DisclosedTotals(
        pledged_fen=sum(f.pledged_fen for f in funds),
        received_fen=received,
        received_cash_fen=cash,
        received_in_kind_fen=received - cash,
        allocated_fen=allocated,
        disbursed_fen=disbursed,
        undisbursed_fen=allocated - disbursed,
        spending=_merge_spending(s for f in funds for s in _spending(f).values()),
        outcomes=delivered,
    )
    return Disclosure(
        sources=_sources(sourced),
        income=_income(sourced),
        allocations=allocations,
        totals=totals,
        **shown,
    )


def fund_disclosure(fund: Fund, refs: Refs, as_of: datetime | None) -> Disclosure:
    source = source_of(fund, refs)
    programme = (
        Named(id=fund.programme_id, name=refs.programme_name(fund.programme_id))
        if fund.programme_id
        else None
    )
    station = None
    if fund.station_id:
        known = refs.stations.get(fund.station_id)
        code = known.region_code if known else fund.region_code
        station = StationShown(
            station_id=fund.station_id,
            name=refs.station_name(fund.station_id, code),
            township=refs.place(code),
        )
    target = programme.name if programme else station.name if station else None
    kind = FUND_KINDS[fund.kind]
    return _disclosure(
        [fund],
        refs,
        subject="fund",
        title=f"{PERSONS.get(source.kind, source.name)}{kind}" + (f"：{target}" if target else ""),
        fund_id=fund.fund_id,
        fund_kind=kind,
        donor=source,
        programme=programme,
        station=station,
        region=refs.place(fund.region_code),
        period_start=fund.period_start,
        period_end=fund.period_end,
        as_of=as_of,
    )


def programme_disclosure(
    programme_id: str, funds: Sequence[Fund], refs: Refs, as_of: datetime | None
) -> Disclosure:
    name = refs.programme_name(programme_id)
    return _disclosure(
        funds,
        refs,
        subject="programme",
        title=f"{name}：慈善资金公开",
        programme=Named(id=programme_id, name=name),
        as_of=as_of,
    )


def yuan(fen: int, *, grouped: bool = False) -> str:
    """Fen as yuan with two decimals (分 exact: no float on the way)."""
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    whole = f"{fen // 100:,}" if grouped else str(fen // 100)
    return f"{sign}{whole}.{fen % 100:02d}"


def quantity(q: float | None) -> str:
    if q is None:
        return ""
    return str(int(q)) if q == int(q) else f"{q:.4f}".rstrip("0").rstrip(".")
