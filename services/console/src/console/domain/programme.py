"""The programme dashboard's rules (蓝马甲 view): which region and day a page shows, the pace
of each measure, and the projector's answers shaped into the rows and chart data a page
shows. Pure: no I/O, so every rule here has a fast test.

Pace is actual ÷ what should be done by the day (target × the share of the programme's
period elapsed), computed as the projector computes it, so a page and the API agree.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

# Below this pace a station is lagging (the projector's `lag_ratio`: its lagging list).
LAG_RATIO = 0.8
# A region's pace shown as 滞后 below this, 超前 at or above AHEAD, 按期 between.
BEHIND = 0.95
AHEAD = 1.05
# The monthly chart asks one month end per call: at most this many, the latest.
MAX_MONTHS = 24

BANDS = ("far_behind", "lagging", "on_track", "ahead")  # the map's colours, slowest first

LEVELS = {2: "province", 4: "city", 6: "county"}
CHILD_LEVEL = {"province": "city", "city": "county", "county": "station"}


@dataclass(frozen=True)
class Measure:
    key: str  # the page's name for it (data-figure="...")
    api: str  # the projector's name for it (totals / per_station keys)
    word: str  # its label's key in the words


MEASURES = (
    Measure("backbones", "backbones", "programme.backbones"),
    Measure("sessions", "sessions", "programme.sessions"),
    Measure("elder_person_times", "person_times:elders", "programme.elder_person_times"),
)


# -- which programme, region and day ---------------------------------------------------


@dataclass(frozen=True)
class Programme:
    programme_id: str
    name: str
    region_code: str
    start: date
    end: date


def programmes_from(page: Mapping[str, Any]) -> list[Programme]:
    """The registry's `GET /programmes` answer as programmes (those without a period skipped)."""
    out = []
    for item in page.get("items", []):
        try:
            out.append(
                Programme(
                    programme_id=str(item["programme_id"]),
                    name=str(item.get("name") or item["programme_id"]),
                    region_code=str(item.get("region_code") or ""),
                    start=date.fromisoformat(str(item["start_date"])[:10]),
                    end=date.fromisoformat(str(item["end_date"])[:10]),
                )
            )
        except (KeyError, ValueError):
            continue
    return out


def pick_programme(
    programmes: list[Programme], wanted: str | None, region: str, day: date
) -> Programme | None:
    """The programme asked for; else the one of the region (its province) running on the
    day; else the region's latest; else any. None when the person sees no programme."""
    if wanted:
        return next((p for p in programmes if p.programme_id == wanted), None)
    if not programmes:
        return None
    covering = [
        p
        for p in programmes
        if region.startswith(p.region_code) or p.region_code.startswith(region)
    ]
    pool = covering or programmes
    running = [p for p in pool if p.start <= day <= p.end]
    return max(running or pool, key=lambda p: (p.start, p.programme_id))


def level_of(code: str) -> str | None:
    """province, city or county from a region code's length; None for anything else."""
    return LEVELS.get(len(code)) if code.isdigit() else None


def within(code: str, scope: str) -> bool:
    """Whether a region lies in a person's scope (codes are prefixes of their parts)."""
    return bool(scope) and scope.isdigit() and code.startswith(scope)


def default_region(scope: str, programme: Programme | None) -> str:
    """The person's own scope; for a scope wider than a province (the nation) the
    programme's province."""
    if level_of(scope) is not None:
        return scope
    if programme is not None and programme.region_code:
        return programme.region_code[:2]
    return scope


def parse_day(text: str | None, today: date) -> tuple[date, bool]:
    """The as-of day from the query (default today) and whether the text was refused."""
    if not text:
        return today, False
    try:
        return date.fromisoformat(text.strip()), False
    except ValueError:
        return today, True


