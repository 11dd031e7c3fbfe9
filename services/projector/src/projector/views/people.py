"""Social workers by certification, social workers at stations, stations by star rating."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from projector.engine import Bucket, Delta
from projector.views.counters import merge
from wushe import clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import registry as reg


class PeopleAndRatings:
    """Social workers by certification and general-practice (全科) flag, counted in the
    region they are registered in; social workers at a station (驻站社工) from the day their
    assignment began; stations by their current star rating."""

    name = "people"
    topics: tuple[str, ...] = (reg.SOCIAL_WORKERS, reg.STATIONS)
    counters: ClassVar[dict[str, str]] = {
        "social_workers": "social workers registered (社工), in the region they are registered in",
        "certification:<certification>": "social workers by their current certification "
        "(职业资格): a new certificate moves the worker",
        "general_practice": "general-practice social workers (全科社工)",
        "assigned_social_workers": "social workers at a station (驻站社工), counted at the "
        "station from the day the assignment began (驻站日期, which may precede its recording); "
        "a move takes them from the previous station that day",
        "stars:<n>": "stations by their current star rating (星级评定), as in `stations`",
        "rated_stations": "stations rated at least once (星级评定)",
    }

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        day = clock.today(envelope.time)
        if isinstance(event, reg.SocialWorkerRegistered):
            delta: Delta = {"social_workers": 1, f"certification:{event.certification}": 1}
            if event.general_practice:
                delta["general_practice"] = 1
            yield Bucket(event.worker_id, event.region_code, day), delta
        elif (
            isinstance(event, reg.SocialWorkerCertified)
            and event.previous_certification is not None
        ):
            delta = merge(
                {f"certification:{event.certification}": 1},
                {f"certification:{event.previous_certification}": -1},
            )
            if (
                event.previous_general_practice is not None
                and event.previous_general_practice != event.general_practice
            ):
                delta["general_practice"] = 1 if event.general_practice else -1
            if delta:
                yield Bucket(event.worker_id, event.region_code, day), delta
        elif isinstance(event, reg.SocialWorkerAssigned):
            yield from assignment_deltas(event)
        elif isinstance(event, reg.StationRated) and not reg.is_centre(event.region_code):
            delta = {f"stars:{event.stars}": 1}
            if event.previous_stars is None:
                delta["rated_stations"] = 1
            else:
                delta = merge(delta, {f"stars:{event.previous_stars}": -1})
            if delta:
                yield Bucket.at(event, event.rated_on), delta


def assignment_deltas(event: reg.SocialWorkerAssigned) -> Iterable[tuple[Bucket, Delta]]:
    """At the new station from `from_date`, out of the previous one that day. An event
    recorded before `previous_region_code` was added cannot say where the previous station
    was: the worker is only added."""
    on = event.from_date
    yield Bucket(event.station_id, event.region_code, on), {"assigned_social_workers": 1}
    if event.previous_station_id and event.previous_region_code:
        previous = Bucket(event.previous_station_id, event.previous_region_code, on)
        yield previous, {"assigned_social_workers": -1}
