"""Activities held, households visited, client files opened: per station and day."""

from __future__ import annotations

from collections.abc import Iterable

from projector.engine import Bucket, Delta
from projector.views.counters import counts_delta, merge
from wushe import clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act


class ActivityRollup:
    """Activities held, sessions and person-times by beneficiary group and service area,
    per station and day."""

    name = "activities"
    topics: tuple[str, ...] = (act.ACTIVITIES, act.VISITS, act.CLIENT_FILES)

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, act.ActivityHeld):
            f = event.activity
            delta = {"activities": 1, **counts_delta(event.counts, f.service_area)}
            yield Bucket.at(f, event.held_on), delta
        elif isinstance(event, act.ActivityCorrected):
            day = event.activity_date or clock.today(envelope.time)
            delta = merge(
                counts_delta(event.counts, event.service_area),
                counts_delta(event.previous, event.service_area, -1),
            )
            if delta:
                yield Bucket.at(event, day), delta
        elif isinstance(event, act.HouseholdVisited):
            yield Bucket.at(event, event.visited_on), {"households_visited": 1}
        elif isinstance(event, act.ClientFileOpened):
            yield Bucket.at(event, event.opened_on), {"client_files_opened": 1}
