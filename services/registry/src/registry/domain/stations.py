"""Stations (社工站) and their rooms (社工室): registration, details, status, rooms, and
following the boundary changes of their township. A county's centre (区/县级社工总站) is a
station of kind `centre` on the county's code: one per county, no rooms, never a township's
station (coverage does not count it)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel

from registry.domain.changes import record_changes
from registry.domain.regions import BoundaryChange, Region, checked_code, successor
from wushe.contracts import Event
from wushe.contracts.events import registry as ev
from wushe.errors import Conflict, DomainError

StationStatus = ev.StationStatus
TRANSITIONS: dict[str, set[str]] = {
    "planned": {"operating", "closed"},
    "operating": {"suspended", "closed"},
    "suspended": {"operating", "closed"},
    "closed": set(),
}
_HOTLINE_RE = re.compile(r"^[0-9+\-() ]{5,20}$")


class RegionSpan(BaseModel):
    region_code: str
    since: date | None
    boundary_change_id: str | None = None


class Station(BaseModel):
    """A station's current state (the event store caches this per station)."""

    station_id: str
    region_code: str
    name: str
    kind: ev.StationKind
    status: StationStatus
    operator_org_id: str | None = None
    contract_start: date | None = None
    contract_end: date | None = None
    functions: list[ev.StationFunction] = []
    hotline: str | None = None
    rating: dict[str, Any] | None = None
    rating_history: list[dict[str, Any]] = []
    rooms: list[dict[str, str]] = []
    region_history: list[RegionSpan] = []
    status_history: list[dict[str, Any]] = []


def station_id_for(township_code: str) -> str:
    # Deterministic: the first insert of version 1 of this stream is the
    # one-station-per-township check, atomic on any store (a county's code: its centre).
    return f"st-{township_code}"


CENTRE_NAME = "社工总站"  # a centre's default name follows the county's: 永川区社工总站


def check_not_future(day: date | None, today: date, field: str) -> None:
    """A backfilled date (开业日期, 驻站日期) lies in the past, never after today."""
    if day is not None and day > today:
        raise DomainError(field, f"不能晚于今天 {today} (must not be after today, {today})")


def opening_day(station: Station) -> date | None:
    """The day the station opened: its first status began then (its registration day
    unless it was registered with an earlier opening date)."""
    if not station.status_history:
        return None
    return date.fromisoformat(str(station.status_history[0]["since"]))


class StationDetails(BaseModel):
    """Fields a station is registered or updated with (validated here, not in the API)."""

    name: str | None = None
    operator_org_id: str | None = None
    contract_start: date | None = None
    contract_end: date | None = None
    functions: list[ev.StationFunction] | None = None
    hotline: str | None = None


def _check_details(d: StationDetails, current: Station | None = None) -> None:
    if d.name is not None and not d.name.strip():
        raise DomainError("name", "must not be empty")
    start = d.contract_start or (current.contract_start if current else None)
    end = d.contract_end or (current.contract_end if current else None)
    if start and end and end < start:
        raise DomainError("contract_end", "must not be before contract_start")
    if d.hotline is not None and not _HOTLINE_RE.match(d.hotline):
        raise DomainError("hotline", "5-20 digits, spaces, +, - or parentheses")
    if d.functions is not None and len(set(d.functions)) != len(d.functions):
        raise DomainError("functions", "must not repeat")


def check_operator(org_id: str | None, known: bool) -> None:
    """The operating organisation (承接机构) must be one the caller can see in the registry."""
    if org_id is not None and not known:
        raise DomainError("operator_org_id", f"no organisation {org_id}")


def register_station(
    township: Region,
    details: StationDetails,
    *,
    status: StationStatus = "planned",
    today: date,
    opened_on: date | None = None,
    operator_known: bool = True,
    taken_by: str | None = None,
) -> tuple[Station, Event]:
    """`taken_by`: the station the township has already (one station per township).
    `township` may be a county: its centre (区/县级社工总站). `opened_on`: the day it opened,
    when registered after (backfill); its status counts from then."""
    if township.level not in ("township", "county"):
        raise DomainError(
            "region_code",
            f"{township.code} is a {township.level}: a station belongs to a township or "
            "street, a centre (社工总站) to a county",
        )
    if status not in ("planned", "operating"):
        raise DomainError("status", "a new station is planned or operating")
    check_not_future(opened_on, today, "opened_on")
    _check_details(details)
    check_operator(details.operator_org_id, operator_known)
    if taken_by is not None:
        raise Conflict("region_code", f"township {township.code} already has station {taken_by}")
    centre = township.level == "county"
    default_name = f"{township.name}{CENTRE_NAME}" if centre else f"{township.name}社工站"
    since = opened_on or today
    station = Station(
        station_id=station_id_for(township.code),
        region_code=township.code,
        name=(details.name or default_name).strip(),
        kind="centre" if centre else township.kind,
        status=status,
        operator_org_id=details.operator_org_id,
        contract_start=details.contract_start,
        contract_end=details.contract_end,
        functions=sorted(details.functions or []),
        hotline=details.hotline,
        region_history=[RegionSpan(region_code=township.code, since=None)],
        status_history=[{"status": status, "since": since.isoformat(), "reason": "registered"}],
    )
    return station, ev.StationRegistered.of(station, opened_on=opened_on)


