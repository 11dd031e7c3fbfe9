"""The scenario generator's training and supervision (培训/督导), without a stack: the same
seed gives the same records, one supervision visit per station and month with realistic
gaps, rectification items closed in time, late or not at all, sessions spread over the
cities, counties and months, person-times growing with the stations and months, and no
personal data in the events."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import asdict, replace
from datetime import date, timedelta
from functools import cache

from wushe_dev import scenario
from wushe_dev.scenario import Config, Scenario

END = date(2026, 10, 31)


def townships() -> list[tuple[str, str]]:
    """A province like Jiangxi: 11 cities, 6 to 14 counties each, 8 to 20 townships each."""
    rng = random.Random(1)
    out = []
    for city in range(1, 12):
        for county in range(2, 2 + rng.randint(6, 14)):
            for town in range(1, 1 + rng.randint(8, 20)):
                out.append((f"36{city:02d}{county:02d}{town:03d}", f"镇{city}-{county}-{town}"))
    return out


@cache
def generated(stations: int = 462, months: int = 12, seed: int = 7) -> Scenario:
    return scenario.generate(
        Config(stations=stations, months=months, seed=seed, end=END), townships()
    )


def records(s: Scenario) -> list[dict[str, object]]:
    return [asdict(r) for r in (*s.social_workers, *s.courses, *s.sessions, *s.visits)]


def test_the_same_seed_gives_the_same_training_and_supervision() -> None:
    config = Config(stations=40, months=6, seed=5, end=END)
    first, again = scenario.generate(config, townships()), scenario.generate(config, townships())
    assert records(first) == records(again)
    assert first.expected() == again.expected()
    other = scenario.generate(Config(stations=40, months=6, seed=6, end=END), townships())
    assert records(other) != records(first)


def test_one_visit_planned_per_station_and_month_most_done_some_missed() -> None:
    s = generated()
    months = {f"{d:%Y-%m}" for d in (s.config.start + timedelta(days=i) for i in range(400))}
    months = {m for m in months if f"{s.config.start:%Y-%m}" <= m <= f"{END:%Y-%m}"}
    assert len(months) == 12
    per = Counter((v.township, v.month) for v in s.visits)
    assert set(per.values()) == {1}
    assert set(per) == {(code, m) for code, _ in s.townships for m in months}
    summary = s.supervision_summary()
    assert summary["due"] == summary["planned"] == 462 * 12
    assert 0.88 * summary["due"] < summary["done"] < 0.97 * summary["due"]
    # Gaps: a few stations miss two months or more, most miss none or one.
    assert 10 < summary["stations_missing_2_or_more"] < 462 // 3
    missed_by_month = Counter(v.month[5:] for v in s.visits if v.visited_on is None)
    assert missed_by_month["02"] > max(n for m, n in missed_by_month.items() if m != "02")
    # The stations with the fewest activities (the struggling ones) miss more often.
    done: dict[str, int] = defaultdict(int)
    for v in s.visits:
        done[v.township] += v.visited_on is not None
    counts = Counter(a.township for a in s.activities)
    weakest = sorted(counts, key=lambda c: (counts[c], c))[:30]
    assert sum(done[c] for c in weakest) / 30 < 0.9 * sum(done.values()) / len(done)
    for v in s.visits:
        if v.visited_on is not None:
            assert f"{v.visited_on:%Y-%m}" == v.month
            assert s.config.start <= v.visited_on <= END
            assert v.findings  # the three steps always find something to note
        else:
            assert not v.items
        assert v.supervisor_id.startswith(f"sup-{v.township[:4]}-")


def test_rectification_items_closed_in_time_late_or_still_open() -> None:
    s = generated()
    items = [(v, it) for v in s.visits for it in v.items]
    assert 0.3 * len(s.visits) < len(items) < len(s.visits)
    for v, it in items:
        assert v.visited_on is not None
        assert it.deadline > v.visited_on
        if it.closed_on is not None:
            assert v.visited_on < it.closed_on <= END
    on_time = [it for _, it in items if it.closed_on is not None and not it.late]
    late = [it for _, it in items if it.late]
    overdue = [it for _, it in items if it.closed_on is None and it.deadline < END]
    not_due = [it for _, it in items if it.closed_on is None and it.deadline >= END]
    assert len(on_time) > 2 * len(late) > 0
    assert overdue
    assert not_due
    summary = s.supervision_summary()
    assert summary["rectification_closed_late"] == len(late)
    assert summary["rectification_open_past_deadline"] == len(overdue)
    assert {it.category for _, it in items} == {c for c, _, _ in scenario.ITEM_CATEGORIES}


def test_sessions_are_spread_over_cities_counties_and_months() -> None:
    s = generated()
    expert = [x for x in s.sessions if x.kind == "expert_training"]
    routine = [x for x in s.sessions if x.kind == "routine_study"]
    # Every city holds about ten expert trainings a year (more where more social workers
    # are to be trained: each is invited to about ten), every county a routine study
    # session a month (in groups of up to 15); Yongchuan's ten and 63 for its 23 stations.
    cities = {code[:4] for code, _ in s.townships}
    counties = {code[:6] for code, _ in s.townships}
    per_city = Counter(x.region_code for x in expert)
    per_county = Counter(x.region_code for x in routine)
    assert set(per_city) == cities
    assert set(per_county) == counties
    assert min(per_city.values()) >= 10
    assert min(per_county.values()) >= 12
    staff = Counter(w.township[:4] for w in s.social_workers)
    for city, n in per_city.items():  # each social worker invited to about ten a year
        batch = min(staff[city], scenario.EXPERT_BATCH)
        assert abs(n * batch - 10 * staff[city]) <= staff[city]
    assert 150 < len(expert) < 250
    assert 1000 < len(routine) < 1600
    by_month = Counter(f"{x.day:%Y-%m}" for x in s.sessions)
    assert len(by_month) == 12
    assert max(by_month.values()) < 2 * min(by_month.values())
    assert all(x.day.weekday() < 5 and s.config.start <= x.day <= END for x in s.sessions)
    assert len({x.session_id for x in s.sessions}) == len(s.sessions)
    assert len({x.mode for x in s.sessions}) == 2


def test_attendance_is_the_regions_people_once_each_within_the_sessions_hours() -> None:
    s = generated()
    workers = {w.id_number: w for w in s.social_workers}
    backbones = {v.id_number: v for v in s.volunteers if v.backbone_on is not None}
    assert 1.5 * 462 < len(workers) < 3 * 462
    kinds: Counter[str] = Counter()
    short = 0
    for x in s.sessions:
        people = [(a.kind, a.person) for a in x.attendees]
        assert len(people) == len(set(people))
        for a in x.attendees:
            kinds[a.kind] += 1
            known = workers if a.kind == "social_worker" else backbones
            assert known[a.person].township == a.township
            assert a.township.startswith(x.region_code)
            assert 0 < a.hours <= x.hours
            assert (a.hours * 4).is_integer()
            short += a.hours < x.hours
        assert x.kind == "routine_study" or all(a.kind == "social_worker" for a in x.attendees)
    assert kinds["social_worker"] > 5 * kinds["volunteer"] > 0
    assert 0 < short < 0.2 * sum(kinds.values())
    person_times = s.training_totals()["training_person_times"]
    assert 40 * 462 < person_times < 75 * 462  # Yongchuan: 1,300+ for 23 stations


def test_training_scales_with_stations_and_months() -> None:
    year, half = generated(), generated(months=6)
    assert abs(len(half.sessions) - len(year.sessions) / 2) < 0.05 * len(year.sessions)
    assert len(half.visits) == 462 * 6
    # Person-times grow with the stations (sessions with the cities and counties covered).
    per_station = year.training_totals()["training_person_times"] / 462
    small = generated(stations=40)
    assert abs(small.training_totals()["training_person_times"] / 40 - per_station) < (
        0.25 * per_station
    )
    assert len(small.visits) == 40 * 12
    tiny = generated(stations=6, months=3, seed=3)
    assert {x.kind for x in tiny.sessions} == {"expert_training", "routine_study"}
    assert len(tiny.visits) == 18
    assert sum(bool(x.attendees) for x in tiny.sessions) > 0.8 * len(tiny.sessions)


def test_the_training_totals_as_of_any_day_and_by_city() -> None:
    s = generated()
    totals = s.training_totals()
    assert totals == s.expected()["training"]
    assert totals["training_sessions"] == len(s.sessions)
    assert totals["supervision_visits"] == s.supervision_summary()["done"]
    summary = s.supervision_summary()
    opened = totals["rectification_open"] + totals["rectification_closed"]
    assert opened == summary["rectification_opened"]
    by_city = s.training_totals(by_city=True)
    assert set(by_city) == {code[:4] for code, _ in s.townships}
    for name, n in totals.items():
        assert sum(c.get(name, 0) for c in by_city.values()) == n
    day, last = s.config.start, {}
    while day <= END:
        so_far = s.training_totals(as_of=day)
        assert all(n > 0 for n in so_far.values())  # nothing open before it was opened
        for name, n in last.items():
            if name != "rectification_open":
                assert so_far[name] >= n
        last = so_far
        day += timedelta(days=7)
    assert s.training_totals(as_of=END) == totals
    assert s.training_totals(as_of=s.config.start - timedelta(days=1)) == {}


def test_no_personal_data_in_the_training_events() -> None:
    s = generated(stations=40)
    text = "\n".join(e.model_dump_json() for _, e in scenario.training_events(s))
    people = [*s.social_workers, *s.volunteers]
    for p in people:
        assert p.id_number not in text
        assert p.phone not in text
    names = {p.name for p in people if len(p.name) == 3}
    assert not [n for n in names if n in text]


async def test_loader_retries_what_the_platform_asks_to_retry() -> None:
    """503 (store busy) and 429 (rate limit) with Retry-After are retried; others are not."""
    from fastapi import FastAPI, Response

    from wushe_dev.scenario import patient_client
    from wushe_dev.testing import serve_http

    app = FastAPI()
    calls = {"busy": 0, "bad": 0}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/busy")
    async def busy() -> Response:
        calls["busy"] += 1
        if calls["busy"] <= 2:
            code = 503 if calls["busy"] == 1 else 429
            return Response(status_code=code, headers={"Retry-After": "0"})
        return Response(status_code=201)

    @app.post("/bad")
    async def bad() -> Response:
        calls["bad"] += 1
        return Response(status_code=422)

    async with serve_http(app) as url, patient_client(url, {}, timeout=10) as client:
        assert (await client.post("/busy", json={})).status_code == 201
        assert (await client.post("/bad", json={})).status_code == 422
    assert calls == {"busy": 3, "bad": 1}


def test_several_years_add_up_flows_not_the_stock_of_backbones() -> None:
    """Three years: three years' sessions and person-times (targets are yearly, and a full
    period at pace meets them), the same backbones, a programme ending three years on."""
    one, three = generated(months=12), generated(months=36)
    assert three.config.programme_end == date(2026, 10, 31)
    assert three.config.start == date(2023, 11, 1)
    assert three.targets["sessions"] == 3 * one.targets["sessions"] == 3 * 5544
    assert three.targets["elders"] == 3 * one.targets["elders"]
    assert three.targets["backbones"] == one.targets["backbones"]
    totals = three.expected()["totals"]
    assert totals["sessions"] >= 3 * 5544
    assert totals["person_times:elders"] >= 3 * 46000
    assert len({a.day.year for a in three.activities}) == 4  # Nov 2023 .. Oct 2026


def test_the_event_file_starts_with_its_programme() -> None:
    """`wushe scenario write` feeds the views directly: the programme (its period and
    targets) comes first, then the enrolments, so progress can be read from them alone."""
    from wushe.contracts.events import registry as reg

    s = generated(stations=40)
    events = scenario.events(s)
    first = events[0][1]
    assert isinstance(first, reg.ProgrammeCreated)
    assert (first.start_date, first.end_date) == (s.config.start, s.config.programme_end)
    assert first.total_targets.service_sessions == s.targets["sessions"]
    enrolled = [e for _, e in events if isinstance(e, reg.StationEnrolled)]
    assert len(enrolled) == 40


async def test_a_failed_call_of_the_loader_names_the_request() -> None:
    """A transport error from httpx is often only its class name ("httpx.ReadError"); the
    loader's transport adds which call it was, so a failed load says where it stopped."""
    import httpx
    import pytest

    from wushe_dev.devstack import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with scenario.patient_client(url, {}, timeout=5) as client:
        with pytest.raises(httpx.ConnectError) as failed:
            await client.post("/programmes", json={})
    assert f"during POST {url}/programmes" in getattr(failed.value, "__notes__", [])


