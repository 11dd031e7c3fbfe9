"""After a boundary change (区划调整) moved a station to a new township code, the views answer
both ways: under the codes recorded when things happened (`boundaries=recorded`, the
default) and regrouped under where each station lies now (`boundaries=current`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from wushe.contracts.events import activities as act
from wushe.contracts.events import registry as reg
from wushe_dev.builders import envelope, held_activity
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import RunServices, eventually
from wushe_dev.testing import publish_all

OLD, SURVIVOR = "360981102", "360981101"  # two towns of 丰城市 no other test records in
COUNTY = OLD[:6]
MERGED_ON = date(2025, 6, 1)


OPERATING = {"name": "社工站", "kind": "township", "status": "operating"}


def station(sid: str, township: str) -> reg.StationRegistered:
    opened = date(2024, 1, 1)
    return reg.StationRegistered(
        station_id=sid, region_code=township, opened_on=opened, **OPERATING
    )


async def test_views_regroup_history_under_todays_codes_when_asked(
    stack: LocalStack, run_services: RunServices, unique: str
) -> None:
    moved, stays = f"st-{OLD}-{unique[:6]}", f"st-{SURVIVOR}-{unique[:6]}"
    envelopes = [
        envelope(station(moved, OLD), moved, 1),
        envelope(station(stays, SURVIVOR), stays, 1),
    ]
    for i in range(4):  # four activities at the merged town before the merge, two at the other
        day = date(2025, 3, 1) + timedelta(days=i)
        held = held_activity(f"act-{unique}-{i}", moved, day, 10, region_code=OLD)
        envelopes.append(envelope(held, held.activity.activity_id, 2))
    for i in range(2):
        held = held_activity(
            f"act-{unique}-s{i}", stays, date(2025, 3, 10), 5, region_code=SURVIVOR
        )
        envelopes.append(envelope(held, held.activity.activity_id, 2))
    visit = act.HouseholdVisited(
        visit_id=f"hv-{unique}",
        household_id=f"hh-{unique[:20]}",
        station_id=moved,
        region_code=OLD,
        visited_on=date(2025, 3, 2),
    )
    envelopes.append(envelope(visit, visit.visit_id, 1))
    change = reg.BoundaryChanged(
        change_id=f"bc-{unique}",
        region_code=COUNTY,
        kind="merge",
        effective_date=MERGED_ON,
        old=[reg.RegionRef(code=OLD, name="甲镇"), reg.RegionRef(code=SURVIVOR, name="乙镇")],
        new=[reg.RegionRef(code=SURVIVOR, name="乙镇")],
    )
    move = reg.StationRegionChanged(
        station_id=moved,
        region_code=SURVIVOR,
        previous_region_code=OLD,
        effective_date=MERGED_ON,
        boundary_change_id=change.change_id,
    )
    async with run_services("projector") as services:
        views, auth = services["projector"], services.bearer("36", "jx")

        async def read(view: str, region: str, **params: Any) -> Any:
            r = await views.get(f"/views/{view}", headers=auth, params={"region": region, **params})
            assert r.status_code == 200, r.text
            return r.json()

        async def activities(region: str, boundaries: str) -> int:
            got = await read("activities", region, boundaries=boundaries)
            return int(got["totals"].get("activities", 0))

        await publish_all(stack.cfg.kafka_bootstrap, envelopes)
        await eventually(lambda: activities(COUNTY, "recorded"), lambda n: n == 6, what="caught up")
        # Before the change both ways agree.
        for boundaries in ("recorded", "current"):
            assert await activities(OLD, boundaries) == 4
            assert await activities(SURVIVOR, boundaries) == 2

        await publish_all(
            stack.cfg.kafka_bootstrap,
            [envelope(change, change.change_id, 1), envelope(move, moved, 2)],
        )
        await eventually(
            lambda: activities(SURVIVOR, "current"), lambda n: n == 6, what="the move applied"
        )
        assert await activities(OLD, "current") == 0
        assert await activities(OLD, "recorded") == 4  # history as it was recorded
        assert await activities(SURVIVOR, "recorded") == 2
        by_town = await read("activities", COUNTY, by="township", boundaries="current")
        assert by_town["by_region"][SURVIVOR]["activities"] == 6
        assert OLD not in by_town["by_region"]
        # A period, and the stations themselves, follow the same way.
        march = {"from": "2025-03-01", "to": "2025-03-31"}
        period = await read("activities", SURVIVOR, boundaries="current", **march)
        assert period["totals"]["person_times"] == 4 * 10 + 2 * 5
        stations = await read("stations", SURVIVOR, boundaries="current")
        assert stations["totals"]["stations"] == 2
        assert (await read("stations", OLD))["totals"]["stations"] == 1
        reach = await read("reach", SURVIVOR, boundaries="current", **march)
        assert reach["totals"] == {"households": 1}
        assert reach["distinct"]["totals"] == "exact"
        csv = await views.get(
            "/views/activities.csv",
            headers=auth,
            params={"region": COUNTY, "by": "township", "boundaries": "current"},
        )
        assert any(line.startswith(f"{SURVIVOR},") for line in csv.text.splitlines())
        assert not any(line.startswith(f"{OLD},") for line in csv.text.splitlines())
