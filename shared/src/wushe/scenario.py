"""The scenario generator: a province's 蓝马甲 (Blue Vest) programme as the stations would
record it, deterministic from a seed, and the totals the views must show afterwards,
computed from the generator's own records (never read back from the platform).

The reference case is Jiangxi: 462 stations on real townships spread over its cities,
5,000 backbone volunteers, 5,544 service sessions and 46,000 elder person-times in a year,
funded by a foundation's pledge. Smaller or larger scenarios scale the targets with the
number of stations. Stations perform unevenly (some ahead of the pace, some lagging).
Training and supervision (培训/督导) come with it: resident social workers, a course
series, expert trainings per city and routine study sessions per county with attendance,
and a supervision visit planned for every station and month, most done, some missed, some
opening rectification items that are closed in time, late or not yet.

`load` plays the records through the public REST APIs only (imports where they exist,
single calls elsewhere); it never writes a database or Kafka.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import random
import unicodedata
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

import httpx

from wushe import clock
from wushe.contracts import Envelope, Event
from wushe.validators import resident_id_check_char, uscc_check_char

REFERENCE = {"stations": 462, "backbones": 5000, "sessions": 5544, "elders": 46000}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "秀英桂兰建华明德文芳志强玉珍春梅国平金凤海燕丽红小军淑琴永福"
THEMES = ("anti_fraud", "smart_devices", "health", "mutual_aid")


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


REFERENCE_MEASURES = ("backbones", "sessions", "person_times:elders")


def split(total: int, parts: int) -> list[int]:
    """`total` in `parts` whole shares that add up exactly (the registry splits the same way)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def pick_townships(
    all_townships: list[tuple[str, str]], n: int, rng: random.Random
) -> list[tuple[str, str]]:
    """`n` townships spread over the province's cities, round-robin, deterministic."""
    by_city: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for code, name in sorted(all_townships):
        by_city[code[:4]].append((code, name))
    for towns in by_city.values():
        rng.shuffle(towns)
    chosen: list[tuple[str, str]] = []
    cities = sorted(by_city)
    while len(chosen) < n and any(by_city.values()):
        for city in cities:
            if by_city[city] and len(chosen) < n:
                chosen.append(by_city[city].pop())
    if len(chosen) < n:
        raise ValueError(f"the province has only {len(chosen)} townships")
    return sorted(chosen)


