"""The officials' work queues, shaped from the services' answers into page rows: activities
held and waiting for verification (审核), volunteers' hours waiting for approval (审批),
corrections into a closed month waiting for approval (已锁定月份的更正), and supervision
items past their deadline (逾期整改事项).

Who sees and acts on which queue follows the permission table (`wushe.permissions`): an
official verifies activities; only the organising station's staff approve hours (an
official watches them wait); only a city or province official approves a correction (the
county closed the month); overdue items are read here and closed on the station's page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

OFFICERS = frozenset({"county_officer", "city_officer", "province_officer"})
ABOVE_COUNTY = frozenset({"city_officer", "province_officer"})
STATION_STAFF = frozenset({"station_worker", "social_worker"})
QUEUES = ("verification", "hours", "corrections", "overdue")
# What a form may name: the services' ids are letters, digits, '-' and '_' (an id goes into
# an API path: nothing else may reach it).
ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
ROW = re.compile(r"^[A-Za-z0-9_-]{1,80}(:[A-Za-z0-9_-]{1,80})?$")  # a correction: activity:cor


@dataclass(frozen=True)
class Permits:
    """The queues a person sees, and those they may act on."""

    verification: bool = False
    verify: bool = False
    hours: bool = False
    approve_hours: bool = False
    corrections: bool = False
    approve_corrections: bool = False
    overdue: bool = False

    @property
    def any(self) -> bool:
        return self.verification or self.hours or self.corrections or self.overdue

    def shows(self, queue: str) -> bool:
        return bool(getattr(self, queue, False))


def permits(roles: Iterable[str]) -> Permits:
    held = set(roles)
    if "admin" in held:  # every role of its province
        held |= OFFICERS | STATION_STAFF
    official = bool(held & OFFICERS)
    staff = bool(held & STATION_STAFF)
    return Permits(
        verification=official,
        verify=official,
        hours=official or staff,
        approve_hours=staff,
        corrections=official,
        approve_corrections=bool(held & ABOVE_COUNTY),
        overdue=official or staff,
    )


def valid_id(value: str | None) -> bool:
    return bool(value) and ID.fullmatch(value or "") is not None


@dataclass(frozen=True)
class Place:
    """Where a row lies, by name: the station and its county (区县)."""

    station_id: str
    station: str | None  # None: the registry did not name it
    county: str | None


@dataclass(frozen=True)
class Known:
    """What the rows are named and judged by: station id -> name, county code -> name,
    today, county code -> the month it is closed through, and station id -> region code
    (for the rows that carry no region)."""

    stations: Mapping[str, str]
    counties: Mapping[str, str]
    today: date
    closed: Mapping[str, str] = field(default_factory=dict)
    regions: Mapping[str, str] = field(default_factory=dict)

    def place(self, station_id: str, region_code: str) -> Place:
        return Place(station_id, self.stations.get(station_id), self.counties.get(region_code[:6]))

    def place_of(self, facts: Mapping[str, Any]) -> Place:
        """Where a record lies, from its facts (their station_id and region_code)."""
        return self.place(str(facts.get("station_id", "")), str(facts.get("region_code", "")))

    def waited(self, since: date | None) -> int | None:
        return None if since is None else max(0, (self.today - since).days)

    def locked(self, facts: Mapping[str, Any], *days: date | None) -> bool:
        return locked(str(facts.get("region_code", "")), days, self.closed)


def closed_through(items: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """county code -> the month its figures are closed through (数据已锁定), from the
    registry's `GET /closed-months`."""
    return {
        str(c["region_code"]): str(c["closed_through"])
        for c in items
        if c.get("region_code") and c.get("closed_through")
    }


def locked(region_code: str, days: Iterable[date | None], closed: Mapping[str, str]) -> bool:
    """Whether any of the days lies in a month the region's county has closed: a write there
    is refused (409) until a city or province official reopens the month."""
    through = closed.get(region_code[:6])
    return bool(through) and any(d is not None and f"{d:%Y-%m}" <= str(through) for d in days)


def _day(value: Any) -> date | None:
    if not value:
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def person_times(counts: Mapping[str, Any] | None) -> int:
    if not counts:
        return 0
    return sum(int(v) for v in (counts.get("person_times") or {}).values())