def test_the_lagging_stations_table_aligns_chinese_names() -> None:
    """A township name's characters take two terminal columns each: the pace column starts
    at the same column on every line however long the name (a 3-character 镇 beside a
    12-character 开发区管委会 name misaligned with `str.ljust`)."""
    s = generated(stations=40)
    names = ["石塘镇", "昌江街道", "万福经济技术开发区管委会", "ab镇"]
    codes = [code for code, _ in s.townships[: len(names)]]
    renamed = replace(s, townships=list(zip(codes, names, strict=True)))
    ids = {"stations": {code: f"st-{code}" for code in codes}, "donor_id": "dnr-1"}
    final = {"lagging": [{"station_id": f"st-{code}", "pace": 0.1} for code in codes]}
    printed = scenario.report(renamed, ids, final, {}, {"projector": "http://v"}, "-", None)
    rows = [line for line in printed.splitlines() if line.startswith("  st-")]
    assert len(rows) == len(names)
    columns = {scenario.display_width(row[: row.index(" pace ")]) for row in rows}
    assert len(columns) == 1, rows
    assert scenario.display_width("万福a") == 5


def test_the_main_job_ends_with_the_consoles_address_and_the_dev_signin() -> None:
    s = generated(stations=40)
    ids = {"stations": {}, "donor_id": "dnr-1"}
    urls = {"projector": "http://v"}
    printed = scenario.report(s, ids, {}, {}, urls, "-", None, console_url="http://c:8100")
    last = printed.splitlines()[-1]
    assert last == scenario.console_line("http://c:8100")
    assert last.startswith("控制台 console: http://c:8100/signin")
    for person in ("province", "county", "station worker", "foundation"):
        assert person in last
    assert "控制台" not in scenario.report(s, ids, {}, {}, urls, "-", None)


