"""The scenario's records: its configuration, the people, activities, training and
supervision the generator draws, and the totals the views must show afterwards, computed
from those records alone (never read back from the platform)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from wushe import clock

REFERENCE = {"stations": 462, "backbones": 5000, "sessions": 5544, "elders": 46000}
REFERENCE_MEASURES = ("backbones", "sessions", "person_times:elders")

# The scenario's programmes: `blue-vest-<province>-<start month>-n<stations>-s<seed>`.
PROGRAMME_PREFIX = "blue-vest-"


@dataclass(frozen=True)
class Config:
    province: str = "36"
    stations: int = 462
    months: int = 12
    intensity: float = 1.0  # 1.0: the programme's pace on average; 1.2: ahead
    seed: int = 7
    end: date = field(default_factory=lambda: clock.today() - timedelta(days=1))

    @property
    def start(self) -> date:
        """The programme starts `months` months before the end (its first day of month)."""
        year, month = self.end.year, self.end.month - self.months + 1
        while month <= 0:
            month, year = month + 12, year - 1
        return date(year, month, 1)

    @property
    def years(self) -> float:
        """How many years the programme runs: one, or `months` / 12 when that is longer.
        Its targets are yearly: sessions and person-times (flows) add up over the years,
        the backbone volunteers (a stock) do not."""
        return max(1.0, self.months / 12)

    @property
    def programme_end(self) -> date:
        """The programme's last day: a year after its start, or `months` when longer."""
        span = max(12, self.months)
        year, month = self.start.year + span // 12, self.start.month + span % 12
        while month > 12:
            month, year = month - 12, year + 1
        return date(year, month, 1) - timedelta(days=1)


@dataclass
class Volunteer:
    township: str
    name: str
    id_number: str
    phone: str
    backbone_on: date | None  # promoted for the programme on this day, or not a backbone


@dataclass
class Activity:
    township: str
    ref: str
    day: date
    sessions: int
    elders: int
    themes: tuple[str, ...]
    # The elders who came, by their own references (the service keeps only pseudonyms):
    # distinct elders served (人数) beside the person-times (人次).
    participants: tuple[str, ...] = ()

    @property
    def funded(self) -> bool:
        """Funded by the foundation's allocation to its station (资助): three in five, fixed
        by the activity's ref so that no other record of a seed changes."""
        return hashlib.sha256(self.ref.encode()).digest()[0] % 5 < 3


@dataclass
class SocialWorker:
    """A resident social worker (驻站社工): registered in the registry, which keeps the
    personal data; everything else knows the worker by the registry's id only."""

    township: str
    name: str
    id_number: str
    phone: str
    certification: str
    since: date  # assigned to the station from


@dataclass
class Course:
    course_id: str
    title: str
    series: str
    topics: tuple[str, ...]


@dataclass
class Attendee:
    kind: str  # "social_worker" or "volunteer", as the training API names them
    person: str  # the generator's key (ID number); the platform's id replaces it on loading
    township: str  # the attendee's station
    hours: float  # quarter hours, at most the session's
    credits: float


@dataclass
class TrainingSession:
    """An expert training (专家培训, a city's, in batches) or a routine study session
    (常规学习, a county's), with its attendance (签到)."""

    session_id: str
    region_code: str  # the city (expert trainings) or county (routine study) it is held for
    course_id: str
    kind: str  # "expert_training" or "routine_study"
    mode: str  # "on_site" or "online"
    day: date
    hours: float
    attendees: list[Attendee]


@dataclass
class Rectification:
    """A rectification item (整改事项) a supervision visit opened."""

    category: str
    description: str
    deadline: date
    closed_on: date | None  # None: still open at the end

    @property
    def late(self) -> bool:
        return self.closed_on is not None and self.closed_on > self.deadline


@dataclass
class Visit:
    """The monthly supervision visit (督导) of a station: planned for every station and
    month; `visited_on` None when it did not take place (a missed month)."""

    township: str
    month: str  # YYYY-MM
    supervisor_id: str  # a pseudonymous id of the supervisor, never a name
    visited_on: date | None
    findings: list[str]
    items: list[Rectification]


