"""What keeps the pages fast: the dashboard asks the projector for its children's progress in
the same answer (`by`) when the projector gives it (one call, not one per child), and falls
back to a call per child when it does not; the lagging stations' counties are asked beside
their names."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from console.domain import programme as dom

pytestmark = pytest.mark.unit

TOTALS = {
    "backbones": {"target": 20.0, "actual": 10.0},
    "sessions": {"target": 24.0, "actual": 12.0},
    "person_times:elders": {"target": 200.0, "actual": 100.0},
}
CITY_TOTALS = {  # Nanchang's part; Jingdezhen's is the rest
    "backbones": {"target": 10.0, "actual": 9.0},
    "sessions": {"target": 12.0, "actual": 3.0},
    "person_times:elders": {"target": 100.0, "actual": 90.0},
}
OTHER_TOTALS = {
    m: {"target": TOTALS[m]["target"] - t["target"], "actual": TOTALS[m]["actual"] - t["actual"]}
    for m, t in CITY_TOTALS.items()
}
REGIONS = {"36": "江西省", "3601": "南昌市", "3602": "景德镇市", "360102": "东湖区"}


class Projector:
    """The services as the province dashboard meets them: progress with `groups` when asked
    `by` (unless `grouping` is off, as a projector older than it)."""

    def __init__(self, grouping: bool) -> None:
        self.grouping = grouping
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, q = request.url.path, dict(request.url.params)
        self.calls.append((path, q))
        if path == "/programmes":
            return ok({"items": [PROGRAMME]})
        if path.endswith("/progress"):
            return ok(self.progress(q))
        if path == "/views/closed_months":
            return ok({"approved_through": {}})
        if path == "/regions/36/children":
            return ok([{"code": "3601", "name": "南昌市"}, {"code": "3602", "name": "景德镇市"}])
        if m := re.fullmatch(r"/regions/(\d+)", path):
            return ok({"code": m.group(1), "name": REGIONS[m.group(1)], "level": "x"})
        if path == "/stations/st-360102002":
            return ok({"name": "乙街道社工站", "region_code": "360102002"})
        return httpx.Response(404, json={"detail": "not in this test"})

    def progress(self, q: dict[str, str]) -> dict[str, Any]:
        region = q.get("region", "36")
        totals = {"36": TOTALS, "3601": CITY_TOTALS, "3602": OTHER_TOTALS}[region]
        lagging = [{"station_id": "st-360102002", "pace": 0.4}] if region != "3602" else []
        answer: dict[str, Any] = {
            "region": region,
            "as_of": q["as_of"],
            "elapsed": 0.5,
            "stations": 2 if region == "36" else 1,
            "totals": totals,
            "per_station": {},
            "lagging": lagging[: int(q.get("lagging", 10))],
        }
        if self.grouping and q.get("by") == "city":
            answer["groups"] = {
                "3601": {"stations": 1, "lagging": 1, "totals": CITY_TOTALS},
                "3602": {"stations": 1, "lagging": 0, "totals": OTHER_TOTALS},
            }
        return answer


PROGRAMME = {
    "programme_id": "bv",
    "name": "蓝马甲行动",
    "region_code": "36",
    "start_date": "2026-01-01",
    "end_date": "2026-12-31",
}


def ok(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body)


Console = Callable[..., httpx.AsyncClient]


@pytest.mark.parametrize("grouping", [True, False])
async def test_the_cities_come_with_the_provinces_answer(console: Console, grouping: bool) -> None:
    fake = Projector(grouping)
    client = console(fake, "province_officer", region="36", region_name="江西省")
    page = await client.get("/programme", params={"as_of": "2026-07-02"})
    assert page.status_code == 200, page.text
    progress = [q for path, q in fake.calls if path.endswith("/progress")]
    today = [q for q in progress if q["as_of"] == "2026-07-02"]
    assert today[0]["by"] == "city"
    # One call for the day when the projector groups; else one more per city, as before.
    assert len(today) == (1 if grouping else 3)
    children = page.text[page.text.index('data-table="children"') :]
    assert '<a href="/programme?region=3601&amp;as_of=2026-07-02">南昌市</a>' in children
    assert '<a href="/programme?region=3602&amp;as_of=2026-07-02">景德镇市</a>' in children
    # The lagging station named, with its county (asked beside its name, from its id).
    lagging = page.text[page.text.index('data-table="lagging"') :]
    assert "乙街道社工站" in lagging
    assert "东湖区" in lagging
    regions = [path for path, _ in fake.calls if path.startswith("/regions/")]
    assert regions.count("/regions/360102") == 1  # the county, once
    assert "/regions/3601" not in regions  # the cities are the children: not asked one by one


def test_group_answers_are_shaped_as_each_childs_own() -> None:
    groups = {"3601": {"stations": 1, "lagging": 1, "totals": CITY_TOTALS}}
    answers = dom.group_answers(groups, 0.5)
    rows = dom.region_rows(
        [{"code": "3601", "name": "南昌市"}], answers, as_of=date(2026, 7, 2), programme=None
    )
    own = {"stations": 1, "lagging": [{"station_id": "x", "pace": 0.4}], "totals": CITY_TOTALS}
    alone = dom.region_rows(
        [{"code": "3601", "name": "南昌市"}],
        {"3601": {**own, "elapsed": 0.5}},
        as_of=date(2026, 7, 2),
        programme=None,
    )
    assert rows == alone
    assert rows[0].lagging == 1


def test_a_stations_county_from_its_id() -> None:
    assert dom.county_guess("st-360102008") == "360102"
    assert dom.county_guess("st-3601") is None
    assert dom.county_guess("org-360102008") is None
    assert dom.county_guess("st-36010200x") is None
