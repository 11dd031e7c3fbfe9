"""The station page's sections from slow or many-row listings: activities as a timeline by
service area, volunteers and backbones, training and supervision, and money. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from console.domain.codes import AREAS, GROUPS

# -- activities as a timeline by service area ----------------------------------------------


@dataclass(frozen=True)
class ActivityRow:
    activity_id: str
    day: str
    kind: str
    status: str
    themes: tuple[str, ...]
    sessions: int
    person_times: int
    groups: tuple[tuple[str, int], ...]  # (group, person-times), the page's order
    societies: tuple[str, ...]


@dataclass
class AreaGroup:
    area: str
    activities: list[ActivityRow] = field(default_factory=list)
    sessions: int = 0
    person_times: int = 0


def activity_row(a: Mapping[str, Any]) -> ActivityRow:
    facts = a.get("facts") or {}
    counts = a.get("counts") or {}
    by_group = counts.get("person_times") or {}
    held = a.get("status") in ("held", "verified")
    return ActivityRow(
        activity_id=str(a.get("activity_id") or facts.get("activity_id") or ""),
        day=str(a.get("held_on") or facts.get("activity_date") or ""),
        kind=str(facts.get("kind") or ""),
        status=str(a.get("status") or ""),
        themes=tuple(str(t) for t in facts.get("themes") or ()),
        sessions=int(counts.get("sessions") or 0) if held else 0,
        person_times=sum(int(v or 0) for v in by_group.values()) if held else 0,
        groups=tuple((g, int(by_group[g])) for g in GROUPS if by_group.get(g)) if held else (),
        societies=tuple((a.get("linkage") or {}).get("societies") or ()),
    )


def timeline(activities: Iterable[Mapping[str, Any]]) -> list[AreaGroup]:
    """Activities by service area (the four in their order, then local specialities; an
    area with none is left out), each the latest first, with the sessions and person-times
    of those held (cancelled and planned ones count nothing)."""
    groups: dict[str, AreaGroup] = {}
    for a in activities:
        area = str((a.get("facts") or {}).get("service_area") or "local_speciality")
        row = activity_row(a)
        g = groups.setdefault(area, AreaGroup(area))
        g.activities.append(row)
        g.sessions += row.sessions
        g.person_times += row.person_times
    for g in groups.values():
        g.activities.sort(key=lambda r: (r.day, r.activity_id), reverse=True)
    known = [groups.pop(area) for area in AREAS if area in groups]
    return known + [groups[k] for k in sorted(groups)]


# -- volunteers and backbones ------------------------------------------------------------


@dataclass(frozen=True)
class VolunteerRow:
    name: str
    age_band: str
    elder: bool
    skills: tuple[str, ...]
    registered_on: str | None
    backbone: tuple[tuple[str, str], ...]  # (programme name, since)
    status: str


def volunteer_rows(
    volunteers: Iterable[Mapping[str, Any]], programme_names: Mapping[str, str]
) -> list[VolunteerRow]:
    """Volunteers, backbones first (the longest-standing first), then by registration."""
    rows = []
    for v in volunteers:
        backbone = tuple(
            (
                programme_names.get(str(b.get("programme_id")), str(b.get("programme_id") or "")),
                str(b.get("since") or ""),
            )
            for b in v.get("backbone") or []
        )
        rows.append(
            VolunteerRow(
                name=str(v.get("name") or ""),
                age_band=str(v.get("age_band") or ""),
                elder=bool(v.get("elder_volunteer")),
                skills=tuple(str(s) for s in v.get("skills") or ()),
                registered_on=v.get("registered_on"),
                backbone=backbone,
                status=str(v.get("status") or ""),
            )
        )

    def order(r: VolunteerRow) -> tuple[int, str, str]:
        since = min((s for _, s in r.backbone), default="")
        return (0 if r.backbone else 1, since, str(r.registered_on or ""))

    return sorted(rows, key=order)


# -- training and supervision ------------------------------------------------------------


@dataclass(frozen=True)
class OpenItem:
    category: str
    description: str
    deadline: str
    month: str  # of the visit that raised it
    overdue: bool
    days_overdue: int
    days_left: int = 0


def open_item(item: Mapping[str, Any], deadline: str, month: str, **late: Any) -> OpenItem:
    """An item as the page lists it; `late`: whether and by how much it is overdue."""
    return OpenItem(
        category=str(item.get("category") or "other"),
        description=str(item.get("description") or ""),
        deadline=deadline,
        month=month,
        **late,
    )


def open_items(visits: Iterable[Mapping[str, Any]], today: date) -> list[OpenItem]:
    """Rectification items (整改事项) still open, the most overdue first; past its deadline
    an item is 逾期."""
    out = []
    for v in visits:
        for item in v.get("items") or []:
            if item.get("closed_on"):
                continue
            deadline = date.fromisoformat(str(item["deadline"])[:10])
            days = (today - deadline).days
            month = str(v.get("month") or "")
            late = {"overdue": days > 0, "days_overdue": max(0, days), "days_left": max(0, -days)}
            out.append(open_item(item, deadline.isoformat(), month, **late))
    return sorted(out, key=lambda i: (i.deadline, i.description))


def overdue_as_items(overdue: Iterable[Mapping[str, Any]], station_id: str) -> list[OpenItem]:
    """The training service's overdue list (`GET /supervision/overdue`) for one station: what
    a page shows while the station's own visit list is not served."""
    out = []
    for o in overdue:
        if o.get("station_id") != station_id:
            continue
        item = o.get("item") or {}
        month = str(item.get("item_id") or "").removeprefix(f"sv-{station_id}-")[:7]
        days = int(o.get("days_overdue") or 0)
        deadline = str(item.get("deadline") or "")
        out.append(open_item(item, deadline, month, overdue=True, days_overdue=days))
    return sorted(out, key=lambda i: (i.deadline, i.description))