def generate(config: Config, all_townships: list[tuple[str, str]]) -> Scenario:
    rng = random.Random(config.seed)
    townships = pick_townships(all_townships, config.stations, rng)
    n = len(townships)
    scale = n / REFERENCE["stations"]
    flows = {"sessions": config.years, "elders": config.years}  # backbones are a stock
    targets = {
        k: round(v * scale * flows.get(k, 1.0)) for k, v in REFERENCE.items() if k != "stations"
    }
    share = {k: split(v, n) for k, v in targets.items()}  # per station, as enrolment splits
    elapsed = min(1.0, config.months / 12)  # of the programme's period
    days = (config.end - config.start).days + 1
    volunteers: list[Volunteer] = []
    activities: list[Activity] = []
    paces: dict[str, float] = {}
    ids: set[str] = set()
    for i, (code, _) in enumerate(townships):
        # Each station's pace: most near the programme's, some ahead, some far behind.
        pace = max(0.05, rng.gauss(1.0, 0.25)) * config.intensity
        if rng.random() < 0.08:
            pace *= 0.3  # a struggling station
        paces[code] = pace
        backbones = min(round(share["backbones"][i] * elapsed * pace), share["backbones"][i] * 2)
        for b in range(backbones + rng.randint(1, 4)):  # a few volunteers are not backbones
            volunteers.append(
                Volunteer(
                    township=code,
                    name=rng.choice(SURNAMES)
                    + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
                    id_number=_id_number(code, rng, ids),
                    phone="139" + f"{rng.randrange(10**8):08d}",
                    backbone_on=config.start + timedelta(days=rng.randrange(days))
                    if b < backbones
                    else None,
                )
            )
        sessions = round(share["sessions"][i] * elapsed * pace)
        elders_target = share["elders"][i] * elapsed * pace
        for s in range(sessions):
            elders = max(1, round(elders_target / max(1, sessions) * rng.uniform(0.6, 1.4)))
            activities.append(
                Activity(
                    township=code,
                    ref=f"{config.seed}-{code}-{s}",
                    day=config.start + timedelta(days=rng.randrange(days)),
                    sessions=1,
                    elders=elders,
                    themes=tuple(sorted(rng.sample(THEMES, 2))),
                )
            )
    if config.months >= 12 and config.intensity >= 1.0:
        _top_up(activities, townships, targets, config, rng, days)
    pledge = 20_000_00 * n  # 20,000 yuan per station
    gifts = split(pledge * 3 // 4, 3)  # three quarterly transfers so far
    allocations = {code: pledge // (2 * n) for code, _ in townships}
    programme_id = f"{PROGRAMME_PREFIX}{config.province}-{config.start:%Y%m}-n{n}-s{config.seed}"
    # Training and supervision draw from their own generator, so adding them left every
    # earlier record of a seed (volunteers, activities) exactly as it was.
    trng = random.Random(f"training-{config.seed}")
    workers = _social_workers(townships, paces, config, trng, ids)
    courses = _courses(programme_id)
    held = _sessions(programme_id, courses, workers, volunteers, paces, config, trng)
    visits = _visits(townships, paces, config, trng)
    return Scenario(
        config=config,
        programme_id=programme_id,
        townships=townships,
        targets=targets,
        volunteers=volunteers,
        activities=activities,
        pledge_fen=pledge,
        gifts_fen=gifts,
        allocations_fen=allocations,
        social_workers=workers,
        courses=courses,
        sessions=held,
        visits=visits,
    )


def _top_up(
    activities: list[Activity],
    townships: list[tuple[str, str]],
    targets: dict[str, int],
    config: Config,
    rng: random.Random,
    days: int,
) -> None:
    """A full year at the programme's pace meets its targets in total (5,544 sessions and
    46,000 elder person-times in Jiangxi) however unevenly the stations got there: the
    shortfall goes to stations that are already doing well, as it does in practice."""
    counts: dict[str, int] = defaultdict(int)
    for a in activities:
        counts[a.township] += a.sessions
    strong = sorted(counts, key=lambda c: (-counts[c], c))[: max(1, len(counts) // 4)]
    sessions = sum(a.sessions for a in activities)
    elders = sum(a.elders for a in activities)
    extra = 0
    while sessions < targets["sessions"] or elders < targets["elders"]:
        township = rng.choice(strong or [code for code, _ in townships])
        people = rng.randint(8, 14) if elders < targets["elders"] else 1
        activities.append(
            Activity(
                township=township,
                ref=f"{config.seed}-{township}-extra-{extra}",
                day=config.start + timedelta(days=rng.randrange(days)),
                sessions=1,
                elders=people,
                themes=tuple(sorted(rng.sample(THEMES, 2))),
            )
        )
        extra += 1
        sessions += 1
        elders += people


def _id_number(
    township: str,
    rng: random.Random,
    used: set[str],
    *,
    first_birth: date = date(1950, 1, 1),
    years: int = 50,
) -> str:
    while True:
        birth = first_birth + timedelta(days=rng.randrange(365 * years))
        first17 = f"{township[:6]}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        number = first17 + resident_id_check_char(first17)
        if number not in used:
            used.add(number)
            return number


# --------------------------------------------------------------------------- training


# Yongchuan's year (DOMAIN.md): 10 expert trainings and 63 routine study sessions, 1,300+
# training person-times for its 23 stations. Here every city holds about ten expert
# trainings a year for up to 60 of its social workers each (more where more are to be
# trained, so each is invited to about ten), and every county a routine study session a
# month for up to 15 of its own (in more groups where there are more): person-times grow
# with the stations and months, sessions with the cities and counties covered and months.
EXPERT_PER_YEAR, EXPERT_BATCH = 10, 60
ROUTINE_PER_YEAR, ROUTINE_GROUP = 12, 15
COURSES = (  # the course series of DOMAIN.md: (slug, title, topics)
    ("policy", "社会救助与养老服务政策解读", ("政策解读",)),
    ("case-writing", "个案与服务案例撰写", ("案例撰写",)),
    ("project-operation", "社工站项目运作与台账管理", ("项目运作",)),
    ("community-orgs", "培育社区社会组织", ("培育社区社会组织",)),
    ("volunteers", "志愿者骨干培育与发展", ("志愿者发展", "志愿服务记录")),
    ("charity-resources", "链接慈善资源与五社联动", ("链接慈善资源", "五社联动")),
)
EXPERT_COURSES = ("policy", "case-writing", "project-operation", "community-orgs")
ROUTINE_COURSES = ("case-writing", "project-operation", "volunteers", "charity-resources")
CERTIFICATIONS = (
    ("none", 30),
    ("assistant_social_worker", 45),
    ("social_worker", 22),
    ("senior", 3),
)
ITEM_CATEGORIES = (
    ("materials", 40, "服务台账、活动照片和简报未按月归档"),
    ("service_quality", 25, "个案记录不完整，服务成效未跟进"),
    ("safety", 10, "活动场地消防通道堆放杂物"),
    ("finance", 10, "项目经费支出凭证不全"),
    ("staffing", 10, "驻站社工考勤记录缺失"),
    ("other", 5, "站点公示信息未更新"),
)
FINDINGS = (
    "月度服务计划与实际开展不一致",
    "志愿者服务时长登记不及时",
    "防骗反诈宣传覆盖面不足",
    "智能手机教学活动参与踊跃",
    "五社联动资源链接有成效",
    "服务对象满意度较高",
    "社区社会组织培育进展缓慢",
)


def _social_workers(
    townships: list[tuple[str, str]],
    paces: dict[str, float],
    config: Config,
    rng: random.Random,
    ids: set[str],
) -> list[SocialWorker]:
    """One to four resident social workers per station, two or three at most; struggling
    stations are the thinly staffed ones. Their masked ID numbers (region and last four)
    differ, so a re-run can find them in the registry's masked listing."""
    workers: list[SocialWorker] = []
    masked: set[tuple[str, str]] = set()
    for code, _ in townships:
        count = rng.choices((1, 2, 3, 4), weights=(15, 40, 35, 10))[0]
        if paces[code] < 0.5:
            count = min(count, 2)
        for _ in range(count):
            while True:
                number = _id_number(code, rng, ids, first_birth=date(1968, 1, 1), years=32)
                if (code, number[14:]) not in masked:
                    masked.add((code, number[14:]))
                    break
            certification = rng.choices(
                [c for c, _ in CERTIFICATIONS], weights=[w for _, w in CERTIFICATIONS]
            )[0]
            workers.append(
                SocialWorker(
                    township=code,
                    name=rng.choice(SURNAMES)
                    + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
                    id_number=number,
                    phone="138" + f"{rng.randrange(10**8):08d}",
                    certification=certification,
                    since=config.start,
                )
            )
    return workers


def _courses(programme_id: str) -> list[Course]:
    return [
        Course(course_id=f"{programme_id}-{slug}", title=title, series="蓝马甲社工培训", topics=t)
        for slug, title, t in COURSES
    ]


def _weekday(day: date, start: date, end: date) -> date:
    """Training is held on working days: a weekend day moves to the nearest one inside."""
    for shift in (0, -1, 1, -2, 2):
        d = day + timedelta(days=shift)
        if start <= d <= end and d.weekday() < 5:
            return d
    return day


def _sessions(
    programme_id: str,
    courses: list[Course],
    workers: list[SocialWorker],
    volunteers: list[Volunteer],
    paces: dict[str, float],
    config: Config,
    rng: random.Random,
) -> list[TrainingSession]:
    """Expert trainings per city and routine study sessions per county (where a backbone
    volunteer of the county comes now and then) at the rates above, spread evenly over
    the months; most attend the whole session, a few leave early, the struggling
    stations' workers come less often."""
    start, end = config.start, config.end
    days = (end - start).days + 1
    elapsed = config.months / 12
    course_of = {c.course_id.removeprefix(f"{programme_id}-"): c.course_id for c in courses}
    staff: dict[str, list[SocialWorker]] = defaultdict(list)
    for w in workers:
        staff[w.township[:4]].append(w)
        staff[w.township[:6]].append(w)
    backbones: dict[str, list[Volunteer]] = defaultdict(list)
    for v in volunteers:
        if v.backbone_on is not None:
            backbones[v.township[:6]].append(v)
    plans: list[tuple[str, str, int, int]] = []  # (kind, region, sessions, invited to each)
    for kind, per_year, size, level in (
        ("expert_training", EXPERT_PER_YEAR, EXPERT_BATCH, 4),
        ("routine_study", ROUTINE_PER_YEAR, ROUTINE_GROUP, 6),
    ):
        for region in sorted({code[:level] for code in paces}):
            people = len(staff[region])
            count = max(1, round(per_year * elapsed * max(1.0, people / size)))
            plans.append((kind, region, count, min(people, size)))
    sessions: list[TrainingSession] = []
    for kind, region, count, size in plans:
        pool = staff[region]
        for k in range(count):
            day = start + timedelta(days=int((k + rng.random()) * days / count))
            day = _weekday(min(day, end), start, end)
            expert = kind == "expert_training"
            hours = rng.choice((3.0, 3.5, 6.0)) if expert else rng.choice((1.5, 2.0, 2.5, 3.0))
            invited = rng.sample(pool, size)
            attendees = []
            for w in invited:
                if rng.random() < (0.6 if paces[w.township] < 0.5 else 0.9):
                    stayed = hours if rng.random() < 0.9 else max(0.5, hours - rng.choice((0.5, 1)))
                    attendees.append(
                        Attendee(
                            kind="social_worker",
                            person=w.id_number,
                            township=w.township,
                            hours=stayed,
                            credits=stayed if expert else 0.0,
                        )
                    )
            if not expert:  # now and then a backbone volunteer of the county comes too
                for v in backbones[region]:
                    if rng.random() >= 0.03:
                        continue
                    attendees.append(
                        Attendee(
                            kind="volunteer",
                            person=v.id_number,
                            township=v.township,
                            hours=hours,
                            credits=0.0,
                        )
                    )
            slugs = EXPERT_COURSES if expert else ROUTINE_COURSES
            sessions.append(
                TrainingSession(
                    session_id=f"{programme_id}-{'et' if expert else 'rs'}-{region}-{k + 1:03d}",
                    region_code=region,
                    course_id=course_of[slugs[k % len(slugs)]],
                    kind=kind,
                    mode="on_site" if rng.random() < (0.8 if expert else 0.6) else "online",
                    day=day,
                    hours=hours,
                    attendees=attendees,
                )
            )
    return sorted(sessions, key=lambda s: (s.day, s.session_id))


def _months(config: Config) -> list[tuple[str, date, date]]:
    """Each month of the scenario: (YYYY-MM, first day, last day up to the end)."""
    out = []
    first = config.start
    while first <= config.end:
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        out.append((f"{first:%Y-%m}", first, min(config.end, following - timedelta(days=1))))
        first = following
    return out


def _visits(
    townships: list[tuple[str, str]],
    paces: dict[str, float],
    config: Config,
    rng: random.Random,
) -> list[Visit]:
    """Monthly supervision (督导): one visit planned per station and month by the city's
    supervisors (one for about eight stations). Most take place, by the three-step method;
    some months are missed: now and then anywhere, more in February (the Spring Festival),
    often at struggling stations, and a few stations go two or three months without a
    supervisor. A visit may open rectification items with a deadline of 15 or 30 days;
    most are closed in time, some late, some are still open at the end."""
    months = _months(config)
    stations_in: dict[str, int] = defaultdict(int)
    for code, _ in townships:
        stations_in[code[:4]] += 1
    seen: dict[str, int] = defaultdict(int)
    categories = [c for c, _, _ in ITEM_CATEGORIES]
    weights = [w for _, w, _ in ITEM_CATEGORIES]
    describe = {c: d for c, _, d in ITEM_CATEGORIES}
    visits: list[Visit] = []
    for code, _ in townships:
        city = code[:4]
        team = max(1, -(-stations_in[city] // 8))
        supervisor = f"sup-{city}-{seen[city] % team + 1:02d}"
        seen[city] += 1
        struggling = paces[code] < 0.5
        vacancy: set[int] = set()
        if len(months) >= 4 and rng.random() < 0.05:
            first = rng.randrange(len(months) - 2)
            vacancy = set(range(first, first + rng.choice((2, 3))))
        for m, (month, first_day, last_day) in enumerate(months):
            miss = 0.2 if struggling else 0.03
            if first_day.month == 2:
                miss += 0.1
            if m in vacancy or rng.random() < miss:
                visits.append(Visit(code, month, supervisor, None, [], []))
                continue
            span = (last_day - first_day).days
            visited = first_day + timedelta(days=min(span, rng.randint(4, 25)))
            count = rng.choices((0, 1, 2, 3), weights=(60, 25, 11, 4))[0]
            if struggling:
                count += rng.choice((0, 1))
            items = []
            for _ in range(count):
                category = rng.choices(categories, weights=weights)[0]
                deadline = visited + timedelta(days=rng.choice((15, 30)))
                items.append(
                    Rectification(
                        category=category,
                        description=describe[category],
                        deadline=deadline,
                        closed_on=_closing(visited, deadline, config.end, rng),
                    )
                )
            findings = [describe[it.category] for it in items]
            findings += rng.sample(FINDINGS, rng.randint(1, 2))
            visits.append(Visit(code, month, supervisor, visited, findings, items))
    return visits


def _closing(visited: date, deadline: date, end: date, rng: random.Random) -> date | None:
    """When a rectification item was closed (within its deadline mostly, some late), or
    None: still open at the end (past its deadline, or not yet due)."""
    if end <= visited:
        return None
    r = rng.random()
    if deadline < end:
        if r < 0.72:
            return visited + timedelta(days=rng.randint(1, (deadline - visited).days))
        if r < 0.9:
            return min(end, deadline + timedelta(days=rng.randint(1, 45)))
        return None
    if r < 0.45:
        return visited + timedelta(days=rng.randint(1, (end - visited).days))
    return None


# --------------------------------------------------------------------------- loading


@dataclass
class Endpoints:
    registry: str
    activities: str
    volunteers: str
    donations: str
    training: str
    projector: str


Progress = Callable[[str, int, int], None]


async def load(
    scenario: Scenario,
    urls: Endpoints,
    token: str,
    *,
    progress: Progress | None = None,
    concurrency: int = 8,
    copy_timeout_s: float = 120,
) -> dict[str, Any]:
    """Play the scenario through the public APIs; return the ids the platform gave."""
    note = progress or (lambda step, done, total: None)
    headers = {"Authorization": f"Bearer {token}"}
    gate = asyncio.Semaphore(concurrency)
    cfg = scenario.config
    async with (
        _client(urls.registry, headers, timeout=120) as reg,
        _client(urls.activities, headers, timeout=300) as act,
        _client(urls.volunteers, headers, timeout=300) as vol,
        _client(urls.donations, headers, timeout=120) as don,
        _client(urls.training, headers, timeout=120) as trn,
    ):
        await _refuse_another_scenario(reg, scenario.programme_id)
        # 1. Stations (the ledger import) and the programme with split targets.
        rows = [{"region_code": code, "status": "operating"} for code, _ in scenario.townships]
        await _import(reg, "/imports/stations", rows)
        station_of = await _stations(reg, cfg.province, {c for c, _ in scenario.townships})
        note("stations", len(station_of), len(scenario.townships))
        pid = scenario.programme_id
        r = await reg.post(
            "/programmes",
            json={
                "programme_id": pid,
                "name": "蓝马甲行动",
                "scope_regions": [cfg.province],
                "start_date": str(cfg.start),
                "end_date": str(cfg.programme_end),
                "total_targets": {
                    "backbone_volunteers": scenario.targets["backbones"],
                    "service_sessions": scenario.targets["sessions"],
                    "person_times": {"elders": scenario.targets["elders"]},
                },
            },
        )
        _ok(r, (201, 409))
        sids = [station_of[c] for c, _ in scenario.townships]
        r = await reg.post(
            f"/programmes/{pid}/enrolments",
            json={"station_ids": sids, "enrolled_on": str(cfg.start), "targets": "split_total"},
        )
        _ok(r, (200, 409))
        credit_code = foundation_credit_code(cfg.province)
        org = await reg.post(
            "/organisations",
            json={
                "name": "江西省蓝马甲公益基金会" if cfg.province == "36" else "公益基金会",
                "kind": "foundation",
                "credit_code": credit_code,
                "region_code": cfg.province,
            },
        )
        _ok(org, (201, 409))
        org_id = org.json()["org_id"] if org.status_code == 201 else await _org_id(reg, credit_code)
        note("programme", 1, 1)
        wid_of = await _register_social_workers(reg, scenario, station_of, gate, note)

        # 2. Volunteers, registered one by one (the answer carries the id backbones need);
        # until the volunteers service has the stations from the registry's events, a
        # registration is refused with "unknown station" and writes nothing: retry.
        vid_of: dict[str, str] = {}

        async def register(v: Volunteer) -> None:
            async with gate:
                body = {
                    "name": v.name,
                    "id_number": v.id_number,
                    "phone": v.phone,
                    "station_id": station_of[v.township],
                    "skills": ["elder_care"],
                    "registered_on": str(cfg.start),
                }
                r = await _retry_while_unknown(
                    lambda: vol.post("/volunteers", json=body), copy_timeout_s
                )
                _ok(r, (201,))
                vid_of[v.id_number] = r.json()["volunteer_id"]
                if len(vid_of) % 250 == 0 or len(vid_of) == len(scenario.volunteers):
                    note("volunteers", len(vid_of), len(scenario.volunteers))

        await _all(*(register(v) for v in scenario.volunteers))

        # 3. Backbones (骨干) for the programme (retried until the programme is known).
        backbones = [v for v in scenario.volunteers if v.backbone_on is not None]
        done = 0

        async def promote(v: Volunteer) -> None:
            nonlocal done
            async with gate:
                body = {
                    "programme_id": pid,
                    "promoted_on": str(v.backbone_on),
                    "reason_code": "service_record",
                }
                path = f"/volunteers/{vid_of[v.id_number]}/backbone"
                r = await _retry_while_unknown(lambda: vol.post(path, json=body), copy_timeout_s)
                _ok(r, (200, 409))
                done += 1
                if done % 250 == 0 or done == len(backbones):
                    note("backbones", done, len(backbones))

        await _all(*(promote(v) for v in backbones))

        # 4. A year of activities: planned and held in one import, in chunks. Re-importing a
        # chunk is harmless (external refs), so rows refused while the activities service did
        # not yet know the programme are simply imported again.
        chunk = 500
        for start in range(0, len(scenario.activities), chunk):
            part = scenario.activities[start : start + chunk]
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow(
                [
                    "station_id",
                    "external_ref",
                    "programme_ids",
                    "service_area",
                    "kind",
                    "themes",
                    "activity_date",
                    "held_on",
                    "sessions",
                    "elders",
                    "societies",
                ]
            )
            for a in part:
                writer.writerow(
                    [
                        station_of[a.township],
                        a.ref,
                        pid,
                        "elder_services",
                        "community_event",
                        ";".join(a.themes),
                        str(a.day),
                        str(a.day),
                        a.sessions,
                        a.elders,
                        "volunteers",
                    ]
                )
            data = buf.getvalue().encode()

            async def import_part(data: bytes = data) -> httpx.Response:
                return await act.post(
                    "/imports/activities", content=data, headers={"Content-Type": "text/csv"}
                )

            report = await _retry_while_unknown(import_part, copy_timeout_s)
            _ok(report, (200,))
            if report.json()["errors"]:
                raise RuntimeError(f"activity import errors: {report.json()['errors'][:3]}")
            note("activities", start + len(part), len(scenario.activities))

        # 5. The foundation's money: a pledge, quarterly gifts, an allocation to each station.
        r = await _retry_while_unknown(
            lambda: don.post(
                "/donors",
                json={"kind": "foundation", "region_code": cfg.province, "org_id": org_id},
            ),
            copy_timeout_s,
        )
        _ok(r, (201,))
        donor = str(r.json()["donor_id"])
        key = f"scenario-{pid}"
        # The pledge names the programme and each allocation a station: the donations
        # service's copies of them may lag (retried; the idempotency keys make it safe).
        r = await _retry_while_unknown(
            lambda: don.post(
                "/pledges",
                headers={"Idempotency-Key": f"{key}-pledge"},
                json={
                    "donor_id": donor,
                    "programme_id": pid,
                    "amount_fen": scenario.pledge_fen,
                    "period_start": str(cfg.start),
                    "period_end": str(cfg.programme_end),
                },
            ),
            copy_timeout_s,
        )
        _ok(r, (201,))
        fund = r.json()["fund_id"]
        for i, amount in enumerate(scenario.gifts_fen):
            r = await don.post(
                f"/pledges/{fund}/gifts",
                headers={"Idempotency-Key": f"{key}-gift-{i}"},
                json={
                    "kind": "cash",
                    "amount_fen": amount,
                    "receipt_no": f"{pid}-{i + 1}",
                    "received_on": str(cfg.start),
                },
            )
            _ok(r, (201,))

        # The allocations as one plan: every allocation changes the same fund (one
        # aggregate), so one at a time rewrites the growing fund once each (462 took two
        # minutes). Stations the fund already allocated to (a stack loaded before plans
        # existed) are left out, so loading again never allocates twice.
        r = await don.get(f"/funds/{fund}")
        _ok(r, (200,))
        allocated = {a["station_id"] for a in r.json()["allocations"]}
        remaining = [
            (station_of[code], amount)
            for code, amount in scenario.allocations_fen.items()
            if station_of[code] not in allocated
        ]

        async def allocate(body: dict[str, Any], digest: str) -> httpx.Response:
            return await don.post(
                f"/funds/{fund}/allocation-plans",
                headers={"Idempotency-Key": f"{key}-plan-{digest}"},
                json=body,
            )

        for start in range(0, len(remaining), 1000):
            plan = remaining[start : start + 1000]
            digest = hashlib.sha256(",".join(sid for sid, _ in plan).encode()).hexdigest()[:16]
            body = {
                "allocated_on": str(cfg.start),
                "allocations": [{"station_id": sid, "amount_fen": a} for sid, a in plan],
            }
            r = await _retry_while_unknown(partial(allocate, body, digest), copy_timeout_s)
            _ok(r, (201,))
        note("donations", len(scenario.allocations_fen), len(scenario.allocations_fen))

        # 6. Training (courses, sessions, attendance) and monthly supervision.
        person_of = {**vid_of, **wid_of}
        await _train(trn, scenario, station_of, person_of, gate, copy_timeout_s, note)
        await _supervise(trn, scenario, station_of, gate, copy_timeout_s, note)
    return {
        "programme_id": pid,
        "donor_id": donor,
        "fund_id": fund,
        "stations": station_of,
        "social_workers": len(wid_of),
    }


async def _register_social_workers(
    reg: httpx.AsyncClient,
    scenario: Scenario,
    station_of: dict[str, str],
    gate: asyncio.Semaphore,
    note: Progress,
) -> dict[str, str]:
    """Resident social workers: registered in the registry (which alone keeps their personal
    data) and assigned to their station. The registry refuses a second registration of the
    same person (409) without saying the id, so a re-run finds those in its masked listing
    (region and the ID number's last four, distinct within the scenario)."""
    wid_of: dict[str, str] = {}
    again: list[SocialWorker] = []
    workers = scenario.social_workers

    async def register(w: SocialWorker) -> None:
        async with gate:
            r = await reg.post(
                "/social-workers",
                json={
                    "name": w.name,
                    "id_number": w.id_number,
                    "phone": w.phone,
                    "region_code": w.township,
                    "certification": w.certification,
                    "general_practice": w.certification != "none",
                },
            )
            _ok(r, (201, 409))
            if r.status_code == 201:
                wid_of[w.id_number] = r.json()["worker_id"]
            else:
                again.append(w)

    await _all(*(register(w) for w in workers))
    if again:
        listed: dict[tuple[str, str], list[str]] = defaultdict(list)
        offset = 0
        while True:
            page = (
                await reg.get("/social-workers", params={"limit": 500, "offset": offset})
            ).json()
            for item in page["items"]:
                listed[(item["region_code"], item["id_number"][14:])].append(item["worker_id"])
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                break
        for w in again:
            found = listed.get((w.township, w.id_number[14:]), [])
            if len(found) != 1:
                raise RuntimeError(
                    f"social worker of {w.township} ending {w.id_number[14:]}: "
                    f"{len(found)} registered matches"
                )
            wid_of[w.id_number] = found[0]
    note("workers", len(wid_of), len(workers))
    done = 0

    async def assign(w: SocialWorker) -> None:
        nonlocal done
        async with gate:
            r = await reg.post(
                f"/social-workers/{wid_of[w.id_number]}/assignments",
                json={"station_id": station_of[w.township], "from_date": str(w.since)},
            )
            _ok(r, (200,))
            done += 1
            if done % 250 == 0 or done == len(workers):
                note("assignments", done, len(workers))

    await _all(*(assign(w) for w in workers))
    return wid_of


async def _train(
    trn: httpx.AsyncClient,
    scenario: Scenario,
    station_of: dict[str, str],
    person_of: dict[str, str],
    gate: asyncio.Semaphore,
    patience: float,
    note: Progress,
) -> None:
    """The course series, then each session (the generator's id: a retry cannot schedule it
    twice) and its attendance in one call (all of it or none: a session already scheduled
    that shows attendance, or a 409 for it, means it is recorded)."""
    province = scenario.config.province
    for c in scenario.courses:
        r = await trn.post(
            "/courses",
            json={
                "course_id": c.course_id,
                "region_code": province,
                "title": c.title,
                "series": c.series,
                "topics": list(c.topics),
            },
        )
        _ok(r, (201, 409))
    done = 0

    async def hold(s: TrainingSession) -> None:
        nonlocal done
        async with gate:
            r = await trn.post(
                "/sessions",
                json={
                    "session_id": s.session_id,
                    "region_code": s.region_code,
                    "course_id": s.course_id,
                    "kind": s.kind,
                    "mode": s.mode,
                    "session_date": str(s.day),
                    "hours": s.hours,
                },
            )
            _ok(r, (201, 409))
            if r.status_code == 409:  # scheduled before: is its attendance recorded too?
                r = await trn.get(f"/sessions/{s.session_id}")
                _ok(r, (200,))
                recorded = r.json()["person_times"] > 0
            else:
                recorded = False
            if s.attendees and not recorded:
                body = {
                    "attendances": [
                        {
                            "attendee_kind": a.kind,
                            "attendee_id": person_of[a.person],
                            "station_id": station_of[a.township],
                            "hours": a.hours,
                            "credits": a.credits,
                        }
                        for a in s.attendees
                    ]
                }
                path = f"/sessions/{s.session_id}/attendance"
                r = await _retry_while_unknown(lambda: trn.post(path, json=body), patience)
                _ok(r, (200, 409))
            done += 1
            if done % 100 == 0 or done == len(scenario.sessions):
                note("training", done, len(scenario.sessions))

    await _all(*(hold(s) for s in scenario.sessions))


CHECKLIST = dict.fromkeys(
    ("plans_checked", "briefings_checked", "photos_checked", "staff_talk", "site_visit"), True
)


async def _supervise(
    trn: httpx.AsyncClient,
    scenario: Scenario,
    station_of: dict[str, str],
    gate: asyncio.Semaphore,
    patience: float,
    note: Progress,
) -> None:
    """Each station's monthly visit planned, completed when it took place (the three steps,
    findings, rectification items), and the items closed; a 409 means the step is done
    (one visit per station and month: the service's id names both)."""
    done = 0

    async def supervise(v: Visit) -> None:
        nonlocal done
        async with gate:
            sid = station_of[v.township]
            body = {"station_id": sid, "month": v.month, "supervisor_id": v.supervisor_id}
            r = await _retry_while_unknown(
                lambda: trn.post("/supervision-visits", json=body), patience
            )
            _ok(r, (201, 409))
            visit_id = f"sv-{sid}-{v.month}"
            if v.visited_on is not None:
                r = await trn.post(
                    f"/supervision-visits/{visit_id}/completion",
                    json={
                        "visited_on": str(v.visited_on),
                        "checklist": CHECKLIST,
                        "findings": v.findings,
                        "items": [
                            {
                                "category": it.category,
                                "description": it.description,
                                "deadline": str(it.deadline),
                            }
                            for it in v.items
                        ],
                    },
                )
                _ok(r, (200, 409))
                for i, it in enumerate(v.items):
                    if it.closed_on is not None:
                        r = await trn.post(
                            f"/supervision-visits/{visit_id}/items/{visit_id}-{i + 1}/closure",
                            json={"closed_on": str(it.closed_on), "note": "已整改，材料已补齐"},
                        )
                        _ok(r, (200, 409))
            done += 1
            if done % 250 == 0 or done == len(scenario.visits):
                note("supervision", done, len(scenario.visits))

    await _all(*(supervise(v) for v in scenario.visits))


def retry_after_s(response: httpx.Response, cap_s: float = 30.0) -> float:
    """How long a 503 or 429 asks the client to wait (its `Retry-After` seconds; 1 s if it
    gives none), at most `cap_s`."""
    retry = response.headers.get("retry-after", "1")
    return min(cap_s, float(retry) if retry.isdigit() else 1.0)


class PatientTransport(httpx.AsyncHTTPTransport):
    """Retries what the platform asks to be retried: 503 (the store busy or away) and 429
    (this client's rate limit), after the `Retry-After` it gives, a bounded number of times.
    Every loader step is idempotent, so a retried request never does anything twice."""

    def __init__(self, attempts: int = 12, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attempts = attempts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            for _ in range(self.attempts - 1):
                response = await super().handle_async_request(request)
                if response.status_code not in (429, 503):
                    return response
                await response.aclose()
                await asyncio.sleep(retry_after_s(response))
            return await super().handle_async_request(request)
        except httpx.TransportError as failed:
            # httpx's own message often names nothing ("ReadError" alone): say which call.
            failed.add_note(f"during {request.method} {request.url}")
            raise


def _client(base_url: str, headers: dict[str, str], *, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=timeout, transport=PatientTransport()
    )


def _ok(r: httpx.Response, codes: tuple[int, ...]) -> None:
    if r.status_code not in codes:
        raise RuntimeError(
            f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:500]}"
        )


async def _import(client: httpx.AsyncClient, path: str, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    r = await client.post(
        path, content=buf.getvalue().encode(), headers={"Content-Type": "text/csv"}
    )
    _ok(r, (200,))
    if r.json()["errors"]:
        raise RuntimeError(f"{path}: {r.json()['errors'][:3]}")


async def _stations(reg: httpx.AsyncClient, province: str, wanted: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    offset = 0
    while True:
        page = (
            await reg.get("/stations", params={"region": province, "limit": 500, "offset": offset})
        ).json()
        for s in page["items"]:
            if s["region_code"] in wanted:
                found[s["region_code"]] = s["station_id"]
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return found


async def _refuse_another_scenario(reg: httpx.AsyncClient, programme_id: str) -> None:
    """Loading the same scenario again changes nothing; loading another one (another size,
    seed or start month) over a stack that holds one cannot work: a station has one
    supervision visit a month, already recorded with the other scenario's findings, and the
    province-wide views would hold both (decision 0010). Say so before writing anything."""
    page = await reg.get("/programmes")
    _ok(page, (200,))
    others = [
        p["programme_id"]
        for p in page.json()["items"]
        if p["programme_id"].startswith(PROGRAMME_PREFIX) and p["programme_id"] != programme_id
    ]
    if others:
        raise RuntimeError(
            f"this stack already holds another scenario ({', '.join(sorted(others))}), so "
            f"{programme_id} would mix with it. Run the same arguments again, or start "
            "afresh: ./dev down, remove the stack's folder (WUSHE_HOME, default .wushe/), "
            "then ./dev up"
        )


def foundation_credit_code(province: str) -> str:
    """The funding foundation's unified social credit code: registered with civil affairs as a
    foundation (53), in the scenario's own province. Each province's scenario has its own, so
    scenarios of different provinces on one broker never name one organisation differently."""
    first17 = f"53{province.ljust(6, '0')}MJ0000001"
    return first17 + uscc_check_char(first17)


async def _org_id(reg: httpx.AsyncClient, credit_code: str) -> str:
    """The id of the organisation registered under `credit_code` (a re-run's 409)."""
    page = await reg.get("/organisations", params={"kind": "foundation", "limit": 500})
    _ok(page, (200,))
    return str(next(o["org_id"] for o in page.json()["items"] if o["credit_code"] == credit_code))


UNKNOWN = (
    "unknown station",
    "unknown programme",
    "not enrolled",
    "unknown organisation",
    "unknown social worker",
)


async def _all(*calls: Coroutine[Any, Any, Any]) -> None:
    """Run calls concurrently; the first failure cancels the rest (a TaskGroup), so no
    request is left running against clients that close as the error propagates."""
    try:
        async with asyncio.TaskGroup() as group:
            for call in calls:
                group.create_task(call)
    except* Exception as failed:
        raise failed.exceptions[0] from None  # the first error, as a plain gather raised it


async def _retry_while_unknown(
    call: Callable[[], Awaitable[httpx.Response]], patience_s: float
) -> httpx.Response:
    """Other services learn stations and programmes from the registry's events within a
    second or two; until then they refuse what names them (422, nothing written). Each call
    gets its own `patience_s`: a copy may fall behind at any point of a long load (a broker
    restart stalls every consumer for seconds), not only at its start."""
    deadline = asyncio.get_running_loop().time() + patience_s
    while True:
        r = await call()
        text = r.text if r.status_code in (200, 422) else ""
        refused = r.status_code == 422 or (r.status_code == 200 and '"errors":[{' in text)
        if not (refused and any(u in text for u in UNKNOWN)):
            return r
        if asyncio.get_running_loop().time() > deadline:
            return r
        await asyncio.sleep(0.5)


# --------------------------------------------------------------------------- reading back


async def townships_of(registry_url: str, token: str, province: str) -> list[tuple[str, str]]:
    """Every township of a province, from the registry's region API."""
    headers = {"Authorization": f"Bearer {token}"}
    out: list[tuple[str, str]] = []
    async with httpx.AsyncClient(base_url=registry_url, headers=headers, timeout=60) as reg:
        frontier = [province]
        while frontier:
            code = frontier.pop()
            r = await reg.get(f"/regions/{code}/children")
            _ok(r, (200,))
            for child in r.json():
                if child["level"] == "township":
                    out.append((child["code"], child["name"]))
                else:
                    frontier.append(child["code"])
    return sorted(out)


async def progress_of(
    projector_url: str, token: str, programme_id: str, region: str | None = None
) -> dict[str, Any]:
    """The programme's progress with every station's figures (`per_station` page by page;
    the figures of the pages may differ by what the views applied between two of them)."""
    headers = {"Authorization": f"Bearer {token}"}
    params = {"region": region} if region else {}
    body: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=projector_url, headers=headers, timeout=60) as views:
        while True:
            r = await views.get(f"/views/programmes/{programme_id}/progress", params=params)
            if r.status_code == 404:
                return {}
            _ok(r, (200,))
            page: dict[str, Any] = r.json()
            if body:
                body["per_station"].update(page["per_station"])
            else:
                body = page
            if page.get("next_stations_after") is None:
                return body
            params = {**params, "stations_after": page["next_stations_after"]}


def actuals(progress: dict[str, Any]) -> dict[str, int]:
    totals = progress.get("totals", {})
    return {m: int(totals.get(m, {}).get("actual", 0)) for m in REFERENCE_MEASURES}


async def pipeline_state(urls: Endpoints) -> str:
    """Each service's relay backlog and its consumers' non-zero lag per partition, from
    their /metrics: what to print when a load or the views do not finish (which service
    holds back what)."""
    lines = []
    async with httpx.AsyncClient(timeout=10) as client:
        for name in ("registry", "activities", "volunteers", "donations", "training", "projector"):
            try:
                text = (await client.get(f"{getattr(urls, name)}/metrics")).text
            except httpx.HTTPError as exc:
                lines.append(f"{name}: /metrics unreachable ({type(exc).__name__})")
                continue
            for line in text.splitlines():
                relay = line.startswith(("wushe_relay_backlog", "wushe_relay_failed"))
                lagging = line.startswith("wushe_consumer_lag_messages{") and not line.endswith(
                    " 0.0"
                )
                if relay or lagging:
                    lines.append(f"{name}: {line}")
    return "\n".join(lines)


async def finished(loading: asyncio.Task[dict[str, Any]], urls: Endpoints) -> dict[str, Any]:
    """The ids a `load` task returned; if it failed, the pipeline's state is printed first
    (which service held back what) and its error raised."""
    try:
        return await asyncio.wait_for(loading, timeout=600)
    except Exception:
        print(f"\n[scenario] the pipeline when the load failed:\n{await pipeline_state(urls)}")
        raise


async def load_while(
    faults: Coroutine[Any, Any, Any],
    scenario: Scenario,
    urls: Endpoints,
    token: str,
    *,
    copy_timeout_s: float,
    timeout_s: float = 240,
) -> dict[str, Any]:
    """Load `scenario` through the APIs while `faults` runs (the fault tests' shape); once
    both are done, what the views show, as `observed` gives it. The load may finish during
    the faults or after them; either way it must end without an error."""
    loading = asyncio.create_task(load(scenario, urls, token, copy_timeout_s=copy_timeout_s))
    try:
        await faults
    except BaseException:
        loading.cancel()
        raise
    ids = await finished(loading, urls)
    return await observed(urls, token, scenario, ids, timeout_s=timeout_s)


async def observed(
    urls: Endpoints, token: str, scenario: Scenario, ids: dict[str, Any], *, timeout_s: float
) -> dict[str, Any]:
    """What the views show once they have caught up (or time ran out), in the shape of
    `Scenario.expected()`: totals, figures per station (by township) and training."""
    final = await wait_for_views(urls.projector, token, scenario, timeout_s=timeout_s)
    stations = final.get("per_station", {})
    per_station = {
        township: {
            m: stations.get(ids["stations"][township], {}).get(m, {}).get("actual", 0)
            for m in figures
        }
        for township, figures in scenario.expected()["per_station"].items()
    }
    training = await wait_for_training(urls.projector, token, scenario, timeout_s=timeout_s)
    return {"totals": actuals(final), "per_station": per_station, "training": training}


async def wait_for_views(
    projector_url: str,
    token: str,
    scenario: Scenario,
    *,
    timeout_s: float = 900,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Poll the programme's progress until the views show every record (or time runs out)
    and return the last answer."""
    expected = scenario.expected()["totals"]
    goal = sum(expected.values())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    last: dict[str, Any] = {}
    while loop.time() < deadline:
        last = await progress_of(projector_url, token, scenario.programme_id)
        seen = actuals(last)
        if progress:
            progress("views", min(goal, sum(min(seen[m], expected[m]) for m in expected)), goal)
        if seen == expected and last.get("stations") == len(scenario.townships):
            return last
        await asyncio.sleep(1)
    return last


async def training_of(
    projector_url: str,
    token: str,
    region: str,
    *,
    by: str | None = None,
    as_of: date | None = None,
) -> dict[str, Any]:
    """The `training` view of a region (GET /views/training): totals, and by region."""
    headers = {"Authorization": f"Bearer {token}"}
    params = {"region": region}
    if by:
        params["by"] = by
    if as_of:
        params["as_of"] = str(as_of)
    async with httpx.AsyncClient(base_url=projector_url, headers=headers, timeout=60) as views:
        r = await views.get("/views/training", params=params)
    _ok(r, (200,))
    body: dict[str, Any] = r.json()
    return body


TRAINING_PROGRESS = (
    "training_sessions",
    "training_person_times",
    "supervision_visits_planned",
    "supervision_visits",
    "rectification_closed",
)


async def wait_for_training(
    projector_url: str,
    token: str,
    scenario: Scenario,
    *,
    timeout_s: float = 900,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Poll the province's `training` view until it shows the generator's training and
    supervision totals (or time runs out) and return its last totals."""
    expected = scenario.training_totals()
    goal = sum(expected.get(k, 0) for k in TRAINING_PROGRESS)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    seen: dict[str, int] = {}
    while loop.time() < deadline:
        seen = (await training_of(projector_url, token, scenario.config.province))["totals"]
        if progress:
            got = sum(min(seen.get(k, 0), expected.get(k, 0)) for k in TRAINING_PROGRESS)
            progress("views (trn)", got, goal)
        if seen == expected:
            return seen
        await asyncio.sleep(1)
    return seen


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def display_width(text: str) -> int:
    """Terminal columns `text` takes: a Chinese character (East Asian wide or fullwidth)
    takes two, which `str.ljust` counts as one, so township names misaligned the table."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad_display(text: str, width: int) -> str:
    """`text` padded with spaces to `width` terminal columns (never cut)."""
    return text + " " * max(0, width - display_width(text))


def report(
    generated: Scenario,
    ids: dict[str, Any],
    final: dict[str, Any],
    cities: dict[str, dict[str, Any]],
    urls: dict[str, str],
    prometheus_url: str,
    training: dict[str, int] | None = None,
) -> str:
    """What the main job prints: progress for the province and each city against the
    targets, the ten most lagging stations, training and supervision (from the `training`
    view, when given), the comparisons with the generator's totals, and where to look
    next."""
    expected = generated.expected()
    names = dict(generated.townships)
    township_of = {sid: code for code, sid in ids["stations"].items()}
    header = f"{'':<14}{'backbones':>22}{'sessions':>22}{'elder person-times':>24}"

    def row(label: str, progress: dict[str, Any]) -> str:
        cells = []
        for m, width in (("backbones", 22), ("sessions", 22), ("person_times:elders", 24)):
            t = progress.get("totals", {}).get(m, {})
            actual, target = int(t.get("actual", 0)), int(t.get("target", 0))
            cell = f"{actual:,}/{target:,} {t.get('percent', 0):5.1f}%"
            cells.append(f"{cell:>{width}}")
        return f"{label:<14}" + "".join(cells)

    lines = [
        "",
        f"蓝马甲 programme {generated.programme_id}: {final.get('stations', 0)} stations, "
        f"{100 * float(final.get('elapsed', 0)):.0f}% of its period elapsed "
        f"(as of {final.get('as_of')})",
        header,
        row(f"province {generated.config.province}", final),
    ]
    for city, progress in cities.items():
        lines.append(row(f"  city {city}", progress))
    lines.append("")
    lines.append("ten most lagging stations (pace = actual / expected by now):")
    lagging = [
        (lag, names.get(township_of.get(lag["station_id"], ""), ""))
        for lag in final.get("lagging", [])[:10]
    ]
    name_width = max((display_width(name) for _, name in lagging), default=0)
    for lag, name in lagging:
        lines.append(
            f"  {lag['station_id']:<16} {pad_display(name, name_width)} pace {lag['pace']:.2f}"
        )
    got = actuals(final)
    same = got == expected["totals"]
    views = urls["projector"]
    lines.append("")
    lines.append(
        "views equal the generator's own totals: "
        + ("yes" if same else f"NO (views {got}, generator {expected['totals']})")
        + f"; money: pledged {_yuan(expected['money']['pledged_fen'])} yuan, received "
        f"{_yuan(expected['money']['received_fen'])}, allocated "
        f"{_yuan(expected['money']['allocated_fen'])}"
    )
    lines += _training_lines(generated, training)
    lines += [
        "",
        "where to look next:",
        *(f"  {name:<12} {url}/docs" for name, url in urls.items()),
        f"  views        {views}/views/programmes/{generated.programme_id}/progress",
        f"               {views}/views/activities?region={generated.config.province}&by=city",
        f"               {views}/views/training?region={generated.config.province}&by=city",
        f"               {views}/views/lineage/{ids['donor_id']}",
        f"  partner feed ./dev wushe partner follow --foundation {ids['donor_id']}",
        "  metrics      <service>/metrics; Prometheus " + prometheus_url,
        "  dashboards   deploy/grafana/dashboards (import into Grafana; docs/observability.md)",
        "  a token      ./dev wushe token --region " + generated.config.province,
        "  stop         ./dev down",
    ]
    return "\n".join(lines)


def _training_lines(generated: Scenario, training: dict[str, int] | None) -> list[str]:
    """The training and supervision section: the view's figures (the generator's when the
    view was not read), what was due and what is overdue from the generator's records."""
    expected = generated.training_totals()
    t = expected if training is None else training
    sup = generated.supervision_summary()
    done, due = t.get("supervision_visits", 0), sup["due"]
    open_ = t.get("rectification_open", 0)
    closed = t.get("rectification_closed", 0)
    lines = [
        "",
        "training and supervision (培训/督导)"
        + (" from the generator (the view was not read):" if training is None else ":"),
        f"  training       {t.get('training_sessions', 0):,} sessions "
        f"({t.get('training_sessions:expert_training', 0):,} expert trainings, "
        f"{t.get('training_sessions:routine_study', 0):,} routine study), "
        f"{t.get('training_person_times', 0):,} person-times, "
        f"{t.get('training_hours_x100', 0) / 100:,.2f} attendee hours; "
        f"{sup['social_workers']:,} resident social workers",
        f"  supervision    {done:,} of {due:,} monthly visits done "
        f"({100 * done / max(1, due):.1f}%), {due - done:,} missed; "
        f"{sup['stations_missing_2_or_more']:,} stations missed two months or more",
        f"  rectification  {open_ + closed:,} items opened, {closed:,} closed "
        f"({t.get('rectification_closed_late', 0):,} late), {open_:,} open "
        f"({sup['rectification_open_past_deadline']:,} past their deadline)",
    ]
    if training is not None:
        same = training == expected
        lines.append(
            "training view equals the generator's own totals: "
            + ("yes" if same else f"NO (view {training}, generator {expected})")
        )
    return lines


# --------------------------------------------------------------------------- as events


def station_id(township: str) -> str:
    """The registry's id of a township's station (one station per township)."""
    return f"st-{township}"


def events(scenario: Scenario) -> list[tuple[str, Event]]:
    """The facts the platform records for the scenario's programme, as (aggregate id, event):
    the programme, enrolments with split targets, backbone promotions, held activities. For
    benchmarks and
    for testing the views without the services (the same records, the same totals)."""
    from wushe.contracts.events import activities as act
    from wushe.contracts.events import registry as reg
    from wushe.contracts.events import volunteers as vol

    cfg, pid = scenario.config, scenario.programme_id
    n = len(scenario.townships)
    shares = {k: split(v, n) for k, v in scenario.targets.items()}
    t = scenario.targets
    # The programme first: without it the views know no period and answer 404 for it.
    out: list[tuple[str, Event]] = [
        (
            pid,
            reg.ProgrammeCreated(
                programme_id=pid,
                region_code=cfg.province,
                name="蓝马甲 (Blue Vest) elder programme",
                scope_regions=[cfg.province] if cfg.province else [],
                start_date=cfg.start,
                end_date=cfg.programme_end,
                total_targets=reg.Targets(
                    backbone_volunteers=t["backbones"],
                    service_sessions=t["sessions"],
                    person_times={"elders": t["elders"]},
                ),
                station_targets=reg.Targets(
                    backbone_volunteers=shares["backbones"][0] if n else 0,
                    service_sessions=shares["sessions"][0] if n else 0,
                    person_times={"elders": shares["elders"][0] if n else 0},
                ),
            ),
        )
    ]
    for i, (code, _) in enumerate(scenario.townships):
        out.append(
            (
                pid,
                reg.StationEnrolled(
                    programme_id=pid,
                    station_id=station_id(code),
                    region_code=code,
                    enrolled_on=cfg.start,
                    targets=reg.Targets(
                        backbone_volunteers=shares["backbones"][i],
                        service_sessions=shares["sessions"][i],
                        person_times={"elders": shares["elders"][i]},
                    ),
                ),
            )
        )
    for j, v in enumerate(scenario.volunteers):
        if v.backbone_on is not None:
            vid = f"vol-s{cfg.seed}-{j:07d}"
            out.append(
                (
                    vid,
                    vol.BackbonePromoted(
                        volunteer_id=vid,
                        station_id=station_id(v.township),
                        region_code=v.township,
                        programme_id=pid,
                        promoted_on=v.backbone_on,
                        reason_code="service_record",
                    ),
                )
            )
    for a in scenario.activities:
        aid = f"act-{a.ref}"
        facts = act.ActivityFacts(
            activity_id=aid,
            station_id=station_id(a.township),
            region_code=a.township,
            programme_ids=[pid],
            service_area="elder_services",
            kind="community_event",
            themes=list(a.themes),
            activity_date=a.day,
        )
        out.append(
            (
                aid,
                act.ActivityHeld(
                    activity=facts,
                    held_on=a.day,
                    counts=act.Counts(sessions=a.sessions, person_times={"elders": a.elders}),
                    linkage=act.Linkage(),
                ),
            )
        )
    return out


def training_events(scenario: Scenario) -> list[tuple[str, Event]]:
    """The training service's facts for the scenario, as (aggregate id, event), with the ids
    the service gives (sessions: the generator's, visits: one per station and month, items:
    numbered per visit) and attendees by stand-in ids: what the `training` view counts, for
    testing it without the services (the same records, the same totals)."""
    from wushe.contracts.events import training as trn

    ids = {
        v.id_number: f"vol-s{scenario.config.seed}-{j:07d}"
        for j, v in enumerate(scenario.volunteers)
    }
    ids |= {
        w.id_number: f"sw-s{scenario.config.seed}-{j:05d}"
        for j, w in enumerate(scenario.social_workers)
    }
    out: list[tuple[str, Event]] = []
    for s in scenario.sessions:
        out.append(
            (
                s.session_id,
                trn.TrainingSessionScheduled(
                    session_id=s.session_id,
                    region_code=s.region_code,
                    course_id=s.course_id,
                    kind=s.kind,
                    mode=s.mode,
                    session_date=s.day,
                    hours=s.hours,
                ),
            )
        )
        if s.attendees:
            attendances = [
                trn.Attendance(
                    attendee_kind=a.kind,
                    attendee_id=ids[a.person],
                    station_id=station_id(a.township),
                    hours=a.hours,
                    credits=a.credits,
                )
                for a in s.attendees
            ]
            out.append(
                (
                    s.session_id,
                    trn.AttendanceRecorded(
                        session_id=s.session_id,
                        region_code=s.region_code,
                        session_date=s.day,
                        attendances=attendances,
                    ),
                )
            )
    for v in scenario.visits:
        sid = station_id(v.township)
        vid = f"sv-{sid}-{v.month}"
        where = {"visit_id": vid, "station_id": sid, "region_code": v.township}
        out.append(
            (
                vid,
                trn.SupervisionVisitPlanned(**where, month=v.month, supervisor_id=v.supervisor_id),
            )
        )
        if v.visited_on is None:
            continue
        out.append(
            (
                vid,
                trn.SupervisionVisitCompleted(
                    **where,
                    month=v.month,
                    visited_on=v.visited_on,
                    checklist=trn.Checklist(**dict.fromkeys(trn.Checklist.model_fields, True)),
                    findings=len(v.findings),
                    rectification_items=len(v.items),
                ),
            )
        )
        for i, it in enumerate(v.items):
            out.append(
                (
                    vid,
                    trn.RectificationItemOpened(
                        **where,
                        item_id=f"{vid}-{i + 1}",
                        category=it.category,
                        deadline=it.deadline,
                    ),
                )
            )
        for i, it in enumerate(v.items):
            if it.closed_on is not None:
                out.append(
                    (
                        vid,
                        trn.RectificationItemClosed(
                            **where,
                            item_id=f"{vid}-{i + 1}",
                            closed_on=it.closed_on,
                            overdue=it.late,
                        ),
                    )
                )
    return out


def envelopes(scenario: Scenario) -> list[Envelope]:
    """The whole scenario's events (the programme's, then training and supervision) as
    CloudEvents, each aggregate's in stream order (`ce_sequence`): `wushe scenario write`."""
    versions: dict[str, int] = defaultdict(int)
    out = []
    for subject, event in [*events(scenario), *training_events(scenario)]:
        versions[subject] += 1
        env = Envelope.wrap(event, source="/wushe/scenario", subject=subject)
        out.append(env.model_copy(update={"sequence": f"{versions[subject]:010d}.0000"}))
    return out
