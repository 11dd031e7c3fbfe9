"""The scenario generator: a province's 蓝马甲 (Blue Vest) programme as the stations would
record it, deterministic from a seed, and the totals the views must show afterwards,
computed from the generator's own records (never read back from the platform).

The reference case is Jiangxi: 462 stations on real townships spread over its cities,
5,000 backbone volunteers, 5,544 service sessions and 46,000 elder person-times in a year,
funded by a foundation's pledge. Smaller or larger scenarios scale the targets with the
number of stations. Stations perform unevenly (some ahead of the pace, some lagging).

`load` plays the records through the public REST APIs only (imports where they exist,
single calls elsewhere); it never writes a database or Kafka.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from wushe.contracts import Envelope, Event
from wushe.validators import resident_id_check_char

REFERENCE = {"stations": 462, "backbones": 5000, "sessions": 5544, "elders": 46000}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "秀英桂兰建华明德文芳志强玉珍春梅国平金凤海燕丽红小军淑琴永福"
THEMES = ("anti_fraud", "smart_devices", "health", "mutual_aid")


@dataclass(frozen=True)
class Config:
    province: str = "36"
    stations: int = 462
    months: int = 12
    intensity: float = 1.0  # 1.0: the programme's pace on average; 1.2: ahead
    seed: int = 7
    end: date = field(default_factory=lambda: date.today() - timedelta(days=1))

    @property
    def start(self) -> date:
        """The programme starts `months` months before the end (its first day of month)."""
        year, month = self.end.year, self.end.month - self.months + 1
        while month <= 0:
            month, year = month + 12, year - 1
        return date(year, month, 1)


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
    targets = {k: round(v * scale) for k, v in REFERENCE.items() if k != "stations"}
    share = {k: split(v, n) for k, v in targets.items()}  # per station, as enrolment splits
    elapsed = min(1.0, config.months / 12)
    days = (config.end - config.start).days + 1
    volunteers: list[Volunteer] = []
    activities: list[Activity] = []
    ids: set[str] = set()
    for i, (code, _) in enumerate(townships):
        # Each station's pace: most near the programme's, some ahead, some far behind.
        pace = max(0.05, rng.gauss(1.0, 0.25)) * config.intensity
        if rng.random() < 0.08:
            pace *= 0.3  # a struggling station
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
    return Scenario(
        config=config,
        programme_id=f"blue-vest-{config.province}-{config.start:%Y%m}-n{n}-s{config.seed}",
        townships=townships,
        targets=targets,
        volunteers=volunteers,
        activities=activities,
        pledge_fen=pledge,
        gifts_fen=gifts,
        allocations_fen=allocations,
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


def _id_number(township: str, rng: random.Random, used: set[str]) -> str:
    while True:
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 50))
        first17 = f"{township[:6]}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        number = first17 + resident_id_check_char(first17)
        if number not in used:
            used.add(number)
            return number


# --------------------------------------------------------------------------- loading


@dataclass
class Endpoints:
    registry: str
    activities: str
    volunteers: str
    donations: str
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
        httpx.AsyncClient(base_url=urls.registry, headers=headers, timeout=120) as reg,
        httpx.AsyncClient(base_url=urls.activities, headers=headers, timeout=300) as act,
        httpx.AsyncClient(base_url=urls.volunteers, headers=headers, timeout=300) as vol,
        httpx.AsyncClient(base_url=urls.donations, headers=headers, timeout=120) as don,
    ):
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
                "end_date": str(_year_after(cfg.start)),
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
        org = await reg.post(
            "/organisations",
            json={
                "name": "江西省蓝马甲公益基金会" if cfg.province == "36" else "公益基金会",
                "kind": "foundation",
                "credit_code": "91350100M000100Y43",
                "region_code": cfg.province,
            },
        )
        org_id = org.json()["org_id"] if org.status_code == 201 else await _org_id(reg)
        note("programme", 1, 1)

        # 2. Volunteers, registered one by one (the answer carries the id backbones need);
        # until the volunteers service has the stations from the registry's events, a
        # registration is refused with "unknown station" and writes nothing: retry.
        vid_of: dict[str, str] = {}
        deadline = asyncio.get_running_loop().time() + copy_timeout_s

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
                r = await _retry_while_unknown(lambda: vol.post("/volunteers", json=body), deadline)
                _ok(r, (201,))
                vid_of[v.id_number] = r.json()["volunteer_id"]
                if len(vid_of) % 250 == 0 or len(vid_of) == len(scenario.volunteers):
                    note("volunteers", len(vid_of), len(scenario.volunteers))

        await asyncio.gather(*(register(v) for v in scenario.volunteers))

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
                r = await _retry_while_unknown(lambda: vol.post(path, json=body), deadline)
                _ok(r, (200, 409))
                done += 1
                if done % 250 == 0 or done == len(backbones):
                    note("backbones", done, len(backbones))

        await asyncio.gather(*(promote(v) for v in backbones))

        # 4. A year of activities: planned and held in one import, in chunks. Re-importing a
        # chunk is harmless (external refs), so rows refused while the activities service did
        # not yet know the programme are simply imported again.
        chunk = 2000
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

            report = await _retry_while_unknown(import_part, deadline)
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
            deadline,
        )
        _ok(r, (201,))
        donor = str(r.json()["donor_id"])
        key = f"scenario-{pid}"
        r = await don.post(
            "/pledges",
            headers={"Idempotency-Key": f"{key}-pledge"},
            json={
                "donor_id": donor,
                "programme_id": pid,
                "amount_fen": scenario.pledge_fen,
                "period_start": str(cfg.start),
                "period_end": str(_year_after(cfg.start)),
            },
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

        async def allocate(code: str, amount: int) -> None:
            async with gate:
                r = await don.post(
                    f"/funds/{fund}/allocations",
                    headers={"Idempotency-Key": f"{key}-alloc-{code}"},
                    json={
                        "station_id": station_of[code],
                        "amount_fen": amount,
                        "allocated_on": str(cfg.start),
                    },
                )
                _ok(r, (201,))

        await asyncio.gather(*(allocate(c, f) for c, f in scenario.allocations_fen.items()))
        note("donations", 1, 1)
    return {"programme_id": pid, "donor_id": donor, "fund_id": fund, "stations": station_of}


def _year_after(day: date) -> date:
    return date(day.year + 1, day.month, 1) - timedelta(days=1)


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


async def _org_id(reg: httpx.AsyncClient) -> str:
    page = (await reg.get("/organisations", params={"limit": 500})).json()
    return str(next(o["org_id"] for o in page["items"] if o["kind"] == "foundation"))


UNKNOWN = ("unknown station", "unknown programme", "not enrolled", "unknown organisation")


async def _retry_while_unknown(
    call: Callable[[], Awaitable[httpx.Response]], deadline: float
) -> httpx.Response:
    """Other services learn stations and programmes from the registry's events within a
    second or two; until then they refuse what names them (422, nothing written)."""
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
    headers = {"Authorization": f"Bearer {token}"}
    params = {"region": region} if region else {}
    async with httpx.AsyncClient(base_url=projector_url, headers=headers, timeout=60) as views:
        r = await views.get(f"/views/programmes/{programme_id}/progress", params=params)
    if r.status_code == 404:
        return {}
    _ok(r, (200,))
    body: dict[str, Any] = r.json()
    return body


def actuals(progress: dict[str, Any]) -> dict[str, int]:
    totals = progress.get("totals", {})
    return {m: int(totals.get(m, {}).get("actual", 0)) for m in REFERENCE_MEASURES}


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


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def report(
    generated: Scenario,
    ids: dict[str, Any],
    final: dict[str, Any],
    cities: dict[str, dict[str, Any]],
    urls: dict[str, str],
    prometheus_url: str,
) -> str:
    """What the main job prints: progress for the province and each city against the
    targets, the ten most lagging stations, the comparison with the generator's totals, and
    where to look next."""
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
        f"{100 * float(final.get('elapsed', 0)):.0f}% of the year elapsed "
        f"(as of {final.get('as_of')})",
        header,
        row(f"province {generated.config.province}", final),
    ]
    for city, progress in cities.items():
        lines.append(row(f"  city {city}", progress))
    lines.append("")
    lines.append("ten most lagging stations (pace = actual / expected by now):")
    for lag in final.get("lagging", [])[:10]:
        code = township_of.get(lag["station_id"], "")
        lines.append(f"  {lag['station_id']:<16} {names.get(code, ''):<10} pace {lag['pace']:.2f}")
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
    lines += [
        "",
        "where to look next:",
        *(f"  {name:<11} {url}/docs" for name, url in urls.items()),
        f"  views        {views}/views/programmes/{generated.programme_id}/progress",
        f"               {views}/views/activities?region={generated.config.province}&by=city",
        f"               {views}/views/lineage/{ids['donor_id']}",
        "  metrics      <service>/metrics; Prometheus " + prometheus_url,
        "  dashboards   deploy/grafana/dashboards (import into Grafana; docs/observability.md)",
        "  a token      ./dev wushe token --region " + generated.config.province,
        "  stop         ./dev down",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- as events


def station_id(township: str) -> str:
    """The registry's id of a township's station (one station per township)."""
    return f"st-{township}"


def events(scenario: Scenario) -> list[tuple[str, Event]]:
    """The facts the platform records for the scenario's programme, as (aggregate id, event):
    enrolments with split targets, backbone promotions, held activities. For benchmarks and
    for testing the views without the services (the same records, the same totals)."""
    from wushe.contracts.events import activities as act
    from wushe.contracts.events import registry as reg
    from wushe.contracts.events import volunteers as vol

    cfg, pid = scenario.config, scenario.programme_id
    n = len(scenario.townships)
    shares = {k: split(v, n) for k, v in scenario.targets.items()}
    out: list[tuple[str, Event]] = []
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


def envelopes(scenario: Scenario) -> list[Envelope]:
    """The events as CloudEvents, each aggregate's in stream order (`ce_sequence`)."""
    versions: dict[str, int] = defaultdict(int)
    out = []
    for subject, event in events(scenario):
        versions[subject] += 1
        env = Envelope.wrap(event, source="/wushe/scenario", subject=subject)
        out.append(env.model_copy(update={"sequence": f"{versions[subject]:010d}.0000"}))
    return out