@dataclass(frozen=True)
class VerificationRow:
    activity_id: str
    place: Place
    activity_date: date | None
    held_on: date | None
    service_area: str
    kind: str
    sessions: int
    person_times: int
    waiting_days: int | None
    locked: bool = False  # in a closed month: no longer verifiable


def verification_rows(items: Iterable[Mapping[str, Any]], known: Known) -> list[VerificationRow]:
    """Held activities not yet verified: those still verifiable first, the longest waiting
    first; then those a closed month holds."""
    rows = []
    for a in items:
        if a.get("status") != "held":
            continue
        facts = a.get("facts") or {}
        counts = a.get("counts") or {}
        held_on = _day(a.get("held_on"))
        activity_date = _day(facts.get("activity_date"))
        rows.append(
            VerificationRow(
                activity_id=str(a["activity_id"]),
                place=known.place_of(facts),
                activity_date=activity_date,
                held_on=held_on,
                service_area=str(facts.get("service_area", "")),
                kind=str(facts.get("kind", "")),
                sessions=int(counts.get("sessions") or 0),
                person_times=person_times(counts),
                waiting_days=known.waited(held_on),
                locked=known.locked(facts, activity_date, held_on),
            )
        )
    return sorted(rows, key=lambda r: (r.locked, r.held_on or date.max, r.activity_id))


@dataclass(frozen=True)
class HoursRow:
    volunteer_id: str
    attendance_id: str
    volunteer_name: str | None  # masked by the service (张*); None: of another region
    place: Place  # the organising station
    service_date: date | None
    minutes: int
    source: str  # "activity" or "shift"
    check_in: str | None  # HH:MM, China time as recorded
    check_out: str | None
    waiting_days: int | None
    locked: bool = False  # in a closed month: no longer approvable


def _clock(value: Any) -> str | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).strftime("%H:%M")
    except ValueError:
        return None


def hours_rows(items: Iterable[Mapping[str, Any]], known: Known) -> list[HoursRow]:
    """Recorded hours waiting for the organising station's approval: those still approvable
    first, the oldest first."""
    rows = []
    for w in items:
        service = w.get("service") or {}
        served = _day(w.get("service_date"))
        rows.append(
            HoursRow(
                volunteer_id=str(w.get("volunteer_id", "")),
                attendance_id=str(w.get("attendance_id", "")),
                volunteer_name=w.get("volunteer_name"),
                place=known.place_of(service),
                service_date=served,
                minutes=int(w.get("minutes") or 0),
                source=str(service.get("source", "")),
                check_in=_clock(w.get("check_in")),
                check_out=_clock(w.get("check_out")),
                waiting_days=known.waited(served),
                locked=known.locked(service, served),
            )
        )
    return sorted(rows, key=lambda r: (r.locked, r.service_date or date.max, r.attendance_id))


def hours(minutes: int) -> str:
    """Minutes as hours with at most one decimal: 150 -> "2.5", 120 -> "2"."""
    text = f"{minutes / 60:.1f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class CorrectionRow:
    activity_id: str
    correction_id: str
    place: Place
    activity_date: date | None
    closed_month: str
    reason_code: str
    note: str
    sessions_before: int
    sessions_after: int
    person_times_before: int
    person_times_after: int
    proposed_on: date | None
    waiting_days: int | None

    @property
    def key(self) -> str:
        """The row's name in a redirect: its activity and correction."""
        return f"{self.activity_id}:{self.correction_id}"


def correction_rows(items: Iterable[Mapping[str, Any]], known: Known) -> list[CorrectionRow]:
    """One row per correction waiting for approval (an activity may have several), the
    longest waiting first."""
    rows = []
    for a in items:
        facts = a.get("facts") or {}
        counts = a.get("counts") or {}
        where = known.place_of(facts)
        for p in a.get("pending_corrections") or []:
            proposed = p.get("counts") or {}
            proposed_on = _day(p.get("proposed_on"))
            rows.append(
                CorrectionRow(
                    activity_id=str(a["activity_id"]),
                    correction_id=str(p.get("correction_id", "")),
                    place=where,
                    activity_date=_day(facts.get("activity_date")),
                    closed_month=str(p.get("closed_month", "")),
                    reason_code=str(p.get("reason_code", "")),
                    note=str(p.get("note", "")),
                    sessions_before=int(counts.get("sessions") or 0),
                    sessions_after=int(proposed.get("sessions") or 0),
                    person_times_before=person_times(counts),
                    person_times_after=person_times(proposed),
                    proposed_on=proposed_on,
                    waiting_days=known.waited(proposed_on),
                )
            )
    return sorted(rows, key=lambda r: (r.proposed_on or date.max, r.activity_id, r.correction_id))