def month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def month_ends(start: date, end: date, as_of: date) -> list[date]:
    """The month ends of the programme before the as-of day (the chart's points; the as-of
    day itself is the last point), the latest MAX_MONTHS."""
    out = []
    d = month_end(start)
    while d < as_of and d <= end:
        out.append(d)
        nxt = d.replace(day=1)
        nxt = date(nxt.year + (nxt.month == 12), nxt.month % 12 + 1, 1)
        d = month_end(nxt)
    return out[-MAX_MONTHS:]


def elapsed(start: date, end: date, day: date) -> float:
    """The share of the programme's period elapsed on a day (as the projector counts it)."""
    span = max(1, (end - start).days)
    return min(1.0, max(0.0, (day - start).days / span))


# -- pace ------------------------------------------------------------------------------


def pace_of(actual: float, target: float, elapsed_share: float) -> float | None:
    """actual ÷ (target × elapsed); None when nothing is due yet (no target, or day one)."""
    if not target or elapsed_share <= 0:
        return None
    return actual / (target * elapsed_share)


def mark(pace: float | None) -> str:
    """lagging (滞后), ahead (超前), on_track (按期) or none (nothing due yet)."""
    if pace is None:
        return "none"
    if pace < BEHIND:
        return "lagging"
    if pace >= AHEAD:
        return "ahead"
    return "on_track"


def worst(paces: Iterable[float | None]) -> float | None:
    """A region's or station's pace: its slowest measure (as the projector ranks stations)."""
    known = [p for p in paces if p is not None]
    return min(known) if known else None


# -- rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One measure of one region or station."""

    measure: Measure
    actual: int
    target: int
    expected: float  # what should be done by the day
    pace: float | None

    @property
    def done(self) -> float | None:
        """Percent done as a ratio (actual ÷ target)."""
        return self.actual / self.target if self.target else None

    @property
    def mark(self) -> str:
        return mark(self.pace)

    @property
    def meter_low(self) -> float:
        """Below this the meter shows lagging (the lagging stations' threshold)."""
        return round(self.expected * LAG_RATIO, 1)

    @property
    def meter_high(self) -> float:
        """At or above this the meter shows on track."""
        return round(self.expected * BEHIND, 1)


def figures_of(measures: Mapping[str, Mapping[str, float]], elapsed_share: float) -> list[Figure]:
    """The three measures from a projector `totals` (or one station's figures)."""
    out = []
    for m in MEASURES:
        values = measures.get(m.api) or {}
        target = float(values.get("target", 0) or 0)
        actual = float(values.get("actual", 0) or 0)
        out.append(
            Figure(
                measure=m,
                actual=round(actual),
                target=round(target),
                expected=round(target * elapsed_share, 1),
                pace=pace_of(actual, target, elapsed_share),
            )
        )
    return out


@dataclass(frozen=True)
class Row:
    """A child of the region (a city, a county or a station) side by side with the others."""

    code: str
    name: str
    href: str
    figures: list[Figure]
    stations: int | None = None
    lagging: int | None = None  # its lagging stations
    approved_through: str | None = None  # a county's closed months (YYYY-MM)

    @property
    def pace(self) -> float | None:
        return worst(f.pace for f in self.figures)

    @property
    def mark(self) -> str:
        return mark(self.pace)


def page_url(region: str, as_of: date, programme: str | None = None) -> str:
    query = {"region": region, "as_of": as_of.isoformat()}
    if programme:
        query["programme"] = programme
    return "/programme?" + urlencode(query)


def station_url(station_id: str) -> str:
    return f"/stations/{station_id}"