def change_details(
    station: Station, details: StationDetails, *, operator_known: bool = True
) -> tuple[Station, list[Event]]:
    """Only what really changes is recorded; the same details again change nothing."""
    check_operator(details.operator_org_id, operator_known)
    _check_details(details, station)
    if station.status == "closed":
        raise Conflict("status", "a closed station cannot be changed")
    updates = details.model_dump(exclude_none=True)
    if "functions" in updates:
        updates["functions"] = sorted(updates["functions"])
    if "name" in updates:
        updates["name"] = updates["name"].strip()
    new, events = record_changes(
        station, updates, ev.StationDetailsChanged, "station_id", "region_code"
    )
    # The functions replaced, so views can move the station between function counts.
    return new, [
        e.model_copy(update={"previous_functions": station.functions})
        if isinstance(e, ev.StationDetailsChanged) and e.functions is not None
        else e
        for e in events
    ]


def status_since(station: Station) -> date | None:
    """The day the station's current status began: the last entry of its status history
    (the first is its registration)."""
    if not station.status_history:
        return None
    return date.fromisoformat(str(station.status_history[-1]["since"]))


def change_status(
    station: Station, to: StationStatus, *, reason: str, effective_date: date
) -> tuple[Station, Event]:
    if to == station.status:
        raise Conflict("status", f"the station is already {to}")
    if to not in TRANSITIONS[station.status]:
        raise Conflict(
            "status",
            f"{station.status} -> {to} is not allowed (allowed: "
            f"{', '.join(sorted(TRANSITIONS[station.status])) or 'none'})",
        )
    if not reason.strip():
        raise DomainError("reason", "say why the status changes")
    since = status_since(station)
    if since is not None and effective_date < since:
        # A status cannot begin before the station exists, nor before its current status
        # began: the views would count it out of a status it was not yet in.
        raise DomainError(
            "effective_date",
            f"生效日期不能早于当前状态的开始日 {since}，社工站登记日亦然 "
            f"(must not be before the current status began on {since}, nor before the "
            "station's registration)",
        )
    history = [
        *station.status_history,
        {"status": to, "since": effective_date.isoformat(), "reason": reason},
    ]
    new = station.model_copy(update={"status": to, "status_history": history})
    return new, ev.StationStatusChanged.of(
        station,
        from_status=station.status,
        to_status=to,
        effective_date=effective_date,
        reason=reason,
    )


def add_room(
    station: Station,
    *,
    room_region_code: str,
    name: str | None,
    village_name: str | None,
    opened_on: date | None = None,
    today: date,
) -> tuple[Station, Event]:
    """A room on a village/community (`village_name` from the reference data; None when the
    code is unknown there). The room's name defaults to the village's. `opened_on`: the day
    the room opened, when added after (backfill): not before the station opened."""
    if station.kind == "centre":
        raise DomainError("station_id", "社工总站不设村居社工室 (a centre has no village rooms)")
    check_not_future(opened_on, today, "opened_on")
    station_opened = opening_day(station)
    if opened_on is not None and station_opened is not None and opened_on < station_opened:
        raise DomainError(
            "opened_on",
            f"不能早于社工站开业日 {station_opened} (must not be before the station opened)",
        )
    code = checked_code(room_region_code, "room_region_code")
    if len(code) != 12:
        raise DomainError("room_region_code", "a village/community code has 12 digits")
    if village_name is None:
        raise DomainError("room_region_code", f"unknown village/community code {code}")
    name = name if name is not None else f"{village_name}社工室"
    if not code.startswith(station.region_code):
        raise DomainError(
            "room_region_code", f"{code} is not in the station's township {station.region_code}"
        )
    if any(r["room_region_code"] == code for r in station.rooms):
        raise Conflict("room_region_code", f"the station already has a room on {code}")
    if not name.strip():
        raise DomainError("name", "must not be empty")
    if station.status == "closed":
        raise Conflict("status", "a closed station gets no new rooms")
    room = {"room_id": f"rm-{code}", "room_region_code": code, "name": name.strip()}
    if opened_on is not None:
        room["opened_on"] = opened_on.isoformat()
    new = station.model_copy(update={"rooms": [*station.rooms, room]})
    return new, ev.RoomAdded.of(station, **room)


def move_station(station: Station, change: BoundaryChange) -> tuple[Station, Event] | None:
    """Follow a boundary change; None when the change does not touch this station."""
    if station.region_code not in {o.code for o in change.old}:
        return None
    target = successor(change, station.region_code)
    if target == station.region_code:
        return None  # a rename, or the surviving township of a merge
    history = [
        *station.region_history,
        RegionSpan(
            region_code=target, since=change.effective_date, boundary_change_id=change.change_id
        ),
    ]
    new = station.model_copy(update={"region_code": target, "region_history": history})
    return new, ev.StationRegionChanged.of(
        new,
        previous_region_code=station.region_code,
        effective_date=change.effective_date,
        boundary_change_id=change.change_id,
    )


def follow_boundary_change(station: Station, change: BoundaryChange) -> tuple[Station, list[Event]]:
    """`move_station` as a command's decision: no events when the change leaves it be."""
    moved = move_station(station, change)
    return (station, []) if moved is None else (moved[0], [moved[1]])


def region_as_of(station: Station, day: date) -> str:
    """The code the station's township had on `day` (its region history)."""
    code = station.region_history[0].region_code if station.region_history else station.region_code
    for span in station.region_history[1:]:
        if span.since is not None and span.since <= day:
            code = span.region_code
    return code
