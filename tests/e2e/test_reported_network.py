"""A county's network as officials report it, built through the public APIs of the real
registry, activities and projector on the real stack: a county centre (社工总站), stations on
a street, a town and a development zone, back-dated openings, a room, star ratings and the
three-stations-in-one, household visits repeated and one POST retried, activities naming
the elders they served; then every counter read back exactly, as of a day and for a month,
and again after a boundary change (区划调整) merged the town into the street."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from wushe import clock
from wushe_dev import fixtures
from wushe_dev.builders import activity_body
from wushe_dev.fixtures import RunServices, eventually

COUNTY = "150102"  # 呼和浩特市新城区: no other test writes in Inner Mongolia
STREET, TOWN, ZONE = "150102001", "150102101", "150102400"  # 街道, 镇, 高科技园区
VILLAGE = "150102001001"  # 公主府社区, on the street
HOUSEHOLDS = ["150102198001010011", "150102198102020022"]
ELDERS = ["150102194001010031", "150102194102020042", "150102194203030053"]


def last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


async def test_a_reported_network_counts_exactly_through_the_apis(
    run_services: RunServices, unique: str
) -> None:
    today = clock.today()
    first, last = last_month(today)
    async with run_services("registry", "activities", "projector") as s:
        reg, act, views = s["registry"], s["activities"], s["projector"]
        h = s.bearer("15", f"admin-{unique}")

        async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
            return await fixtures.created(client, path, h, body)

        # The network: the county's centre and the street's station opened in 2021 (a
        # ledger migrated today), the town's registered today, the zone's in 2022.
        centre = await created(reg, "/stations", {"region_code": COUNTY, "opened_on": "2021-03-01"})
        assert centre["kind"] == "centre"
        street = await created(
            reg,
            "/stations",
            {
                "region_code": STREET,
                "status": "operating",
                "opened_on": "2021-06-01",
                "functions": ["minors_protection", "elder_service"],  # 三站合一
            },
        )
        town = await created(reg, "/stations", {"region_code": TOWN, "status": "operating"})
        zone = await created(
            reg,
            "/stations",
            {"region_code": ZONE, "status": "operating", "opened_on": "2022-01-01"},
        )
        sid, town_id = street["station_id"], town["station_id"]
        room = {"room_region_code": VILLAGE, "opened_on": "2021-09-01"}
        assert (await reg.post(f"/stations/{sid}/rooms", headers=h, json=room)).status_code == 201
        for station, stars in ((sid, 5), (town_id, 3)):
            rating = {"stars": stars, "rated_on": str(today), "reason": "年度评定"}
            r = await reg.post(f"/stations/{station}/ratings", headers=h, json=rating)
            assert r.status_code == 200, r.text
        coverage = (await reg.get(f"/regions/{COUNTY}/coverage", headers=h)).json()
        assert coverage["counted_covered"] == 2  # the street and the town, not the zone
        assert sum(coverage["covered"].values()) == 3  # the zone's counted beside them

        # Visits: the first household three times, one of them posted twice with the same
        # key (a retry); the second once. Activities: two naming the elders they served.
        await fixtures.copied(s.apps["activities"], [sid, town_id, zone["station_id"]])
        visits = []
        for n, (household, day) in enumerate([(0, 3), (0, 10), (1, 12), (0, 17)]):
            body = {
                "station_id": sid,
                "household_ref": HOUSEHOLDS[household],
                "categories": ["low_income"],
                "visited_on": str(first + timedelta(days=day - 1)),
            }
            key = {"Idempotency-Key": f"{unique}-visit-{n}"}
            r = await act.post("/household-visits", headers=h | key, json=body)
            assert r.status_code == 201, r.text
            visits.append(r.json()["visit_id"])
            if n == 1:
                retried = await act.post("/household-visits", headers=h | key, json=body)
                assert retried.json()["visit_id"] == visits[-1]
        for day, elders in ((5, ELDERS[:2]), (19, ELDERS)):
            held_on = first + timedelta(days=day - 1)
            planned = await created(act, "/activities", activity_body(sid, held_on))
            held = {
                "held_on": str(held_on),
                "counts": {"sessions": 1, "person_times": {"elders": len(elders) + 4}},
                "linkage": {"societies": ["community", "social_workers"]},
                "participants": [{"ref": e, "group": "elders"} for e in elders],
            }
            r = await act.post(f"/activities/{planned['activity_id']}/held", headers=h, json=held)
            assert r.status_code == 200, r.text

        async def view(name: str, region: str = COUNTY, **params: Any) -> dict[str, Any]:
            r = await views.get(f"/views/{name}", headers=h, params={"region": region, **params})
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            return body

        month = {"from": str(first), "to": str(last)}

        async def caught_up() -> bool:
            stations = (await view("stations"))["totals"]
            activities = (await view("activities", **month))["totals"]
            counted = ("households_visited", "activities")
            return (stations.get("stars:3"), *map(activities.get, counted)) == (1, 4, 2)

        await eventually(caught_up, lambda done: done, what="the views caught up", timeout_s=120)

        # The network as of the end of 2021, and now.
        in_2021 = (await view("stations", as_of="2021-12-31"))["totals"]
        assert in_2021 == {
            "centres": 1,
            "centre_status:planned": 1,
            "stations": 1,
            "status:operating": 1,
            "function:minors_protection": 1,
            "function:elder_service": 1,
            "three_in_one": 1,
            "rooms": 1,
        }
        now = (await view("stations"))["totals"]
        assert now == in_2021 | {
            "stations": 3,
            "status:operating": 3,
            "stars:5": 1,
            "stars:3": 1,
        }
        assert (await view("stations", as_of=str(today - timedelta(days=1))))["totals"][
            "stations"
        ] == 2  # the town's counts from today, the day it was registered

        # The month: four visits (the retry is the same visit), two households, three elders.
        activities = (await view("activities", **month))["totals"]
        assert activities == {
            "activities": 2,
            "sessions": 2,
            "sessions:elder_services": 2,
            "person_times": 2 + 4 + 3 + 4,
            "person_times:elders": 13,
            "person_times_in:elder_services": 13,
            "society:community": 2,
            "society:social_workers": 2,
            "households_visited": 4,
        }
        on_the_tenth = await view("activities", as_of=str(first + timedelta(days=9)))
        assert on_the_tenth["totals"]["households_visited"] == 2
        street_month = await view("reach", STREET, **month)
        assert street_month["distinct"]["totals"] == "exact"
        assert street_month["totals"] == {"households": 2, "persons": 3, "persons:elders": 3}
        county_so_far = await view("reach")
        assert county_so_far["distinct"]["totals"] == "hyperloglog"
        assert county_so_far["totals"] == {"households": 2, "persons": 3, "persons:elders": 3}
        first_week = await view(
            "reach", STREET, **{"from": str(first), "to": str(first + timedelta(days=6))}
        )
        assert first_week["totals"] == {"households": 1, "persons": 2, "persons:elders": 2}

        # Visits by household type: counted by the activities service, where types are kept.
        typed = await act.get(
            "/household-visits/by-type", headers=h, params={"region": COUNTY, **month}
        )
        assert typed.json()["by_type"] == {
            "all": {"visits": 4, "households": 2},
            "low_income": {"visits": 4, "households": 2},
        }

        # The town merges into the street from today: the registry moves its station, the
        # views regroup it under today's code when asked, and keep the recorded one otherwise.
        merge = {
            "kind": "merge",
            "effective_date": str(today),
            "old": [{"code": STREET, "name": "海拉尔东路街道"}, {"code": TOWN, "name": "保合少镇"}],
            "new": [{"code": STREET, "name": "海拉尔东路街道"}],
        }
        changed = await reg.post("/boundary-changes", headers=h, json=merge)
        assert changed.status_code == 201, changed.text
        assert town_id in changed.json()["stations_moved"]

        async def street_stations() -> int:
            got = await view("stations", STREET, boundaries="current")
            return int(got["totals"].get("stations", 0))

        await eventually(street_stations, lambda n: n == 2, what="the town's station moved")
        assert (await view("stations", TOWN, boundaries="current"))["totals"] == {}
        assert (await view("stations", TOWN))["totals"]["stations"] == 1  # as recorded
        by_township = await view("stations", by="township", boundaries="current")
        assert set(by_township["by_region"]) == {STREET, ZONE, COUNTY}  # the centre's own
        assert by_township["totals"] == now  # regrouped, nothing lost or counted twice
