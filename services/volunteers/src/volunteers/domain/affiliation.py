"""A volunteer's station affiliation: a move to another station, a deregistration. Either
ends every backbone status, which belongs to the old station."""

from __future__ import annotations

from datetime import date
from typing import Any

from volunteers.domain.backbones import demote_all
from volunteers.domain.volunteers import Volunteer, active, check_day
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.contracts.known import KnownStation
from wushe.errors import Conflict


def move(
    v: Volunteer, station: KnownStation, *, on: date, today: date
) -> tuple[Volunteer, list[Event]]:
    """A new station affiliation; backbone status belongs to the old station and ends."""
    active(v)
    check_day(on, today, "moved_on")
    if station.station_id == v.station_id:
        raise Conflict("station_id", "already affiliated with this station")
    v, events = demote_all(v, on, "moved_away", today)
    moved = v.model_copy(update=station.place)
    return moved, [
        *events,
        ev.VolunteerMoved.of(
            moved, from_station_id=v.station_id, from_region_code=v.region_code, moved_on=on
        ),
    ]


def deregister(
    v: Volunteer, *, on: date, reason_code: Any, today: date
) -> tuple[Volunteer, list[Event]]:
    active(v)
    check_day(on, today, "deregistered_on")
    v, events = demote_all(v, on, "own_request" if reason_code == "own_request" else "other", today)
    gone = ev.VolunteerDeregistered.of(v, deregistered_on=on, reason_code=reason_code)
    return v.model_copy(update={"status": "deregistered"}), [*events, gone]
