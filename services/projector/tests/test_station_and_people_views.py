"""Stations, rooms and assignments recorded after the fact (backfill) count from the day they
began, so a view as of an earlier day shows them; a county's centre (社工总站) is counted
apart from the township stations."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from projector.engine import Projector, Record
from projector.views import VIEWS
from projector.views.people import PeopleAndRatings
from projector.views.stations import StationRollup
from wushe import clock
from wushe.bus import Delivery
from wushe.contracts import Envelope, Event
from wushe.contracts.events import registry as reg
from wushe_dev.builders import envelope

OPENED = date(2021, 3, 1)
TOWN = {"station_id": "st-360104002", "region_code": "360104002"}
OTHER = {"station_id": "st-360104006", "region_code": "360104006"}
CENTRE = {"station_id": "st-360104", "region_code": "360104"}


def deltas(view: Any, event: Event) -> list[tuple[Any, dict[str, int]]]:
    env = Envelope.wrap(event, source="/wushe/test", subject="s")
    return [(bucket, dict(delta)) for bucket, delta in view.deltas(event, env)]


def registered(at: dict[str, str], kind: reg.StationKind, **kw: Any) -> reg.StationRegistered:
    return reg.StationRegistered(**at, name="站", kind=kind, status="operating", **kw)


def test_a_station_and_room_opened_before_they_were_recorded_count_from_then() -> None:
    ((bucket, delta),) = deltas(StationRollup(), registered(TOWN, "street", opened_on=OPENED))
    assert (bucket.day, delta) == (OPENED, {"stations": 1, "status:operating": 1})
    room = reg.RoomAdded(
        **TOWN, room_id="rm-1", room_region_code="360104002001", name="室", opened_on=OPENED
    )
    ((bucket, delta),) = deltas(StationRollup(), room)
    assert (bucket.day, delta) == (OPENED, {"rooms": 1})
    # Without an opening date: the day it was recorded, as before.
    ((bucket, _),) = deltas(StationRollup(), registered(TOWN, "street"))
    assert bucket.day == clock.today()


def test_a_county_centre_is_counted_apart_from_the_township_stations() -> None:
    centre = registered(CENTRE, "centre", functions=["elder_service"], opened_on=OPENED)
    ((bucket, delta),) = deltas(StationRollup(), centre)
    assert (bucket.key, bucket.region_code, bucket.day) == ("st-360104", "360104", OPENED)
    assert delta == {"centres": 1, "centre_status:operating": 1}
    suspended = reg.StationStatusChanged(
        **CENTRE, from_status="operating", to_status="suspended", effective_date=OPENED, reason="r"
    )
    ((_, moved),) = deltas(StationRollup(), suspended)
    assert moved == {"centre_status:operating": -1, "centre_status:suspended": 1}
    rated = reg.StationRated(**CENTRE, stars=5, rated_by="p", rated_on=OPENED, reason="r")
    assert deltas(StationRollup(), rated) == []  # not a township station's star
    assert deltas(PeopleAndRatings(), rated) == []


def test_an_assignment_counts_at_the_station_from_its_day_and_a_move_leaves_the_old() -> None:
    first = reg.SocialWorkerAssigned(worker_id="sw-1", **TOWN, from_date=OPENED)
    ((bucket, delta),) = deltas(PeopleAndRatings(), first)
    assert (bucket.key, bucket.day, delta) == (
        "st-360104002",
        OPENED,
        {"assigned_social_workers": 1},
    )
    later = date(2022, 1, 1)
    move = reg.SocialWorkerAssigned(
        worker_id="sw-1",
        **OTHER,
        from_date=later,
        previous_station_id=TOWN["station_id"],
        previous_region_code=TOWN["region_code"],
    )
    assert [(b.key, b.day, d) for b, d in deltas(PeopleAndRatings(), move)] == [
        ("st-360104006", later, {"assigned_social_workers": 1}),
        ("st-360104002", later, {"assigned_social_workers": -1}),
    ]
    # Recorded before the previous station's region was kept: only added.
    old = move.model_copy(update={"previous_region_code": None})
    assert len(deltas(PeopleAndRatings(), old)) == 1


async def test_views_as_of_before_the_import_day_show_what_was_backfilled(mongo_db: Any) -> None:
    events: list[tuple[str, Event]] = [
        ("st-360104002", registered(TOWN, "street", opened_on=OPENED)),
        ("st-360104", registered(CENTRE, "centre", opened_on=OPENED)),
        ("st-360104006", registered(OTHER, "street")),  # no date: counted from today
        ("sw-1", reg.SocialWorkerAssigned(worker_id="sw-1", **TOWN, from_date=OPENED)),
    ]
    records = [
        Record(
            Delivery(event.topic, 0, offset, subject.encode()), envelope(event, subject, 1), event
        )
        for offset, (subject, event) in enumerate(events)
    ]
    projector = Projector(mongo_db, VIEWS)
    await projector.apply(records)

    async def as_of(view: str, day: date) -> dict[str, int]:
        return (await projector.totals(view, region_prefix="36", as_of=day)).get("", {})

    before_opening, after_opening = OPENED - timedelta(days=1), date(2021, 6, 1)
    assert await as_of("stations", before_opening) == {}
    then = await as_of("stations", after_opening)
    assert (then["stations"], then["status:operating"], then["centres"]) == (1, 1, 1)
    now = await as_of("stations", clock.today())
    assert (now["stations"], now["centres"]) == (2, 1)
    assert (await as_of("people", after_opening))["assigned_social_workers"] == 1
    assert await as_of("people", before_opening) == {}
