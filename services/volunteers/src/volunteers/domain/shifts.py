"""Shifts (值班) and service windows: where and when hours can be served, a shift's hours
or a held activity's day, in China time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel

from wushe.clock import CHINA
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.contracts.known import KnownStation
from wushe.errors import DomainError


class Shift(BaseModel):
    shift_id: str
    station_id: str
    region_code: str
    shift_date: date
    starts_at: time
    ends_at: time
    duty: str


def plan_shift(shift_id: str, station: KnownStation, **times: Any) -> tuple[Shift, Event]:
    """A shift at the station; `times`: the rest of `Shift` (its day, hours and duty)."""
    shift = Shift(shift_id=shift_id, **station.place, **times)
    return shift, schedule_shift(shift)


def schedule_shift(shift: Shift) -> Event:
    if shift.ends_at <= shift.starts_at:
        raise DomainError("ends_at", "must be after starts_at (a shift stays within one day)")
    return ev.ShiftScheduled.of(
        shift, starts_at=shift.starts_at.strftime("%H:%M"), ends_at=shift.ends_at.strftime("%H:%M")
    )


class ServiceWindow(BaseModel):
    """Where and when hours can be served: an activity's day or a shift's hours (China time)."""

    source: ev.AttendanceSource
    source_id: str
    station_id: str
    region_code: str
    day: date
    starts: datetime
    ends: datetime
    open: bool = True  # false: the activity was cancelled

    def ref(self) -> ev.ServiceRef:
        return ev.ServiceRef(
            source=self.source,
            source_id=self.source_id,
            station_id=self.station_id,
            region_code=self.region_code,
        )


def _local(day: date, t: time) -> datetime:
    return datetime.combine(day, t, tzinfo=CHINA)


def shift_window(s: Shift) -> ServiceWindow:
    return ServiceWindow(
        source="shift",
        source_id=s.shift_id,
        station_id=s.station_id,
        region_code=s.region_code,
        day=s.shift_date,
        starts=_local(s.shift_date, s.starts_at),
        ends=_local(s.shift_date, s.ends_at),
    )


def activity_window(
    activity_id: str, station_id: str, region_code: str, day: date, *, cancelled: bool
) -> ServiceWindow:
    return ServiceWindow(
        source="activity",
        source_id=activity_id,
        station_id=station_id,
        region_code=region_code,
        day=day,
        starts=_local(day, time(0, 0)),
        ends=_local(day + timedelta(days=1), time(0, 0)),
        open=not cancelled,
    )
