"""The station page's lists: a station's supervision visits with their rectification items,
newest month first, and the training sessions its people attended (a city's too), with that
station's attendances only; station staff see their own station's, another province none."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from wushe import clock
from wushe.auth import DevKeys
from wushe_dev import fixtures

TODAY = clock.today()
THIS_MONTH = TODAY.strftime("%Y-%m")
LAST_MONTH = (TODAY.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
COUNTY = "360104"  # 青云谱区
CHECKLIST = ("plans_checked", "briefings_checked", "photos_checked", "staff_talk", "site_visit")


def staff(keys: DevKeys, station_id: str, region: str = COUNTY) -> dict[str, str]:
    token = keys.issue(
        subject=f"staff-{station_id}",
        region_scope=region,
        roles=["station_worker"],
        stations=[station_id],
    )
    return {"Authorization": f"Bearer {token}"}


async def test_a_stations_visits_and_sessions(
    running: fixtures.Services, stations: tuple[str, str], schedule: Any, attend: Any
) -> None:
    trn, h = running["training"], running.bearer("36", "jx")
    a, b = stations

    # Visits: A last month and this month (completed, with an item), B this month.
    for sid, month in ((a, LAST_MONTH), (a, THIS_MONTH), (b, THIS_MONTH)):
        body = {"station_id": sid, "month": month, "supervisor_id": "sup-1"}
        await fixtures.created(trn, "/supervision-visits", h, body)
    completion = {
        "visited_on": str(TODAY),
        "checklist": dict.fromkeys(CHECKLIST, True),
        "findings": ["台账未按月更新"],
        "items": [
            {
                "category": "materials",
                "description": "补齐照片",
                "deadline": str(TODAY + timedelta(7)),
            }
        ],
    }
    done = await trn.post(
        f"/supervision-visits/sv-{a}-{THIS_MONTH}/completion", headers=h, json=completion
    )
    assert done.status_code == 200, done.text

    page = await trn.get("/supervision-visits", headers=h, params={"station_id": a})
    assert page.status_code == 200, page.text
    assert page.json()["total"] == 2
    assert [v["month"] for v in page.json()["items"]] == [THIS_MONTH, LAST_MONTH]
    assert page.json()["items"][0]["items"][0]["description"] == "补齐照片"
    everything = (await trn.get("/supervision-visits", headers=h)).json()
    assert everything["total"] == 3

    keys = running.keys
    mine = await trn.get("/supervision-visits", headers=staff(keys, a))
    assert {v["station_id"] for v in mine.json()["items"]} == {a}
    theirs = await trn.get("/supervision-visits", headers=staff(keys, a), params={"station_id": b})
    assert theirs.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    hubei = running.bearer("42", "hb")
    for params in ({}, {"station_id": a}):
        assert (await trn.get("/supervision-visits", headers=hubei, params=params)).json()[
            "total"
        ] == 0

    # Sessions: the city's expert training (A and B attend), the county's study (A only).
    city = await schedule("3601", "expert_training", TODAY - timedelta(days=3))
    county = await schedule(COUNTY, "routine_study", TODAY - timedelta(days=1))
    await attend(city, [(a, "vol-a1"), (a, "vol-a2"), (b, "vol-b1")])
    await attend(county, [(a, "vol-a1")])

    officer = running.bearer(COUNTY, "county-1", ["county_officer"])
    attended = await trn.get("/sessions", headers=officer, params={"station_id": a})
    assert attended.status_code == 200, attended.text
    items = attended.json()["items"]
    assert [s["facts"]["session_id"] for s in items] == [county, city]  # the latest first
    assert [s["person_times"] for s in items] == [1, 2]  # A's attendances only
    assert {x["station_id"] for s in items for x in s["attendances"]} == {a}
    held_here = (await trn.get("/sessions", headers=officer)).json()
    assert [s["facts"]["session_id"] for s in held_here["items"]] == [county]
    own = await trn.get("/sessions", headers=staff(keys, a), params={"station_id": a})
    assert own.json()["total"] == 2
    for headers, sid in ((staff(keys, a), b), (hubei, a), (officer, "st-360104999")):
        r = await trn.get("/sessions", headers=headers, params={"station_id": sid})
        assert r.json()["total"] == 0, (sid, r.text)
