"""Where each station is now: its township from registration, moved by each boundary change
(区划调整) that gave its township a new code. With it the views regroup history under
today's codes (`boundaries=current`) besides the codes recorded when it happened."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import ClassVar

from projector.engine import Bucket, Delta
from wushe import clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import registry as reg


class Placements:
    """Per station and township: 1 while the station lies in the township, from its
    registration (or opening) and from each move's effective day."""

    name = "placements"
    topics: tuple[str, ...] = (reg.STATIONS,)
    counters: ClassVar[dict[str, str]] = {
        "placed": "1 while the station lies in the region (registered there, or moved there by "
        "a boundary change), 0 once moved away",
    }

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, reg.StationRegistered):
            day: date = event.opened_on or clock.today(envelope.time)
            yield Bucket.at(event, day), {"placed": 1}
        elif isinstance(event, reg.StationRegionChanged):
            moved_from = Bucket(event.station_id, event.previous_region_code, event.effective_date)
            yield moved_from, {"placed": -1}
            yield Bucket.at(event, event.effective_date), {"placed": 1}
