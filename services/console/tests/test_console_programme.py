"""The programme dashboard: pace as the projector computes it, the projector's answers shaped
into rows and chart data, and the page against fake services (the figures on the page are
the API's, drill-down links carry the day, nothing outside the person's scope is shown)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from console.domain import programme as dom
from wushe.auth import DevKeys

pytestmark = pytest.mark.unit

START, END = date(2026, 1, 1), date(2026, 12, 31)
PROGRAMME = dom.Programme("blue-vest", "蓝马甲行动", "36", START, END)
PROGRAMME_DOC = {  # the registry's, for PROGRAMME
    "programme_id": "blue-vest",
    "name": "蓝马甲行动",
    "region_code": "36",
    "start_date": "2026-01-01",
    "end_date": "2026-12-31",
}


def totals(
    backbones: tuple[float, float], sessions: tuple[float, float], elders: tuple[float, float]
) -> dict[str, Any]:
    return {
        "backbones": {"actual": backbones[0], "target": backbones[1]},
        "sessions": {"actual": sessions[0], "target": sessions[1]},
        "person_times:elders": {"actual": elders[0], "target": elders[1]},
    }


# -- which programme, region and day


def test_elapsed_is_the_projectors_share_of_the_period() -> None:
    assert dom.elapsed(START, END, START) == 0.0
    assert dom.elapsed(START, END, date(2026, 12, 7)) == pytest.approx(340 / 364)
    assert dom.elapsed(START, END, date(2025, 6, 1)) == 0.0  # before: nothing due
    assert dom.elapsed(START, END, date(2027, 6, 1)) == 1.0  # after: everything due


def test_pace_is_actual_over_what_should_be_done_and_marks_lagging_or_ahead() -> None:
    assert dom.pace_of(45, 100, 0.5) == pytest.approx(0.9)
    assert dom.pace_of(10, 0, 0.5) is None  # no target
    assert dom.pace_of(10, 100, 0.0) is None  # day one: nothing due yet
    assert dom.mark(None) == "none"
    assert dom.mark(0.5) == "lagging"
    assert dom.mark(0.949) == "lagging"
    assert dom.mark(0.95) == "on_track"
    assert dom.mark(1.049) == "on_track"
    assert dom.mark(1.05) == "ahead"
    assert dom.worst([1.2, None, 0.7]) == 0.7
    assert dom.worst([None]) is None


def test_month_ends_are_the_points_before_the_day_within_the_period() -> None:
    assert dom.month_ends(START, END, date(2026, 3, 15)) == [date(2026, 1, 31), date(2026, 2, 28)]
    # the as-of day is the last point itself (its own call), never twice
    assert dom.month_ends(START, END, date(2026, 3, 31))[-1] == date(2026, 2, 28)
    assert dom.month_ends(START, END, date(2025, 12, 1)) == []
    assert len(dom.month_ends(START, END, date(2027, 3, 1))) == 12
    assert dom.month_ends(START, END, date(2027, 3, 1))[-1] == date(2026, 12, 31)
    long = dom.month_ends(date(2020, 1, 1), date(2026, 12, 31), date(2026, 12, 7))
    assert len(long) == dom.MAX_MONTHS
    assert long[-1] == date(2026, 11, 30)


def test_the_programme_is_the_one_asked_for_else_the_regions_running_one() -> None:
    old = dom.Programme("old", "旧项目", "36", date(2025, 1, 1), date(2025, 12, 31))
    other = dom.Programme("hb", "别省项目", "42", START, END)
    county = dom.Programme("county", "县项目", "360102", START, END)
    day = date(2026, 6, 1)
    assert dom.pick_programme([old, PROGRAMME], None, "36", day) == PROGRAMME
    assert dom.pick_programme([old, PROGRAMME], "old", "36", day) == old
    assert dom.pick_programme([old, PROGRAMME], "nope", "36", day) is None
    assert dom.pick_programme([other, old], None, "36", day) == old  # the region's, not running
    assert dom.pick_programme([county, other], None, "3601", day) == county  # a part of it
    assert dom.pick_programme([], None, "36", day) is None


def test_programmes_come_from_the_registrys_page() -> None:
    page = {"items": [PROGRAMME_DOC, {"programme_id": "no-period", "name": "无周期"}]}
    assert dom.programmes_from(page) == [PROGRAMME]


def test_regions_levels_and_scope() -> None:
    assert [dom.level_of(c) for c in ("36", "3601", "360102", "360102001", "abc", "")] == [
        "province",
        "city",
        "county",
        None,
        None,
        None,
    ]
    assert dom.within("360102", "36")
    assert dom.within("36", "36")
    assert not dom.within("36", "3601")
    assert not dom.within("42", "36")
    assert not dom.within("36", "-")  # a foundation holds no region
    assert dom.default_region("3601", PROGRAMME) == "3601"
    assert dom.default_region("", PROGRAMME) == "36"


def test_the_day_defaults_to_today_and_a_bad_one_is_said() -> None:
    today = date(2026, 12, 7)
    assert dom.parse_day(None, today) == (today, False)
    assert dom.parse_day("2026-03-31", today) == (date(2026, 3, 31), False)
    assert dom.parse_day("31/03/2026", today) == (today, True)


# -- rows


def test_figures_carry_actual_target_expected_and_pace() -> None:
    backbones, sessions, elders = dom.figures_of(totals((45, 100), (60, 100), (0, 0)), 0.5)
    assert (backbones.actual, backbones.target, backbones.expected) == (45, 100, 50.0)
    assert backbones.done == pytest.approx(0.45)
    assert backbones.pace == pytest.approx(0.9)
    assert backbones.mark == "lagging"
    assert (backbones.meter_low, backbones.meter_high) == (40.0, 47.5)
    assert sessions.mark == "ahead"
    assert elders.done is None
    assert elders.pace is None
    assert elders.mark == "none"
    assert [f.measure.key for f in dom.figures_of({}, 0.5)] == [
        "backbones",
        "sessions",
        "elder_person_times",
    ]


def test_children_side_by_side_slowest_first_with_their_links() -> None:
    children = [
        {"code": "3601", "name": "南昌市"},
        {"code": "3602", "name": "景德镇市"},
        {"code": "3603", "name": "萍乡市"},  # the programme reaches no station there
    ]
    answers = {
        "3601": {
            "elapsed": 0.5,
            "stations": 3,
            "totals": totals((60, 100), (60, 100), (60, 100)),
            "lagging": [{"station_id": "st-1", "pace": 0.5}],
        },
        "3602": {
            "elapsed": 0.5,
            "stations": 2,
            "totals": totals((40, 100), (60, 100), (60, 100)),
            "lagging": [],
        },
        "3603": {"elapsed": 0.5, "stations": 0, "totals": {}, "lagging": []},
    }
    rows = dom.region_rows(
        children, answers, as_of=date(2026, 7, 2), programme=None, approved={"3601": "2026-05"}
    )
    assert [r.name for r in rows] == ["景德镇市", "南昌市"]
    slow, fast = rows
    assert slow.pace == pytest.approx(0.8)
    assert slow.mark == "lagging"
    assert fast.pace == pytest.approx(1.2)
    assert fast.mark == "ahead"
    assert (fast.stations, fast.lagging, fast.approved_through) == (3, 1, "2026-05")
    assert fast.href == "/programme?region=3601&as_of=2026-07-02"
    kept = dom.region_rows(children, answers, as_of=date(2026, 7, 2), programme="blue-vest")
    assert kept[0].href.endswith("&programme=blue-vest")


def test_a_countys_stations_are_its_children_linked_to_their_pages() -> None:
    per_station = {
        "st-1": totals((10, 10), (12, 12), (100, 100)),
        "st-2": totals((2, 10), (12, 12), (100, 100)),
    }
    rows = dom.station_rows(per_station, {"st-1": "甲社工站", "st-2": "乙社工站"}, 1.0)
    assert [(r.name, r.href) for r in rows] == [
        ("乙社工站", "/stations/st-2"),
        ("甲社工站", "/stations/st-1"),
    ]


def test_lagging_stations_have_their_names_and_counties() -> None:
    lagging = [{"station_id": "st-1", "pace": 0.17}, {"station_id": "st-9", "pace": 0.3}]
    stations = {"st-1": ("桃花街道社工站", "360103014")}
    rows = dom.lagging_rows(lagging, stations, {"360103": "西湖区"}, {}, 0.9)
    assert [(r.name, r.county, r.href, r.pace) for r in rows] == [
        ("桃花街道社工站", "西湖区", "/stations/st-1", 0.17),
        ("", "", "/stations/st-9", 0.3),  # a name the registry did not give: the page says 社工站
    ]
    with_figures = dom.lagging_rows(
        lagging[:1], stations, {}, {"st-1": totals((1, 10), (1, 12), (1, 100))}, 0.5
    )
    assert [f.actual for f in with_figures[0].figures] == [1, 1, 1]


def test_crumbs_link_the_ancestors_in_scope_and_never_the_page_itself() -> None:
    region = {
        "code": "360102",
        "name": "东湖区",
        "ancestors": [{"code": "36", "name": "江西省"}, {"code": "3601", "name": "南昌市"}],
    }
    day = date(2026, 6, 30)
    assert dom.crumbs(region, "36", day, None) == [
        ("江西省", "/programme?region=36&as_of=2026-06-30"),
        ("南昌市", "/programme?region=3601&as_of=2026-06-30"),
        ("东湖区", None),
    ]
    assert dom.crumbs(region, "360102", day, None) == [
        ("江西省", None),
        ("南昌市", None),
        ("东湖区", None),
    ]


def test_closed_months_summary() -> None:
    approved = {"360102": "2026-10", "360103": "2026-11", "360202": "2026-09"}
    assert dom.approved_summary(approved, "3601") == (2, "2026-10")
    assert dom.approved_summary(approved, "360103") == (1, "2026-11")
    assert dom.approved_summary({}, "36") == (0, None)
    assert dom.month_text("2026-10") == "2026年10月"
    assert dom.month_text("2026-10", "en") == "2026-10"
    assert dom.month_text(None) == "—"


# -- charts


def test_the_months_chart_has_the_tables_figures_and_the_expected_line() -> None:
    answers = [
        {"as_of": "2026-01-31", "elapsed": 0.082, "totals": totals((10, 100), (5, 50), (0, 0))},
        {"as_of": "2026-02-10", "elapsed": 0.11, "totals": totals((20, 100), (10, 50), (0, 0))},
    ]
    points = dom.month_points(answers)
    names = {
        "backbones": "骨干志愿者",
        "sessions": "服务场次",
        "elder_person_times": "老年人服务人次",
    }
    chart = dom.months_chart(points, names, "应完成")
    assert chart["labels"] == ["1月", "2月10日"]
    assert chart["series"][0] == {"name": "骨干志愿者", "values": [10.0, 20.0]}
    assert chart["series"][2]["values"] == [None, None]  # no target: no line
    assert chart["expected"] == {"name": "应完成", "values": [8.2, 11.0]}
    english = dom.months_chart(points, names, "Expected", "en")
    assert english["labels"] == ["Jan", "Feb 10"]
    assert (
        dom.point_label(date(2025, 12, 31), last=False, with_year=True, lang="zh") == "2025年12月"
    )


def test_the_map_colours_cities_in_the_bands_the_tables_mark() -> None:
    row = dom.Row(
        "3601",
        "南昌市",
        "/programme?region=3601&as_of=2026-07-02",
        dom.figures_of(totals((45, 100), (60, 100), (60, 100)), 0.5),
    )
    chart = dom.map_chart(
        [row],
        "36",
        "进度",
        {"far_behind": "严重滞后", "lagging": "滞后", "on_track": "按期", "ahead": "超前"},
    )
    assert chart["url"] == "/vendor/maps/36.json"
    assert chart["regions"] == [{"name": "南昌市", "value": 90.0, "href": row.href}]
    assert [b.get("lt") for b in chart["bands"]] == [80, 95, 105, None]
    assert [b["key"] for b in chart["bands"]] == list(dom.BANDS)
    bars = dom.children_chart([row], {"backbones": "a", "sessions": "b", "elder_person_times": "c"})
    assert bars["labels"] == ["南昌市"]
    assert bars["series"][0]["values"] == [90.0]


# -- the page against fake services

REGIONS = {
    "36": {"code": "36", "name": "江西省", "ancestors": []},
    "3601": {"code": "3601", "name": "南昌市", "ancestors": [{"code": "36", "name": "江西省"}]},
    "3602": {"code": "3602", "name": "景德镇市", "ancestors": [{"code": "36", "name": "江西省"}]},
    "360102": {
        "code": "360102",
        "name": "东湖区",
        "ancestors": [{"code": "36", "name": "江西省"}, {"code": "3601", "name": "南昌市"}],
    },
}
CHILDREN = {
    "36": [{"code": "3601", "name": "南昌市"}, {"code": "3602", "name": "景德镇市"}],
    "3601": [{"code": "360102", "name": "东湖区"}],
}
STATIONS = {
    "st-360102001": {
        "station_id": "st-360102001",
        "name": "甲街道社工站",
        "region_code": "360102001",
    },
    "st-360102002": {
        "station_id": "st-360102002",
        "name": "乙街道社工站",
        "region_code": "360102002",
    },
    "st-360202001": {
        "station_id": "st-360202001",
        "name": "丙镇社工站",
        "region_code": "360202001",
    },
}
# Each station: (backbones, sessions, elder person-times) done of targets (10, 12, 100).
DONE = {"st-360102001": (10, 12, 100), "st-360102002": (2, 3, 20), "st-360202001": (6, 6, 50)}


class FakeServices:
    """The projector's progress (computed from DONE, at any day the same), the registry's
    regions, stations and programmes; each call counted."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, q = request.url.path, request.url.params
        self.calls.append(f"{request.url.host} {path}")
        if path == "/programmes":
            return ok({"items": [PROGRAMME_DOC]})
        if path.startswith("/views/programmes/blue-vest/progress"):
            return ok(self.progress(q.get("region", "36"), date.fromisoformat(q["as_of"]), q))
        if path == "/views/closed_months":
            return ok(
                {
                    "view": "closed_months",
                    "region": q["region"],
                    "totals": {},
                    "by_region": {},
                    "approved_through": {"360102": "2026-05"},
                }
            )
        if m := re.fullmatch(r"/regions/(\d+)/children", path):
            return ok(CHILDREN.get(m.group(1), []))
        if m := re.fullmatch(r"/regions/(\d+)", path):
            return ok(REGIONS[m.group(1)]) if m.group(1) in REGIONS else problem(404)
        if m := re.fullmatch(r"/stations/([\w-]+)", path):
            return ok(STATIONS[m.group(1)]) if m.group(1) in STATIONS else problem(404)
        return problem(404)

    def progress(self, region: str, day: date, q: Any) -> dict[str, Any]:
        share = dom.elapsed(START, END, day)
        per_station = {
            sid: totals((d[0], 10), (d[1], 12), (d[2], 100))
            for sid, d in DONE.items()
            if sid.removeprefix("st-").startswith(region)
        }
        sums: dict[str, dict[str, float]] = {}
        for measures in per_station.values():
            for m, v in measures.items():
                t = sums.setdefault(m, {"target": 0.0, "actual": 0.0})
                t["target"] += v["target"]
                t["actual"] += v["actual"]
        for t in sums.values():
            t["expected_by_now"] = round(t["target"] * share, 1)
            t["pace"] = round(t["actual"] / (t["target"] * share), 2) if share else 0.0
        lagging = sorted(
            (
                {
                    "station_id": sid,
                    "pace": round(min(v["actual"] / (v["target"] * share) for v in ms.values()), 2),
                }
                for sid, ms in per_station.items()
                if share
            ),
            key=lambda x: x["pace"],
        )
        lagging = [x for x in lagging if x["pace"] < dom.LAG_RATIO][: int(q.get("lagging", 10))]
        return {
            "programme_id": "blue-vest",
            "region": region,
            "as_of": day.isoformat(),
            "elapsed": round(share, 3),
            "stations": len(per_station),
            "totals": sums,
            "per_station": per_station if int(q.get("stations_limit", 500)) else {},
            "lagging": lagging,
        }


