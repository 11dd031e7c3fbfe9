"""The local copy of the registry (wushe.refcopy, used here by activities): each event
applied once, whatever the redelivery."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from wushe.bus import Delivery
from wushe.contracts import Envelope
from wushe.contracts.events import registry as reg
from wushe.refcopy import RegistryCopy

AT = {"station_id": "st-1", "region_code": "360104002"}


async def deliver(copy: RegistryCopy, event: Any, offset: int) -> None:
    envelope = Envelope.wrap(event, source="/wushe/registry", subject=event.station_id)
    await copy.on_event(event, envelope, Delivery("registry.stations", 0, offset, b"k"))


def moved(was: str, to: str, on: date, why: str) -> reg.StationStatusChanged:
    return reg.StationStatusChanged(
        **AT, from_status=was, to_status=to, effective_date=on, reason=why
    )


async def test_replayed_and_redelivered_events_apply_once(mongo_db: Any) -> None:
    copy = RegistryCopy(mongo_db)
    events = [
        reg.StationRegistered(**AT, name="x", kind="street", status="planned"),
        reg.RoomAdded(**AT, room_id="rm-1", room_region_code="360104002001", name="r"),
        moved("planned", "operating", date(2026, 1, 1), "open"),
        moved("operating", "suspended", date(2026, 2, 1), "pause"),
    ]
    for i, event in enumerate(events):
        await deliver(copy, event, 100 + i)
    final = await copy.station("st-1")
    for i in (0, 1, 2, 3, 2):  # a replay from the start, then a stray redelivery
        await deliver(copy, events[i], 100 + i)
    assert await copy.station("st-1") == final
    assert final is not None
    assert (final["status"], final["rooms"], final["offset"]) == ("suspended", ["rm-1"], 103)


async def test_an_event_before_its_station_is_refused(mongo_db: Any) -> None:
    copy = RegistryCopy(mongo_db)
    at_2 = {"station_id": "st-2", "region_code": "360104002"}
    room = reg.RoomAdded(**at_2, room_id="rm-2", room_region_code="360104002002", name="r")
    with pytest.raises(ValueError, match="before the one that creates it"):
        await deliver(copy, room, 5)
    assert await copy.station("st-2") is None