def region_rows(
    children: Sequence[Mapping[str, Any]],
    answers: Mapping[str, Mapping[str, Any]],
    *,
    as_of: date,
    programme: str | None,
    approved: Mapping[str, str] | None = None,
) -> list[Row]:
    """Cities or counties from the registry's children and each one's progress answer
    (children the programme does not reach are left out), slowest first."""
    rows = []
    for child in children:
        code = str(child["code"])
        answer = answers.get(code)
        if not answer or not answer.get("stations"):
            continue
        rows.append(
            Row(
                code=code,
                name=str(child.get("name") or code),
                href=page_url(code, as_of, programme),
                figures=figures_of(answer.get("totals", {}), float(answer.get("elapsed", 0))),
                stations=int(answer.get("stations", 0)),
                lagging=counted(answer.get("lagging")),
                approved_through=(approved or {}).get(code),
            )
        )
    return sorted(rows, key=_slowest_first)


def counted(lagging: Any) -> int:
    """Lagging stations: listed (a region's own answer) or counted (a part of one)."""
    return lagging if isinstance(lagging, int) else len(lagging or [])


def county_guess(station_id: str) -> str | None:
    """The county a station's id names (`st-<township code>`: where it opened), if any."""
    code = station_id.removeprefix("st-")
    return code[:6] if station_id.startswith("st-") and len(code) == 9 and code.isdigit() else None


def group_answers(
    groups: Mapping[str, Mapping[str, Any]], elapsed_share: float
) -> dict[str, dict[str, Any]]:
    """The children's parts of a progress answer asked `by` their level, each shaped as the
    child's own answer (its lagging stations counted, not listed)."""
    return {str(code): {**part, "elapsed": elapsed_share} for code, part in groups.items()}


def station_rows(
    per_station: Mapping[str, Mapping[str, Mapping[str, float]]],
    names: Mapping[str, str],
    elapsed_share: float,
) -> list[Row]:
    """A county's stations from the progress answer's `per_station`, slowest first."""
    rows = [
        Row(
            code=station_id,
            name=names.get(station_id, ""),
            href=station_url(station_id),
            figures=figures_of(measures, elapsed_share),
        )
        for station_id, measures in per_station.items()
    ]
    return sorted(rows, key=_slowest_first)


def _slowest_first(row: Row) -> tuple[float, str]:
    return (row.pace if row.pace is not None else float("inf"), row.code)


@dataclass(frozen=True)
class Lagging:
    station_id: str
    name: str
    county: str
    href: str
    pace: float
    figures: list[Figure] = field(default_factory=list)  # when the page has them


def lagging_rows(
    lagging: Sequence[Mapping[str, Any]],
    stations: Mapping[str, tuple[str, str]],
    county_names: Mapping[str, str],
    per_station: Mapping[str, Mapping[str, Mapping[str, float]]],
    elapsed_share: float,
) -> list[Lagging]:
    """The projector's lagging stations (slowest first) with their names and counties;
    `stations` maps a station id to (name, region code)."""
    out = []
    for item in lagging:
        sid = str(item["station_id"])
        name, region_code = stations.get(sid, ("", ""))
        measures = per_station.get(sid)
        out.append(
            Lagging(
                station_id=sid,
                name=name,
                county=county_names.get(region_code[:6], ""),
                href=station_url(sid),
                pace=float(item["pace"]),
                figures=figures_of(measures, elapsed_share) if measures else [],
            )
        )
    return out


def crumbs(
    region: Mapping[str, Any], scope: str, as_of: date, programme: str | None
) -> list[tuple[str, str | None]]:
    """Province → city → county down to the region, from the registry's `GET /regions/{code}`
    (its ancestors): (name, link); no link for the region itself nor above the scope."""
    out: list[tuple[str, str | None]] = []
    for part in [*region.get("ancestors", []), region]:
        code = str(part["code"])
        if level_of(code) is None:  # the nation, when the registry lists it
            continue
        here = code == str(region["code"])
        link = None if here or not within(code, scope) else page_url(code, as_of, programme)
        out.append((str(part.get("name") or code), link))
    return out


# -- closed months ---------------------------------------------------------------------


def approved_summary(approved: Mapping[str, str], region: str) -> tuple[int, str | None]:
    """How many counties of the region closed a month, and the latest month all of them
    closed (the earliest approved-through among them), from the view's `approved_through`."""
    months = [m for county, m in approved.items() if county.startswith(region)]
    return len(months), (min(months) if months else None)