def ok(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body)


def problem(status: int) -> httpx.Response:
    return httpx.Response(status, json={"title": "no", "detail": "not in this test"})


Pages = tuple[httpx.AsyncClient, FakeServices]
MakeApp = Callable[..., FastAPI]  # conftest.py's fixtures
SignIn = Callable[..., httpx.AsyncClient]


@pytest.fixture
def pages(
    console_app: MakeApp, signed_in: SignIn, fake: FakeServices, request: pytest.FixtureRequest
) -> Pages:
    app = console_app(fake, token_verifier=DevKeys.generate().verifier())
    region = getattr(request, "param", "36")
    official = {"subject": "demo-province_officer", "region": region, "region_name": ""}
    return signed_in(app, "province_officer", **official), fake


def figure(page: str, key: str) -> int:
    found = re.search(rf'data-figure="{key}" data-value="(\d+)"', page)
    assert found, key
    return int(found.group(1))


async def test_the_province_page_shows_the_apis_figures_its_cities_and_lagging_stations(
    pages: Pages,
) -> None:
    client, fake = pages
    answer = await client.get("/programme", params={"as_of": "2026-07-02"})
    assert answer.status_code == 200
    page = answer.text
    # the headline: the progress answer's totals for the province
    assert figure(page, "backbones") == 18
    assert figure(page, "sessions") == 21
    assert figure(page, "elder_person_times") == 170
    assert "江西省 · 蓝马甲行动" in page
    # the cities, by name, each a link down with the day
    assert '<a href="/programme?region=3601&amp;as_of=2026-07-02">南昌市</a>' in page
    assert '<a href="/programme?region=3602&amp;as_of=2026-07-02">景德镇市</a>' in page
    # the lagging station with its name and county, linked to its page
    lagging = page[page.index('data-table="lagging"') :]
    assert '<a href="/stations/st-360102002">乙街道社工站</a>' in lagging
    assert "东湖区" in lagging
    # the map of the province, the months (Jan to Jun, then the day), the closed months
    assert '"url": "/vendor/maps/36.json"' in page
    assert page.count('<time datetime="2026-') >= 7
    assert 'data-closed-months="1"' in page
    assert "Server-Timing" in answer.headers or "server-timing" in answer.headers
    assert "page;dur=" in answer.headers["server-timing"]
    assert 'type="date"' in page
    assert 'value="2026-07-02"' in page
    assert "style=" not in page  # the CSP forbids style attributes
    assert "<script>" not in page  # and inline script

    before = len(fake.calls)
    await client.get("/programme", params={"as_of": "2026-07-02"})
    again = fake.calls[before:]
    # remembered: the programmes, the regions, past month ends and stations' names
    assert not any(c.split(" ", 1)[1] == "/programmes" for c in again)
    assert not any(c.startswith("registry.test /stations/") for c in again)
    assert len(again) == 1 + 1 + 2  # the day, the closed months, each city


