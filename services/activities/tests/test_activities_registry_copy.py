"""The local copy of the registry: each event applied once, whatever the redelivery."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from activities import handlers
from wushe.bus import Delivery
from wushe.contracts.events import registry as reg

pytestmark = pytest.mark.integration


class CopyStore:
    """The two methods of ActivitiesStore the copy uses, on a real collection."""

    def __init__(self, db: Any) -> None:
        self.known_stations = db["known_stations"]

    async def position(self, collection: Any, key: str) -> tuple[dict[str, Any] | None, int]:
        doc = await collection.find_one({"_id": key})
        return doc, int(doc["offset"]) if doc else -1

    async def save_copy(self, collection: Any, key: str, doc: dict[str, Any]) -> None:
        await collection.replace_one({"_id": key}, doc, upsert=True)


async def test_replayed_and_redelivered_events_apply_once(mongo_db: Any) -> None:
    store = CopyStore(mongo_db)
    events = [
        reg.StationRegistered(
            station_id="st-1", region_code="360104002", name="x", kind="street", status="planned"
        ),
        reg.RoomAdded(
            station_id="st-1",
            region_code="360104002",
            room_id="rm-1",
            room_region_code="360104002001",
            name="r",
        ),
        reg.StationStatusChanged(
            station_id="st-1",
            region_code="360104002",
            from_status="planned",
            to_status="operating",
            effective_date=date(2026, 1, 1),
            reason="open",
        ),
        reg.StationStatusChanged(
            station_id="st-1",
            region_code="360104002",
            from_status="operating",
            to_status="suspended",
            effective_date=date(2026, 2, 1),
            reason="pause",
        ),
    ]

    async def deliver(i: int) -> None:
        event = events[i]
        await handlers._apply(
            store,
            store.known_stations,
            "st-1",  # type: ignore[arg-type]
            Delivery("registry.stations", 0, 100 + i, b"st-1"),
            lambda doc: handlers._station(doc, event),
        )

    for i in range(4):
        await deliver(i)
    final = await store.known_stations.find_one({"_id": "st-1"})
    for i in (0, 1, 2, 3, 2):  # a replay from the start, then a stray redelivery
        await deliver(i)
    assert await store.known_stations.find_one({"_id": "st-1"}) == final
    assert (final["status"], final["rooms"], final["offset"]) == ("suspended", ["rm-1"], 103)


async def test_an_event_before_its_station_is_refused(mongo_db: Any) -> None:
    store = CopyStore(mongo_db)
    room = reg.RoomAdded(
        station_id="st-2",
        region_code="360104002",
        room_id="rm-2",
        room_region_code="360104002002",
        name="r",
    )
    with pytest.raises(ValueError, match="before the one that creates it"):
        await handlers._apply(
            store,
            store.known_stations,
            "st-2",  # type: ignore[arg-type]
            Delivery("registry.stations", 0, 5, b"st-2"),
            lambda doc: handlers._station(doc, room),
        )
    assert await store.known_stations.find_one({"_id": "st-2"}) is None