@dataclass(frozen=True)
class OverdueRow:
    item_id: str
    place: Place
    category: str
    description: str
    deadline: date | None
    days_overdue: int


def overdue_rows(items: Iterable[Mapping[str, Any]], known: Known) -> list[OverdueRow]:
    """Open rectification items past their deadline, the most overdue first."""
    rows = []
    for o in items:
        item = o.get("item") or {}
        sid = str(o.get("station_id", ""))
        rows.append(
            OverdueRow(
                item_id=str(item.get("item_id", "")),
                place=known.place(sid, known.regions.get(sid, "")),
                category=str(item.get("category", "")),
                description=str(item.get("description", "")),
                deadline=_day(item.get("deadline")),
                days_overdue=int(o.get("days_overdue") or 0),
            )
        )
    return sorted(rows, key=lambda r: (-r.days_overdue, r.item_id))


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Action:
    """Acting on a row: a POST without a body (who acts, as which office, is the person's
    token) to its service's path, the path's {fields} filled from the ids the row's form
    posts; `row` names the row in the redirect back."""

    service: str
    path: str
    row: str

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.path))


ACTIONS = {
    # verify a held activity (审核)
    "verification": Action(
        "activities", "/activities/{activity_id}/verification", row="{activity_id}"
    ),
    # approve recorded hours (审批)
    "hours": Action(
        "volunteers",
        "/volunteers/{volunteer_id}/attendances/{attendance_id}/approve",
        row="{attendance_id}",
    ),
    # approve a correction into a closed month
    "corrections": Action(
        "activities",
        "/activities/{activity_id}/corrections/{correction_id}/approval",
        row="{activity_id}:{correction_id}",
    ),
}


# --------------------------------------------------------------------------- refusals

# A service's refusal (its problem type's last word, or its status) -> the words shown on
# the row: why, in the person's language, never the service's English detail alone.
REFUSALS = {
    "separation-of-duties": "queues.refused.duties",
    "role-not-permitted": "queues.refused.role",
    "out-of-scope": "queues.refused.scope",
    "period-closed": "queues.refused.closed",
    "not-found": "queues.refused.gone",
    "conflict": "queues.refused.conflict",
    "invalid-field": "queues.refused.invalid",
    "unavailable": "queues.refused.unavailable",
}
BY_STATUS = {403: "role-not-permitted", 404: "not-found", 409: "conflict", 422: "invalid-field"}


def refusal(status: int, kind: str) -> str:
    """The refusal's short name (what the redirect carries): its problem type when known,
    else what its status says."""
    if kind in REFUSALS:
        return kind
    if status >= 500 or status == 0:
        return "unavailable"
    return BY_STATUS.get(status, "invalid-field")


def refusal_word(name: str | None) -> str:
    return REFUSALS.get(name or "", REFUSALS["invalid-field"])


@dataclass(frozen=True)
class Outcome:
    """What the last action on a row did, carried by the redirect back to the queue."""

    queue: str
    row: str
    refused: str | None = None  # a refusal's short name; None: done

    @property
    def done(self) -> bool:
        return self.refused is None

    @property
    def word(self) -> str:
        return f"queues.done.{self.queue}" if self.done else refusal_word(self.refused)


def outcome(queue: str | None, row: str | None, refused: str | None) -> Outcome | None:
    """The outcome a redirect's query names, or None when it names nothing valid (a hand-made
    URL shows nothing, never a made-up message)."""
    if queue not in QUEUES or not row or ROW.fullmatch(row) is None:
        return None
    if refused is not None and refused not in REFUSALS:
        refused = "invalid-field"
    return Outcome(str(queue), str(row), refused)


def back_to_queue(
    queue: str, row: str, *, refused: str | None = None, station: str | None = None
) -> str:
    """The queue page after an action: which row, what happened, the same station filter."""
    query = [f"queue={queue}", f"row={row}"]
    if refused:
        query.append(f"refused={refused}")
    if station and valid_id(station):
        query.append(f"station={station}")
    return "/queues?" + "&".join(query) + f"#q-{queue}"
