"""The work queue of corrections waiting in a closed month reads small notes of the activities
that ever had one (a filter on the `pending_corrections` array would make the local store
decode every activity of the region): activities that waited before the notes existed are
noted by the first listing, and a note whose correction never committed lists nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from activities.store import ActivitiesStore
from wushe import clock
from wushe.store.notes import NOTED_ALL
from wushe_dev import fixtures
from wushe_dev.builders import activity_body

COUNTY, TOWNSHIP = "530103", "530103001"  # a county no other test records in


@pytest.fixture
async def running(run_services: fixtures.RunServices) -> AsyncIterator[fixtures.Services]:
    async with run_services("registry", "activities") as s:
        yield s


async def test_the_queue_from_the_notes_old_and_new(running: fixtures.Services) -> None:
    reg, act = running["registry"], running["activities"]
    admin = running.bearer("53", "yunnan-admin")
    sid = await fixtures.new_station(reg, admin, TOWNSHIP)
    await fixtures.copied(running.apps["activities"], [sid])
    store: ActivitiesStore = running.apps["activities"].state.activities.store
    issued = running.keys.issue(
        subject="worker-1", region_scope=COUNTY, roles=["station_worker"], stations=[sid]
    )
    worker = {"Authorization": f"Bearer {issued}"}
    city = running.bearer(COUNTY[:4], "city-1", ["city_officer"])
    day = clock.today() - timedelta(days=1)
    waiting, other = [
        (await fixtures.created(act, "/activities", worker, activity_body(sid, day)))["activity_id"]
        for _ in range(2)
    ]

    async def queue() -> list[str]:
        r = await act.get("/corrections/pending", headers=city, params={"station_id": sid})
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["items"])
        return [a["activity_id"] for a in r.json()["items"]]

    assert await queue() == []
    # As an activity whose correction waited before the notes existed: its state says so,
    # and no note does.
    pending = {"correction_id": "cor-1", "closed_month": f"{day:%Y-%m}"}
    await store.activities.current.update_one(
        {"_id": waiting}, {"$set": {"pending_corrections": [pending]}}
    )
    await store.correction_notes.collection.delete_many({})
    store.correction_notes._all_noted = False
    assert await queue() == [waiting]
    assert await store.correction_notes.collection.find_one({"_id": NOTED_ALL}) is not None
    # A note whose correction never committed (its commit failed): not in the queue.
    facts = (await act.get(f"/activities/{other}", headers=worker)).json()["facts"]
    where = {"region_code": facts["region_code"], "station_id": sid}
    await store.correction_notes.note(other, [where])
    assert await queue() == [waiting]
    # Another county's official: neither.
    elsewhere = running.bearer("530102", "county-9", ["county_officer"])
    r = await act.get("/corrections/pending", headers=elsewhere)
    assert waiting not in r.text