async def test_a_city_drills_to_its_counties_and_a_county_to_its_stations(pages: Pages) -> None:
    client, _ = pages
    city = (await client.get("/programme", params={"region": "3601", "as_of": "2026-07-02"})).text
    assert '<a href="/programme?region=360102&amp;as_of=2026-07-02">东湖区</a>' in city
    assert 'data-chart="programme-map"' not in city  # a map of the province only
    assert "2026年5月" in city  # the county's closed months
    crumbs = city[city.index("data-crumbs") : city.index("</ol>")]
    assert "江西省" in crumbs
    assert "南昌市" in crumbs
    assert "3601" not in crumbs.replace("region=3601", "")

    county = (
        await client.get("/programme", params={"region": "360102", "as_of": "2026-07-02"})
    ).text
    assert figure(county, "backbones") == 12
    children = county[county.index('data-table="children"') : county.index('data-table="lagging"')]
    assert '<a href="/stations/st-360102001">甲街道社工站</a>' in children
    assert '<a href="/stations/st-360102002">乙街道社工站</a>' in children
    assert "丙镇社工站" not in county


@pytest.mark.parametrize("pages", ["3601"], indirect=True)
async def test_a_region_outside_the_scope_is_refused_and_a_bad_one_not_found(
    pages: Pages,
) -> None:
    client, _ = pages
    assert (await client.get("/programme")).status_code == 200  # their own city
    assert (await client.get("/programme", params={"region": "36"})).status_code == 403
    assert (await client.get("/programme", params={"region": "3602"})).status_code == 403
    assert (await client.get("/programme", params={"region": "x"})).status_code == 404
    bad_day = await client.get("/programme", params={"as_of": "yesterday"})
    assert bad_day.status_code == 200
    assert "日期格式无效" in bad_day.text


async def test_the_page_signs_in_first(console_app: MakeApp) -> None:
    app = console_app(FakeServices(), token_verifier=DevKeys.generate().verifier())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://console.test"
    ) as client:
        answer = await client.get("/programme?region=36")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/signin?next=")
