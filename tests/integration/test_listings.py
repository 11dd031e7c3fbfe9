"""Listings that find their matches without reading every state, on the real store (decision
0038): a region's stations from small summaries kept with the states, a station's records from
notes whose ids begin with the station's."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from pymongo.errors import AutoReconnect

from wushe.store import EventStore, NewCommit, page
from wushe.store.notes import station_notes
from wushe_dev.testing import probe_event


class Place(BaseModel):
    region_code: str
    status: str
    name: str = ""
    station_id: str = ""


def place(region: str, status: str = "operating", **more: Any) -> dict[str, Any]:
    return Place(region_code=region, status=status, **more).model_dump()


async def listed(store: EventStore, query: dict[str, Any], **more: Any) -> tuple[list[str], int]:
    rows, total = await page(store, Place, query, limit=more.pop("limit", 50), offset=0, **more)
    return [f"{p.region_code}:{p.status}" for p, _ in rows], total


async def test_a_regions_listing_reads_summaries_as_current_as_the_states(
    mongo_db: Any, unique: str
) -> None:
    probe, _ = probe_event(f"t.{unique}")
    aggregate = f"places_{unique}"
    before = EventStore(mongo_db, aggregate, source="/wushe/test")
    await before.append("p1", 0, [probe(n=1)], place("360102001"))  # before any summary
    store = EventStore(mongo_db, aggregate, source="/wushe/test")
    store.summarise(["region_code", "status"])
    await store.append("p2", 0, [probe(n=1)], place("360102002", "planned"))
    await store.append_many(
        [
            NewCommit("p3", 0, [probe(n=1)], place("360103001")),
            NewCommit("p4", 0, [probe(n=1)], place("110101001")),
        ]
    )
    await store.append("p2", 1, [probe(n=2)], place("360102002", "operating"))

    # The first listing gives the states cached before the summaries theirs, once.
    assert await listed(store, {"region_code": {"$regex": "^36"}}) == (
        ["360102001:operating", "360102002:operating", "360103001:operating"],
        3,
    )
    assert await listed(store, {"status": "planned"}) == ([], 0)
    summaries = {d["_id"]: d async for d in mongo_db[f"{aggregate}_summaries"].find({})}
    assert summaries.pop("~summarised") == {"_id": "~summarised"}
    assert summaries["p2"] == {
        "_id": "p2",
        "_v": 2,
        "region_code": "360102002",
        "status": "operating",
    }
    assert sorted(summaries) == ["p1", "p2", "p3", "p4"]

    # A listing finds what the summaries hold (a state with none is not found), and shows
    # only the states that still match: the page is read from the states, with the query.
    await store.current.insert_one({"_id": "p5", "_v": 1, **place("360102005")})
    await mongo_db[f"{aggregate}_summaries"].update_one(
        {"_id": "p4"}, {"$set": {"region_code": "360104004"}}
    )
    assert await listed(store, {"region_code": {"$regex": "^3601"}}) == (
        ["360102001:operating", "360102002:operating", "360103001:operating"],
        4,  # counted from the summaries
    )
    # A query on a field the summaries lack reads the states.
    assert await listed(store, {"name": ""}, limit=0) == (
        [
            "360102001:operating",
            "360102002:operating",
            "360103001:operating",
            "110101001:operating",
            "360102005:operating",
        ],
        5,
    )


async def test_a_summary_that_failed_to_write_heals_with_its_state(
    mongo_db: Any, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe, _ = probe_event(f"t.{unique}")
    store = EventStore(mongo_db, f"healing_{unique}", source="/wushe/test")
    store.summarise(["region_code", "status"])
    await store.append("p1", 0, [probe(n=1)], place("360102001", "planned"))
    assert store.summaries is not None
    summaries = store.summaries
    real = summaries.replace_one
    failures = iter([AutoReconnect("the store went away")])

    async def fails_once(*args: Any, **kwargs: Any) -> Any:
        for failure in failures:
            raise failure
        return await real(*args, **kwargs)

    monkeypatch.setattr(summaries, "replace_one", fails_once)
    await store.append("p1", 1, [probe(n=2)], place("360102001", "operating"))  # committed
    # Neither the summary nor the state was written: the stream is stale, and heals both.
    assert (await store.current.find_one({"_id": "p1"}))["status"] == "planned"
    assert (await store.load("p1")).state == place("360102001", "operating")
    assert await listed(store, {"status": "operating"}) == (["360102001:operating"], 1)
    assert await listed(store, {"status": "planned"}) == ([], 0)


async def test_a_stations_records_are_a_range_of_note_ids(mongo_db: Any, unique: str) -> None:
    probe, _ = probe_event(f"t.{unique}")
    store = EventStore(mongo_db, f"records_{unique}", source="/wushe/test")
    await store.append("old", 0, [probe(n=1)], place("360102001", station_id="st-1"))
    notes = station_notes(mongo_db[f"records_{unique}_by_station"], store, "station_id")
    for i, station in enumerate(("st-1", "st-10", "st-1", "st-2")):
        await store.append(f"r{i}", 0, [probe(n=1)], place("360102001", station_id=station))

    assert await notes.of("st-1") == ["old", "r0", "r2"]  # noted from its state, once
    assert await notes.of("st-10") == ["r1"]  # not st-1's, though its id begins alike
    note_ids = [d["_id"] async for d in notes.collection.find({"s": "r1"})]
    assert note_ids == ["st-10|r1"]
    # Moved: noted at its new station before the commit; the old note stays, and a listing
    # checks the states again.
    await store.append("r0", 1, [probe(n=2)], place("360102001", station_id="st-2"))
    assert await notes.of("st-2") == ["r0", "r3"]
    query = {"station_id": "st-1"}
    rows, total = await page(store, Place, query, limit=10, offset=0, among=await notes.of("st-1"))
    assert ([p.station_id for p, _ in rows], total) == (["st-1", "st-1"], 2)
    rows, _ = await page(store, Place, query, limit=10, offset=0, among=[])
    assert rows == []
