"""The generator: a province's 蓝马甲 (Blue Vest) programme as the stations would record it,
deterministic from a seed. The reference case is Jiangxi: 462 stations on real townships
spread over its cities, 5,000 backbone volunteers, 5,544 service sessions and 46,000 elder
person-times in a year, funded by a foundation's pledge. Smaller or larger scenarios scale
the targets with the number of stations. Stations perform unevenly (some ahead of the pace,
some lagging). Training and supervision (培训/督导) come with it: resident social workers, a
course series, expert trainings per city and routine study sessions per county with
attendance, and a supervision visit planned for every station and month, most done, some
missed, some opening rectification items that are closed in time, late or not yet."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

from wushe.validators import resident_id_check_char
from wushe_dev.scenario.model import (
    PROGRAMME_PREFIX,
    REFERENCE,
    Activity,
    Attendee,
    Config,
    Course,
    Rectification,
    Scenario,
    SocialWorker,
    TrainingSession,
    Visit,
    Volunteer,
    split,
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "秀英桂兰建华明德文芳志强玉珍春梅国平金凤海燕丽红小军淑琴永福"
THEMES = ("anti_fraud", "smart_devices", "health", "mutual_aid")


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
    _name_elders(activities, config)
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


def _name_elders(activities: list[Activity], config: Config) -> None:
    """Who came to each activity: a station serves a circle of elders about a quarter as many
    as its elder person-times, and the same elders come again and again. From a generator
    of their own, so every earlier record of a seed stays as it was."""
    rng = random.Random(f"elders-{config.seed}")
    person_times: dict[str, int] = defaultdict(int)
    for a in activities:
        person_times[a.township] += a.elders
    for a in activities:
        circle = max(a.elders, person_times[a.township] // 4)
        chosen = sorted(rng.sample(range(circle), a.elders))
        a.participants = tuple(f"E{a.township}{n:05d}" for n in chosen)


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


# Yongchuan's year (docs/domain.md): 10 expert trainings and 63 routine study sessions, 1,300+
# training person-times for its 23 stations. Here every city holds about ten expert
# trainings a year for up to 60 of its social workers each (more where more are to be
# trained, so each is invited to about ten), and every county a routine study session a
# month for up to 15 of its own (in more groups where there are more): person-times grow
# with the stations and months, sessions with the cities and counties covered and months.
EXPERT_PER_YEAR, EXPERT_BATCH = 10, 60
ROUTINE_PER_YEAR, ROUTINE_GROUP = 12, 15
COURSES = (  # the course series of docs/domain.md: (slug, title, topics)
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
