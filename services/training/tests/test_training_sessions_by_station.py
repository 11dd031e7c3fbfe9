"""A station's sessions and supervision visits, and the overdue rectification items, come from
small notes and waiting entries (a filter into the `attendances` array, or over every visit,
would make the local store read every state): what was recorded before they existed is noted
once, and a note or entry whose commit never happened lists nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from training.store import TrainingStore
from wushe import clock
from wushe.store.notes import NOTED_ALL, Notes
from wushe.store.waiting import ENTERED_ALL
from wushe_dev import fixtures

TODAY = clock.today()
COUNTY = "360104"  # 青云谱区
B = "360104008"  # the township of the second of the `stations`
THIS_MONTH = TODAY.strftime("%Y-%m")
LAST_MONTH = (TODAY.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


async def forget(notes: Notes) -> None:
    """As before the notes existed: none, and no mark."""
    await notes.collection.delete_many({})
    notes._all_noted = False
    notes._written.clear()


async def test_a_stations_sessions_from_the_notes_old_and_new(
    running: fixtures.Services, stations: tuple[str, str], schedule: Any, attend: Any
) -> None:
    trn, h = running["training"], running.bearer("36", "jx")
    a, b = stations
    store: TrainingStore = running.apps["training"].state.training

    async def sessions_of(station_id: str, **params: Any) -> Any:
        r = await trn.get("/sessions", headers=h, params={"station_id": station_id, **params})
        assert r.status_code == 200, r.text
        return r.json()

    first = await schedule(COUNTY, "routine_study", TODAY - timedelta(days=5))
    second = await schedule(COUNTY, "routine_study", TODAY - timedelta(days=2))
    await attend(first, [(a, "vol-a1"), (b, "vol-b1")])
    await attend(second, [(a, "vol-a1")])
    before = await sessions_of(a)
    assert [s["facts"]["session_id"] for s in before["items"]] == [second, first]
    assert before["total"] == 2
    assert [s["facts"]["session_id"] for s in (await sessions_of(b))["items"]] == [first]

    # The first listing notes every session recorded before the notes.
    await forget(store.session_notes)
    assert await sessions_of(a) == before
    notes = store.session_notes.collection
    assert await notes.find_one({"_id": NOTED_ALL}) is not None
    noted = {(d["s"], d["station_id"]) async for d in notes.find({"station_id": {"$in": [a, b]}})}
    assert noted == {(first, a), (first, b), (second, a)}

    # A note whose attendance lost its race (noted, never committed): B did not attend it.
    await store.session_notes.note(second, [{"station_id": b}])
    only_first = await sessions_of(b)
    assert [s["facts"]["session_id"] for s in only_first["items"]] == [first]
    assert only_first["total"] == 1
    # A page further on: the same order, a page at a time.
    later = await sessions_of(a, limit=1, offset=1)
    assert [s["facts"]["session_id"] for s in later["items"]] == [first]
    assert later["total"] == 2
    # A station nobody came from: none.
    assert (await sessions_of("st-360104999"))["total"] == 0


async def test_a_stations_visits_from_the_notes_old_and_new(
    running: fixtures.Services, stations: tuple[str, str]
) -> None:
    trn, h = running["training"], running.bearer("36", "jx")
    a, b = stations
    store: TrainingStore = running.apps["training"].state.training
    for sid, month in ((a, LAST_MONTH), (a, THIS_MONTH), (b, THIS_MONTH)):
        body = {"station_id": sid, "month": month, "supervisor_id": "sup-1"}
        await fixtures.created(trn, "/supervision-visits", h, body)

    async def months_of(station_id: str) -> list[str]:
        r = await trn.get("/supervision-visits", headers=h, params={"station_id": station_id})
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["items"])
        return [v["month"] for v in r.json()["items"]]

    assert await months_of(a) == [THIS_MONTH, LAST_MONTH]
    await forget(store.visit_notes)
    assert await months_of(a) == [THIS_MONTH, LAST_MONTH]
    assert await months_of(b) == [THIS_MONTH]
    # A visit noted and never planned (its commit failed): not listed.
    await store.visit_notes.note(f"sv-{b}-{LAST_MONTH}", [{"station_id": b}])
    assert await months_of(b) == [THIS_MONTH]


CHECKLIST = ("plans_checked", "briefings_checked", "photos_checked", "staff_talk", "site_visit")


async def test_overdue_items_from_the_waiting_entries_old_and_new(
    running: fixtures.Services, stations: tuple[str, str]
) -> None:
    trn, h = running["training"], running.bearer("36", "jx")
    county = running.bearer(COUNTY, "county-1", ["county_officer"])
    a, b = stations
    store: TrainingStore = running.apps["training"].state.training
    vid, bvid = f"sv-{a}-{THIS_MONTH}", f"sv-{b}-{THIS_MONTH}"
    for sid, visit_id, due in ((a, vid, (3, 5)), (b, bvid, (1,))):
        body = {"station_id": sid, "month": THIS_MONTH, "supervisor_id": "sup-1"}
        await fixtures.created(trn, "/supervision-visits", h, body)
        items = [
            {"category": "safety", "description": "消防通道", "deadline": str(TODAY + timedelta(d))}
            for d in due
        ]
        completion = {
            "visited_on": str(TODAY),
            "checklist": dict.fromkeys(CHECKLIST, True),
            "findings": [],
            "items": items,
        }
        done = await trn.post(
            f"/supervision-visits/{visit_id}/completion", headers=h, json=completion
        )
        assert done.status_code == 200, done.text

    async def overdue(day: Any, who: dict[str, str] = county) -> list[tuple[str, int]]:
        r = await trn.get("/supervision/overdue", headers=who, params={"as_of": str(day)})
        assert r.status_code == 200, r.text
        assert r.headers["X-Total-Count"] == str(len(r.json()))
        assert r.headers["X-Total-Complete"] == "true"
        return [(o["item"]["item_id"], o["days_overdue"]) for o in r.json()]

    later = TODAY + timedelta(10)
    assert await overdue(TODAY + timedelta(1)) == []  # none past its deadline yet
    assert await overdue(TODAY + timedelta(4)) == sorted([(f"{bvid}-1", 3), (f"{vid}-1", 1)])
    # A township sees its own station's items only (B's is another township's).
    town_a = running.bearer("360104007", "town-a", ["county_officer"])
    assert await overdue(TODAY + timedelta(4), town_a) == [(f"{vid}-1", 1)]
    assert await overdue(later) == sorted([(f"{bvid}-1", 9), (f"{vid}-1", 7), (f"{vid}-2", 5)])
    # With a limit: the most overdue, and the count of all.
    most = await trn.get(
        "/supervision/overdue", headers=county, params={"as_of": str(later), "limit": 1}
    )
    assert [o["item"]["item_id"] for o in most.json()] == [f"{bvid}-1"]
    assert most.headers["X-Total-Count"] == "3"
    # Closed: it leaves the list (and its entry the index).
    closure = {"closed_on": str(TODAY), "note": "已补齐"}
    closed = await trn.post(
        f"/supervision-visits/{vid}/items/{vid}-1/closure", headers=county, json=closure
    )
    assert closed.status_code == 200, closed.text
    assert await store.open_items.collection.find_one({"key": f"{vid}-1"}) is None
    assert await overdue(later) == sorted([(f"{bvid}-1", 9), (f"{vid}-2", 5)])
    # As before the entries existed: the first listing enters every open item, once.
    await store.open_items.collection.delete_many({})
    store.open_items._all_entered = False
    assert await overdue(later) == sorted([(f"{bvid}-1", 9), (f"{vid}-2", 5)])
    assert await store.open_items.collection.find_one({"_id": ENTERED_ALL}) is not None
    # An entry whose commit never happened (the closed item): not listed, and removed.
    item = {"item_id": f"{vid}-1", "deadline": str(TODAY + timedelta(3))}
    phantom = {"region_code": "360104007", "station_id": a, "items": [item]}
    await store.open_items.enter([(vid, phantom)])
    assert await overdue(later) == sorted([(f"{bvid}-1", 9), (f"{vid}-2", 5)])
    assert await store.open_items.collection.find_one({"key": f"{vid}-1"}) is None
    # Another county's official sees none of them.
    other = running.bearer("360102", "county-2", ["county_officer"])
    assert await overdue(later, other) == []