def test_each_provinces_scenario_names_a_foundation_of_its_own() -> None:
    """Scenarios of different provinces on one broker (the fault tests, the end-to-end test)
    must not register one organisation id as different things: a copy that has not yet
    applied the newest registration would check a donor against another test's kind (CI
    failed so once: "org-91350100M000100Y43 is registered as a social_work_org")."""
    from wushe.validators import check_uscc

    codes = {p: scenario.foundation_credit_code(p) for p in ("36", "46", "64", "11")}
    assert all(check_uscc(code) == code for code in codes.values())
    assert all(code.startswith(f"53{p}0000") for p, code in codes.items())
    assert len(set(codes.values())) == len(codes)


def test_the_main_job_prints_the_provinces_coverage() -> None:
    s = generated(stations=40)
    ids = {"stations": {}, "donor_id": "dnr-1"}
    coverage = {
        "units": {"street": 5, "town": 1, "zone": 1, "farm": 2},
        "covered": {"street": 1, "town": 1, "zone": 1},
        "counted": 6,
        "counted_covered": 2,
        "coverage": 0.3333,
    }
    printed = scenario.report(s, ids, {}, {}, {"projector": "v"}, "-", None, coverage=coverage)
    assert (
        "coverage (覆盖率): 2 of 6 streets, towns and townships have a station at work (33.3%); "
        "3 other units (zones, farms, offices) counted beside it, 1 with a station"
    ) in printed.splitlines()