@dataclass(frozen=True)
class VisitRow:
    month: str
    status: str
    visited_on: str | None
    steps_done: int  # of the five checklist steps
    findings: tuple[str, ...]
    items: int
    items_open: int
    items_late: int  # closed after the deadline, or open past it


def visit_rows(visits: Iterable[Mapping[str, Any]], today: date) -> list[VisitRow]:
    rows = []
    for v in visits:
        items = list(v.get("items") or [])
        open_ = [i for i in items if not i.get("closed_on")]
        late = 0
        for i in items:
            deadline = str(i.get("deadline") or "")
            closed = i.get("closed_on")
            if (closed and str(closed) > deadline) or (not closed and today.isoformat() > deadline):
                late += 1
        checklist = v.get("checklist") or {}
        rows.append(
            VisitRow(
                month=str(v.get("month") or ""),
                status=str(v.get("status") or ""),
                visited_on=v.get("visited_on"),
                steps_done=sum(1 for done in checklist.values() if done),
                findings=tuple(str(f) for f in v.get("findings") or ()),
                items=len(items),
                items_open=len(open_),
                items_late=late,
            )
        )
    return sorted(rows, key=lambda r: r.month, reverse=True)


@dataclass(frozen=True)
class SessionRow:
    day: str
    kind: str
    mode: str
    hours: float
    held_for: str  # region code the session was held for
    person_times: int  # of this station
    attendee_hours: float


def session_rows(sessions: Iterable[Mapping[str, Any]]) -> list[SessionRow]:
    rows = []
    for s in sessions:
        facts = s.get("facts") or {}
        rows.append(
            SessionRow(
                day=str(facts.get("session_date") or ""),
                kind=str(facts.get("kind") or ""),
                mode=str(facts.get("mode") or ""),
                hours=float(facts.get("hours") or 0),
                held_for=str(facts.get("region_code") or ""),
                person_times=int(s.get("person_times") or 0),
                attendee_hours=float(s.get("attendee_hours") or 0),
            )
        )
    return sorted(rows, key=lambda r: r.day, reverse=True)


# -- money ---------------------------------------------------------------------------------


@dataclass
class MoneyRow:
    """One allocation of a fund to this station: from whom, how much, what was paid out (by
    purpose), and what the activities it funded delivered."""

    fund_id: str
    funder_id: str
    donor: str
    programme: str
    allocated_on: str
    allocated_fen: int
    disbursed_fen: int
    purposes: list[tuple[str, int]] = field(default_factory=list)
    activities: int = 0
    person_times: int = 0


def money_rows(
    funds: Iterable[Mapping[str, Any]],
    station_id: str,
    donors: Mapping[str, str],
    programmes: Mapping[str, str],
    outcomes: Mapping[str, Mapping[str, int]],
) -> list[MoneyRow]:
    """The station's allocations from the donations service's funds, net of reversals, with
    disbursements by purpose and, from the lineage view (`outcomes`: allocation id ->
    counters), what was delivered with them."""
    rows = []
    for fund in funds:
        paid: dict[str, dict[str, int]] = {}
        for d in fund.get("disbursements") or []:
            net = int(d.get("amount_fen") or 0) - int(d.get("reversed_fen") or 0)
            by = paid.setdefault(str(d.get("allocation_id")), {})
            purpose = str(d.get("purpose") or "other")
            by[purpose] = by.get(purpose, 0) + net
        for a in fund.get("allocations") or []:
            if a.get("station_id") != station_id:
                continue
            aid = str(a.get("allocation_id"))
            outcome = outcomes.get(aid, {})
            rows.append(
                MoneyRow(
                    fund_id=str(fund.get("fund_id")),
                    funder_id=str(fund.get("funder_id") or ""),
                    donor=donors.get(str(fund.get("donor_id")), ""),
                    programme=programmes.get(str(fund.get("programme_id")), ""),
                    allocated_on=str(a.get("allocated_on") or ""),
                    allocated_fen=int(a.get("amount_fen") or 0) - int(a.get("reversed_fen") or 0),
                    disbursed_fen=int(a.get("disbursed_fen") or 0),
                    purposes=sorted(paid.get(aid, {}).items(), key=lambda p: -p[1]),
                    activities=int(outcome.get("activities", 0)),
                    person_times=int(outcome.get("person_times", 0)),
                )
            )
    return sorted(rows, key=lambda r: r.allocated_on, reverse=True)


def outcomes_of(lineages: Iterable[Mapping[str, Any] | None]) -> dict[str, dict[str, int]]:
    """Allocation id -> what its funded activities delivered, from lineage answers."""
    out: dict[str, dict[str, int]] = {}
    for answer in lineages:
        for a in (answer or {}).get("allocations") or []:
            out[str(a.get("allocation_id"))] = {
                str(k): int(v) for k, v in (a.get("outcomes") or {}).items()
            }
    return out


def purposes_total(rows: Iterable[MoneyRow]) -> list[tuple[str, int]]:
    """What the station's money was spent on, all allocations together, the most first."""
    out: dict[str, int] = {}
    for r in rows:
        for purpose, fen in r.purposes:
            out[purpose] = out.get(purpose, 0) + fen
    return sorted(out.items(), key=lambda p: (-p[1], p[0]))