# -- charts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthPoint:
    day: date
    elapsed: float
    figures: list[Figure]


def month_points(answers: Sequence[Mapping[str, Any]]) -> list[MonthPoint]:
    """Progress answers (one per month end, then the as-of day) as the chart's points."""
    points = []
    for a in answers:
        share = float(a.get("elapsed", 0))
        points.append(
            MonthPoint(
                day=date.fromisoformat(str(a["as_of"])[:10]),
                elapsed=share,
                figures=figures_of(a.get("totals", {}), share),
            )
        )
    return points


def percent_or_none(ratio: float | None) -> float | None:
    return None if ratio is None else round(ratio * 100, 1)


def point_label(d: date, *, last: bool, with_year: bool, lang: str) -> str:
    """A chart point's label: the month of a month end (1月, Jan), the day of the last."""
    if lang == "en":
        text = d.strftime("%b %-d" if last else "%b")
        return f"{text} {d.year}" if with_year else text
    text = f"{d.month}月{d.day}日" if last else f"{d.month}月"
    return f"{d.year}年{text}" if with_year else text


def month_text(month: str | None, lang: str = "zh") -> str:
    """A closed month (YYYY-MM) as 2026年10月 (or 2026-10)."""
    if not month:
        return "—"
    year, _, mm = month.partition("-")
    return f"{year}年{int(mm)}月" if lang == "zh" and mm.isdigit() else month


def months_chart(
    points: list[MonthPoint], names: Mapping[str, str], expected: str, lang: str = "zh"
) -> dict[str, Any]:
    """Percent done of each measure at each point against the expected line (time elapsed)."""
    years = {p.day.year for p in points}
    return {
        "labels": [
            point_label(p.day, last=i == len(points) - 1, with_year=len(years) > 1, lang=lang)
            for i, p in enumerate(points)
        ],
        "series": [
            {
                "name": names[m.key],
                "values": [percent_or_none(p.figures[i].done) for p in points],
            }
            for i, m in enumerate(MEASURES)
        ],
        "expected": {"name": expected, "values": [round(p.elapsed * 100, 1) for p in points]},
    }


def children_chart(rows: list[Row], names: Mapping[str, str]) -> dict[str, Any]:
    """Pace (percent of what should be done) of each measure, per child."""
    return {
        "labels": [r.name for r in rows],
        "hrefs": [r.href for r in rows],
        "series": [
            {"name": names[m.key], "values": [percent_or_none(r.figures[i].pace) for r in rows]}
            for i, m in enumerate(MEASURES)
        ],
    }


def map_chart(
    rows: list[Row], province: str, label: str, bands: Mapping[str, str]
) -> dict[str, Any]:
    """The province's cities coloured by pace (their slowest measure), matched by name, in
    the bands the tables mark (`bands`: the label of far_behind, lagging, on_track, ahead)."""
    lag, behind, ahead = round(LAG_RATIO * 100), round(BEHIND * 100), round(AHEAD * 100)
    return {
        "map": province,
        "url": f"/vendor/maps/{province}.json",
        "label": label,
        "bands": [
            {"key": "far_behind", "lt": lag, "label": f"{bands['far_behind']} <{lag}%"},
            {
                "key": "lagging",
                "gte": lag,
                "lt": behind,
                "label": f"{bands['lagging']} {lag}–{behind}%",
            },
            {
                "key": "on_track",
                "gte": behind,
                "lt": ahead,
                "label": f"{bands['on_track']} {behind}–{ahead}%",
            },
            {"key": "ahead", "gte": ahead, "label": f"{bands['ahead']} ≥{ahead}%"},
        ],
        "regions": [
            {"name": r.name, "value": percent_or_none(r.pace), "href": r.href} for r in rows
        ],
    }
