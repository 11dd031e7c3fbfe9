"""The work queue of held activities waiting for verification reads what waits now
(`wushe.store.waiting`), not every activity of the region: an activity is in it from being
held until verified or cancelled, the earliest held first, in the caller's region only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from activities.store import ActivitiesStore
from wushe import clock
from wushe_dev import fixtures
from wushe_dev.builders import activity_body

COUNTY, TOWNSHIP = "530111", "530111001"  # a county no other test records in


@pytest.fixture
async def running(run_services: fixtures.RunServices) -> AsyncIterator[fixtures.Services]:
    async with run_services("registry", "activities") as s:
        yield s


async def test_held_activities_wait_until_verified_or_cancelled(
    running: fixtures.Services,
) -> None:
    reg, act = running["registry"], running["activities"]
    admin = running.bearer("53", "yunnan-admin")
    sid = await fixtures.new_station(reg, admin, TOWNSHIP)
    await fixtures.copied(running.apps["activities"], [sid])
    issued = running.keys.issue(
        subject="worker-1", region_scope=COUNTY, roles=["station_worker"], stations=[sid]
    )
    worker = {"Authorization": f"Bearer {issued}"}
    county = running.bearer(COUNTY, "county-1", ["county_officer"])
    today = clock.today()
    days = [today - timedelta(days=n) for n in (1, 3, 2, 4)]
    ids = [
        (await fixtures.created(act, "/activities", worker, activity_body(sid, day)))["activity_id"]
        for day in days
    ]

    async def queue(headers: dict[str, str]) -> list[str]:
        r = await act.get("/verifications/pending", headers=headers)
        assert r.status_code == 200, r.text
        assert (r.json()["total"], r.json()["complete"]) == (len(r.json()["items"]), True)
        return [a["activity_id"] for a in r.json()["items"]]

    assert await queue(county) == []  # planned is not held
    for aid, day in zip(ids, days, strict=True):
        held = {"held_on": str(day), "counts": {"sessions": 1}}
        assert (await act.post(f"/activities/{aid}/held", headers=worker, json=held)).is_success
    earliest_first = [ids[3], ids[1], ids[2], ids[0]]
    assert await queue(county) == earliest_first
    assert await queue(worker) == earliest_first  # station staff: their own stations'

    verified = await act.post(f"/activities/{ids[1]}/verification", headers=county, json={})
    assert verified.status_code == 200, verified.text
    cancel = {"reason_code": "other", "note": "重复登记"}
    cancelled = await act.post(f"/activities/{ids[3]}/cancellation", headers=worker, json=cancel)
    assert cancelled.status_code == 200, cancelled.text
    assert await queue(county) == [ids[2], ids[0]]

    # A page of it, and another county's official sees none of it.
    r = await act.get("/verifications/pending", headers=county, params={"limit": 1, "offset": 1})
    assert ([a["activity_id"] for a in r.json()["items"]], r.json()["total"]) == ([ids[0]], 2)
    assert await queue(running.bearer("530102", "county-9", ["county_officer"])) == []
    r = await act.get("/verifications/pending", headers=worker, params={"station_id": "st-x"})
    assert r.json()["items"] == []  # not the worker's station


async def test_an_entry_whose_activity_no_longer_waits_is_dropped(
    running: fixtures.Services,
) -> None:
    """An entry is written before its commit; one whose activity is not held (its commit
    failed, or its removal did not happen) is not listed, and is removed."""
    reg, act = running["registry"], running["activities"]
    admin = running.bearer("53", "yunnan-admin")
    sid = await fixtures.new_station(reg, admin, "530112001")
    await fixtures.copied(running.apps["activities"], [sid])
    store: ActivitiesStore = running.apps["activities"].state.activities.store
    day = clock.today() - timedelta(days=1)
    aid = (await fixtures.created(act, "/activities", admin, activity_body(sid, day)))[
        "activity_id"
    ]
    state = (await store.activities.load(aid)).state or {}
    await store.held.enter([(aid, {**state, "status": "held", "held_on": str(day)})])
    assert await store.held.collection.find_one({"_id": f"{aid}|held"}) is not None
    r = await act.get("/verifications/pending", headers=admin, params={"station_id": sid})
    assert r.json()["items"] == []
    assert await store.held.collection.find_one({"_id": f"{aid}|held"}) is None
