"""Coverage (覆盖率) of a region: township-level units told apart by kind, those with a
station operating, and the share of streets, towns and townships covered, as of a day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from registry.domain.coverage import unit_kind
from wushe import clock
from wushe_dev.fixtures import created

JX = "36"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("洪都街道", "street"),
        ("青云谱镇", "town"),
        ("梅岭乡", "township"),
        ("达尔汗苏木", "township"),
        ("南磨房地区", "township"),  # Beijing's 地区: a township with an area office
        ("江西青云谱新经济产业集聚区", "zone"),
        ("江西新建经济开发区", "zone"),
        ("江西青山湖高新技术产业园区", "zone"),
        ("艾溪湖管理处", "office"),
        ("南昌县银三角管理委员会", "office"),
        ("万福经济技术开发区管委会", "office"),
        ("恒湖垦殖场", "farm"),
        ("岷山林场", "farm"),
        ("庐山林科所", "farm"),
        ("成新实业有限公司", "other"),
        ("茅山头企业集团", "other"),
        ("南昌航空城", "zone"),
    ],
)
def test_township_level_units_are_told_apart_by_their_names(name: str, kind: str) -> None:
    assert unit_kind(name) == kind


async def test_coverage_counts_streets_towns_and_townships_with_a_station_at_work(
    registry: Any, auth: Any
) -> None:
    client, _ = registry
    h = auth(JX)
    # 青云谱区: five streets, one town and an industrial zone (集聚区); 青山湖区 beside it.
    for township, opened in (
        ("360104002", True),  # 洪都街道
        ("360104006", False),  # 京山街道: planned, not at work
        ("360104100", True),  # 青云谱镇
        ("360104400", True),  # the zone: counted beside coverage, never in it
    ):
        station = await created(client, "/stations", h, {"region_code": township})
        if opened:
            sid = station["station_id"]
            r = await client.post(
                f"/stations/{sid}/status", headers=h, json={"to": "operating", "reason": "开站"}
            )
            assert r.status_code == 200, r.text

    r = await client.get("/regions/360104/coverage", headers=h)
    assert r.status_code == 200, r.text
    county = r.json()
    assert (county["name"], county["as_of"]) == ("青云谱区", clock.today().isoformat())
    assert county["units"] == {"street": 5, "town": 1, "zone": 1}
    assert county["covered"] == {"street": 1, "town": 1, "zone": 1}
    assert (county["counted"], county["counted_covered"], county["coverage"]) == (6, 2, 0.3333)
    assert county["by_region"]["360104002"]["coverage"] == 1.0
    assert county["by_region"]["360104006"]["coverage"] == 0.0
    assert county["by_region"]["360104400"]["coverage"] is None  # no counted unit

    city = (await client.get("/regions/3601/coverage", headers=h)).json()
    assert city["by_region"]["360104"]["counted_covered"] == 2
    neighbour = city["by_region"]["360111"]  # 青山湖区: 4 streets, 4 towns, a zone, an office
    assert neighbour["units"] == {"office": 1, "street": 4, "town": 4, "zone": 1}
    assert (neighbour["counted"], neighbour["coverage"]) == (8, 0.0)

    # The day before they opened, nothing was at work.
    yesterday = str(clock.today() - timedelta(days=1))
    before = await client.get("/regions/360104/coverage", headers=h, params={"as_of": yesterday})
    assert (before.json()["counted_covered"], before.json()["coverage"]) == (0, 0.0)
    # Outside the caller's scope, and an unknown region: 404.
    assert (await client.get("/regions/4201/coverage", headers=h)).status_code == 404
    assert (await client.get("/regions/360199/coverage", headers=h)).status_code == 404


async def test_a_townships_children_are_its_villages_and_communities(
    registry: Any, auth: Any
) -> None:
    client, _ = registry
    r = await client.get("/regions/360104002/children", headers=auth(JX))
    assert r.status_code == 200, r.text
    villages = r.json()
    assert len(villages) == 13  # 洪都街道's communities in the region data
    assert villages[0] == {
        "code": "360104002001",
        "name": "洪翔社区居委会",
        "level": "village",
        "parent": "360104002",
        "kind": None,
        "valid_from": None,
    }
