"""Activities held, households visited, client files opened: per station and day."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from projector.engine import Bucket, Delta
from projector.views.counters import counts_delta, linkage_delta, merge
from wushe import clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act


class ActivityRollup:
    """Activities held, sessions and person-times by beneficiary group and service area, the
    five societies they linked, per station and day."""

    name = "activities"
    topics: tuple[str, ...] = (act.ACTIVITIES, act.VISITS, act.CLIENT_FILES)
    counters: ClassVar[dict[str, str]] = {
        "activities": "activities held (开展活动)",
        "sessions": "service sessions (服务场次) of the activities held",
        "sessions:<area>": "service sessions (场次) by the activity's service area (服务领域)",
        "person_times": "person-times served (服务人次), every beneficiary group together",
        "person_times:<group>": "person-times (人次) by beneficiary group (服务对象)",
        "person_times_in:<area>": "person-times (人次) by the activity's service area (服务领域)",
        "society:<society>": "activities the society took part in (五社联动, one of the five "
        "societies 五社)",
        "five_societies": "activities all five societies took part in (五社联动)",
        "households_visited": "household visits (入户走访)",
        "client_files_opened": "client files opened (服务对象档案)",
    }

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, act.ActivityHeld):
            f = event.activity
            delta = {
                "activities": 1,
                **counts_delta(event.counts, f.service_area),
                **linkage_delta(event.linkage),
            }
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
