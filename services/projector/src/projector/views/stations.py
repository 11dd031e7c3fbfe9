"""Stations by status and rooms: per station, dated by the event."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from projector.engine import Bucket, Delta
from wushe import clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import registry as reg


class StationRollup:
    """Stations by status, rooms, star ratings: per station, dated by the event."""

    name = "stations"
    topics: tuple[str, ...] = (reg.STATIONS,)

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        day: date = clock.today(envelope.time)
        if isinstance(event, reg.StationRegistered):
            yield Bucket.at(event, day), {"stations": 1, f"status:{event.status}": 1}
        elif isinstance(event, reg.StationStatusChanged):
            moved = {f"status:{event.from_status}": -1, f"status:{event.to_status}": 1}
            yield Bucket.at(event, event.effective_date), moved
        elif isinstance(event, reg.RoomAdded):
            yield Bucket.at(event, day), {"rooms": 1}
