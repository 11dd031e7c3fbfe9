"""The station pages' rules: the API answers (registry, projector) shaped into the rows a
page shows; the slow sections' in `stations_sections`. Pure: no I/O, so each rule has a fast
test. Codes stay codes here; the templates turn them into words (`station.*` keys).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from console.domain.codes import AREAS

STATION_ROLES = ("station_worker", "social_worker")
OFFICIAL_ROLES = ("county_officer", "city_officer", "province_officer", "auditor", "admin")
PAGE_SIZE = 20
# The programme measures a station's targets and actuals are kept under (projector view
# `programmes`: target:<m> and actual:<m>).
PROGRAMME_MEASURES = ("backbones", "sessions", "person_times:elders")
MONEY_READERS = ("city_officer", "province_officer", "county_officer", "auditor", "admin")

_STATION_ID = re.compile(r"^st-(\d{9})$")
_REGION = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{9})$")  # province, city, county, township


def township_of(station_id: str) -> str | None:
    """The township code a station id was made from (`st-<township>`): a first guess, so
    its region's calls go out with the station's; a boundary change may have moved it."""
    m = _STATION_ID.match(station_id)
    return m.group(1) if m else None


def clean_region(value: str | None, scope: str) -> str:
    """The region a list shows: the one asked for when it is a code inside the person's
    scope, else their scope."""
    value = (value or "").strip()
    if value and _REGION.match(value) and value.startswith(scope):
        return value
    return scope


def station_bound(roles: Iterable[str]) -> bool:
    """Station staff (and nothing more): they see their own stations only."""
    held = set(roles)
    return bool(held & set(STATION_ROLES)) and not held & set(OFFICIAL_ROLES)


def page_number(value: str | int | None) -> int:
    try:
        n = int(value or 1)
    except (TypeError, ValueError):
        return 1
    return max(1, min(n, 10_000))


@dataclass(frozen=True)
class Pager:
    page: int
    pages: int
    total: int
    first: int  # 1-based number of the first row shown (0 when none)
    last: int

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def pager(total: int, page: int, size: int = PAGE_SIZE) -> Pager:
    pages = max(1, -(-total // size))
    page = min(page, pages)
    first = 0 if total == 0 else (page - 1) * size + 1
    return Pager(page, pages, total, first, min(total, page * size))


# -- the list ------------------------------------------------------------------------------


def stars_of(rating: Mapping[str, Any] | None) -> int | None:
    if not rating:
        return None
    try:
        stars = int(rating.get("stars") or 0)
    except (TypeError, ValueError):
        return None
    return stars if 1 <= stars <= 5 else None


@dataclass(frozen=True)
class StationRow:
    station_id: str
    name: str
    township: str  # Chinese names; "" when the registry could not say
    county: str
    kind: str
    status: str
    stars: int | None


def station_rows(
    stations: Iterable[Mapping[str, Any]], names: Mapping[str, str]
) -> list[StationRow]:
    """Registry stations with their township's and county's Chinese names (`names`: code ->
    name, for townships and counties)."""
    rows = []
    for s in stations:
        code = str(s.get("region_code") or "")
        rows.append(
            StationRow(
                station_id=str(s["station_id"]),
                name=str(s.get("name") or s["station_id"]),
                township=names.get(code, ""),
                county=names.get(code[:6], ""),
                kind=str(s.get("kind") or ""),
                status=str(s.get("status") or ""),
                stars=stars_of(s.get("rating")),
            )
        )
    return rows


def names_from_children(children: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    return {str(r["code"]): str(r["name"]) for r in children if r.get("code") and r.get("name")}


def names_from_region(region: Mapping[str, Any] | None) -> dict[str, str]:
    """A registry region with its ancestors, as code -> name."""
    if not region:
        return {}
    out = {str(a["code"]): str(a["name"]) for a in region.get("ancestors") or []}
    if region.get("code"):
        out[str(region["code"])] = str(region.get("name") or "")
    return out


@dataclass(frozen=True)
class RegionChoice:
    code: str
    name: str
    depth: int  # 0: the scope, 1: below it, ...; the picker indents by it
    current: bool


def region_choices(
    scope: str,
    current: Mapping[str, Any] | None,
    children: Iterable[Mapping[str, Any]],
) -> list[RegionChoice]:
    """The region picker: from the person's scope down to the region shown (its ancestors
    inside the scope), then the regions one level below it that hold stations (counties and
    above: a township is a station)."""
    if not current:
        return []
    chain = [
        a for a in [*(current.get("ancestors") or []), current] if str(a["code"]).startswith(scope)
    ]
    out = [
        RegionChoice(str(a["code"]), str(a["name"]), depth, str(a["code"]) == current["code"])
        for depth, a in enumerate(chain)
    ]
    if current.get("level") in ("province", "city"):
        out += [RegionChoice(str(c["code"]), str(c["name"]), len(chain), False) for c in children]
    return out


# -- the station page ------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    township: str
    county: str
    city: str


def place_of(region: Mapping[str, Any] | None) -> Place:
    if not region:
        return Place("", "", "")
    by_level = {a.get("level"): str(a.get("name") or "") for a in region.get("ancestors") or []}
    return Place(
        str(region.get("name") or ""), by_level.get("county", ""), by_level.get("city", "")
    )


@dataclass(frozen=True)
class Room:
    name: str
    village: str
    code: str


def rooms_of(station: Mapping[str, Any], listed: Sequence[Mapping[str, Any]] | None) -> list[Room]:
    """Rooms with their village's name (the registry's rooms route); before it answers, the
    station's own room list, whose default names are the village's + 社工室."""
    if listed is not None:
        return [
            Room(
                str(r.get("name") or ""),
                str(r.get("village_name") or ""),
                str(r["room_region_code"]),
            )
            for r in listed
        ]
    out = []
    for r in station.get("rooms") or []:
        name = str(r.get("name") or "")
        village = name.removesuffix("社工室") if name.endswith("社工室") else ""
        out.append(Room(name, village, str(r.get("room_region_code") or "")))
    return out


@dataclass(frozen=True)
class Worker:
    name: str
    certification: str
    general_practice: bool
    since: str | None


def workers_of(page: Mapping[str, Any], station_id: str) -> list[Worker]:
    """Social workers of the station, with the day their assignment here began."""
    out = []
    for w in page.get("items") or []:
        since = None
        for a in w.get("assignments") or []:
            if a.get("station_id") == station_id and a.get("from"):
                since = str(a["from"])
        out.append(
            Worker(
                name=str(w.get("name") or ""),
                certification=str(w.get("certification") or "none"),
                general_practice=bool(w.get("general_practice")),
                since=since,
            )
        )
    return out


@dataclass(frozen=True)
class HistoryRow:
    day: str | None
    what: str  # "status" or "rating"
    status: str | None = None
    stars: int | None = None
    reason: str = ""


def history_rows(history: Mapping[str, Any]) -> list[HistoryRow]:
    """Statuses and star ratings on one timeline, the latest first."""
    rows = [
        HistoryRow(
            s.get("since"), "status", status=str(s.get("status")), reason=str(s.get("reason") or "")
        )
        for s in history.get("status_history") or []
    ]
    rows += [
        HistoryRow(
            r.get("rated_on"), "rating", stars=stars_of(r), reason=str(r.get("reason") or "")
        )
        for r in history.get("rating_history") or []
    ]
    # Stable: rows of the same day keep their recorded order (a rating after the status).
    return sorted(rows, key=lambda r: str(r.day or ""), reverse=True)


# -- the station's figures from the views --------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str  # its word is station.fig.<key>
    value: int
    money: bool = False


# The views' counters a station shows, by view; the money ones are in fen (`_fen`).
FIGURES: dict[str, tuple[str, ...]] = {
    "activities": ("activities", "sessions", "person_times", "person_times:elders"),
    "people": ("social_workers",),
    "volunteers": ("volunteers", "backbone_designations", "elder_volunteers"),
    "training": ("supervision_visits", "rectification_open"),
    "money": ("received_fen", "allocated_fen", "disbursed_fen"),
}
# A counter's key where it is not the counter's own name.
FIGURE_KEYS = {"person_times:elders": "elder_person_times", "backbone_designations": "backbones"}
# The station page's grid leaves money to its own section.
PAGE_VIEWS = tuple(view for view in FIGURES if view != "money")


def figure_key(counter: str) -> str:
    return FIGURE_KEYS.get(counter, counter.removesuffix("_fen"))


def figures_of(
    views: Mapping[str, Mapping[str, Any] | None], which: Iterable[str] = tuple(FIGURES)
) -> list[Figure]:
    """The counters of the views answered, `which` of them in order (a view not answered is
    left out; a counter the view does not hold is 0)."""
    out = []
    for view in which:
        answer = views.get(view)
        if answer is None:
            continue
        totals = answer.get("totals") or {}
        out += [
            Figure(figure_key(c), int(totals.get(c, 0)), money=c.endswith("_fen"))
            for c in FIGURES[view]
        ]
    return out


def area_sessions(view: Mapping[str, Any] | None) -> list[tuple[str, int]]:
    """Sessions by service area from the activities view (`sessions:<area>`), in order."""
    totals = (view or {}).get("totals") or {}
    return [(a, int(totals.get(f"sessions:{a}", 0))) for a in AREAS if totals.get(f"sessions:{a}")]


@dataclass(frozen=True)
class Progress:
    measure: str  # backbones, sessions, person_times:elders
    target: int
    actual: int

    @property
    def ratio(self) -> float | None:
        return self.actual / self.target if self.target else None


def progress_of(view: Mapping[str, Any] | None) -> list[Progress]:
    """The station's programme targets beside what it did (projector view `programmes`)."""
    totals = (view or {}).get("totals") or {}
    if not totals.get("enrolled"):
        return []
    return [
        Progress(m, int(totals.get(f"target:{m}", 0)), int(totals.get(f"actual:{m}", 0)))
        for m in PROGRAMME_MEASURES
        if f"target:{m}" in totals or f"actual:{m}" in totals
    ]


def progress_chart(rows: Sequence[Progress], labels: Mapping[str, str]) -> dict[str, Any]:
    """The chart's data: one bar pair per measure (target, actual)."""
    return {
        "labels": [labels.get(r.measure, r.measure) for r in rows],
        "target": [r.target for r in rows],
        "actual": [r.actual for r in rows],
        "names": [labels.get("target", "target"), labels.get("actual", "actual")],
    }