@dataclass
class Scenario:
    config: Config
    programme_id: str
    townships: list[tuple[str, str]]  # (code, name), the stations' townships
    targets: dict[str, int]
    volunteers: list[Volunteer]
    activities: list[Activity]
    pledge_fen: int
    gifts_fen: list[int]
    allocations_fen: dict[str, int]  # township -> fen
    social_workers: list[SocialWorker] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)
    sessions: list[TrainingSession] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)

    def lineage_totals(self, before: date | None = None) -> dict[str, int]:
        """What the foundation's money delivered (the lineage view's totals): the funded
        activities, each funded by one allocation, dated before `before` if given."""
        funded = [a for a in self.activities if a.funded and (before is None or a.day < before)]
        elders = sum(a.elders for a in funded)
        totals = {
            "activities": len(funded),
            "sessions": sum(a.sessions for a in funded),
            "person_times": elders,
            "person_times:elders": elders,
        }
        return {k: v for k, v in totals.items() if v}

    def distinct_elders(self) -> int:
        """The elders served at least once (人数), every station together."""
        return len({p for a in self.activities for p in a.participants})

    def expected(self) -> dict[str, Any]:
        """The totals the views must show, from the generator's own records."""
        per_station: dict[str, dict[str, int]] = defaultdict(
            lambda: {"backbones": 0, "sessions": 0, "person_times:elders": 0}
        )
        for v in self.volunteers:
            if v.backbone_on is not None:
                per_station[v.township]["backbones"] += 1
        for a in self.activities:
            per_station[a.township]["sessions"] += a.sessions
            per_station[a.township]["person_times:elders"] += a.elders
        totals = {m: sum(s[m] for s in per_station.values()) for m in REFERENCE_MEASURES}
        by_city: dict[str, dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(REFERENCE_MEASURES, 0)
        )
        for township, s in per_station.items():
            for m in REFERENCE_MEASURES:
                by_city[township[:4]][m] += s[m]
        return {
            "totals": totals,
            "targets": {
                "backbones": self.targets["backbones"],
                "sessions": self.targets["sessions"],
                "person_times:elders": self.targets["elders"],
            },
            "by_city": dict(by_city),
            "per_station": dict(per_station),
            "money": {
                "pledged_fen": self.pledge_fen,
                "received_fen": sum(self.gifts_fen),
                "allocated_fen": sum(self.allocations_fen.values()),
            },
            "volunteers": len(self.volunteers),
            "activities": len(self.activities),
            "training": self.training_totals(),
            "training_by_city": self.training_totals(by_city=True),
            "supervision": self.supervision_summary(),
        }

    def training_totals(
        self, *, as_of: date | None = None, by_city: bool = False
    ) -> dict[str, Any]:
        """The counters of the `training` view (GET /views/training) for the province, or by
        city (`by=city`), as of a day (default: all of them), from the generator's records:
        sessions by kind, attendee person-times and hours (x100) on the session's day;
        supervision visits planned (on the month's first day) and done (on the visit's day);
        rectification items open (opened on the visit's day, until closed) and closed (late
        or not, on the closing day). Counters that add up to zero are left out, as the view
        leaves them out."""
        counters: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

        def add(region: str, day: date, delta: dict[str, int]) -> None:
            if as_of is None or day <= as_of:
                group = region[:4] if by_city else ""
                for name, n in delta.items():
                    counters[group][name] += n

        for s in self.sessions:
            add(s.region_code, s.day, {"training_sessions": 1, f"training_sessions:{s.kind}": 1})
            if s.attendees:
                hours = round(sum(a.hours for a in s.attendees) * 100)
                add(
                    s.region_code,
                    s.day,
                    {"training_person_times": len(s.attendees), "training_hours_x100": hours},
                )
        for v in self.visits:
            add(v.township, date.fromisoformat(f"{v.month}-01"), {"supervision_visits_planned": 1})
            if v.visited_on is not None:
                delta = {"supervision_visits": 1, "rectification_open": len(v.items)}
                add(v.township, v.visited_on, delta)
            for it in v.items:
                if it.closed_on is not None:
                    closed = {"rectification_open": -1, "rectification_closed": 1}
                    if it.late:
                        closed["rectification_closed_late"] = 1
                    add(v.township, it.closed_on, closed)
        out = {g: {k: n for k, n in sorted(c.items()) if n} for g, c in sorted(counters.items())}
        return {g: c for g, c in out.items() if c} if by_city else out.get("", {})

    def supervision_summary(self) -> dict[str, int]:
        """Monthly supervision against what was due (one visit per station and month) and the
        rectification items, open past their deadline at the end included."""
        end = self.config.end
        missed: dict[str, int] = defaultdict(int)
        for v in self.visits:
            if v.visited_on is None:
                missed[v.township] += 1
        items = [it for v in self.visits for it in v.items]
        return {
            "due": len(self.townships) * self.config.months,
            "planned": len(self.visits),
            "done": sum(v.visited_on is not None for v in self.visits),
            "stations_missing_2_or_more": sum(n >= 2 for n in missed.values()),
            "rectification_opened": len(items),
            "rectification_closed": sum(it.closed_on is not None for it in items),
            "rectification_closed_late": sum(it.late for it in items),
            "rectification_open_past_deadline": sum(
                it.closed_on is None and it.deadline < end for it in items
            ),
            "social_workers": len(self.social_workers),
            "courses": len(self.courses),
        }


def split(total: int, parts: int) -> list[int]:
    """`total` in `parts` whole shares that add up exactly (the registry splits the same way)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
