"""Programmes (项目) such as 蓝马甲行动: a funder, a period, regions, targets; stations
enrolled with their own targets (the programme's default, or the total split exactly)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from registry.domain.changes import record_changes
from registry.domain.regions import Region
from registry.domain.stations import Station
from wushe.contracts import Event
from wushe.contracts.events import registry as ev
from wushe.errors import Conflict, DomainError


def sum_targets(targets: Iterable[ev.Targets]) -> ev.Targets:
    """The sum over stations; a measure absent everywhere stays absent."""
    backbones: int | None = None
    sessions: int | None = None
    person_times: dict[str, int] = {}
    for t in targets:
        if t.backbone_volunteers is not None:
            backbones = (backbones or 0) + t.backbone_volunteers
        if t.service_sessions is not None:
            sessions = (sessions or 0) + t.service_sessions
        for group, n in t.person_times.items():
            person_times[group] = person_times.get(group, 0) + n
    return ev.Targets(
        backbone_volunteers=backbones, service_sessions=sessions, person_times=person_times
    )


def split_total(total: ev.Targets, stations: int) -> list[ev.Targets]:
    """Per-station targets that add up exactly to `total` (remainders go to the first
    stations): 5,544 sessions over 462 stations is 12 each; 5,000 backbones is 10 or 11."""
    if stations <= 0:
        raise DomainError("stations", "must be at least 1")

    def share(value: int | None, i: int) -> int | None:
        if value is None:
            return None
        base, extra = divmod(value, stations)
        return base + (1 if i < extra else 0)

    return [
        ev.Targets(
            backbone_volunteers=share(total.backbone_volunteers, i),
            service_sessions=share(total.service_sessions, i),
            person_times={g: share(v, i) or 0 for g, v in total.person_times.items()},
        )
        for i in range(stations)
    ]


class ProgrammeFacts(BaseModel):
    # What a programme is, as its creation announces it and its answer shows it.
    programme_id: str
    name: str
    funder_org_id: str | None
    region_code: str
    scope_regions: list[str]
    start_date: date
    end_date: date
    total_targets: ev.Targets
    station_targets: ev.Targets


class Programme(ProgrammeFacts):
    enrolments: dict[str, dict[str, Any]] = {}

    def enrolled(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.enrolments.items() if v.get("withdrawn_on") is None}

    def in_scope(self, region_code: str) -> bool:
        return any(region_code.startswith(r) for r in self.scope_regions)


def common_prefix(codes: Sequence[str]) -> str:
    prefix = codes[0]
    for code in codes[1:]:
        while not code.startswith(prefix):
            prefix = prefix[:-1]
    for n in (9, 6, 4, 2):  # a meaningful region level
        if len(prefix) >= n:
            return prefix[:n]
    return prefix


def check_funder(org_id: str | None, known: bool) -> None:
    if org_id and not known:
        raise DomainError("funder_org_id", "unknown organisation")


def create_programme(
    *,
    programme_id: str,
    name: str,
    funder_org_id: str | None,
    scope: Sequence[Region],
    start_date: date,
    end_date: date,
    total_targets: ev.Targets,
    station_targets: ev.Targets,
) -> tuple[Programme, Event]:
    if not name.strip():
        raise DomainError("name", "must not be empty")
    if end_date < start_date:
        raise DomainError("end_date", "must not be before start_date")
    if not scope:
        raise DomainError("scope_regions", "name at least one region")
    codes = sorted({r.code for r in scope})
    region = common_prefix(codes)
    if len(region) < 2:
        raise DomainError("scope_regions", "a programme stays within one province")
    programme = Programme(
        programme_id=programme_id,
        name=name.strip(),
        funder_org_id=funder_org_id,
        region_code=region,
        scope_regions=codes,
        start_date=start_date,
        end_date=end_date,
        total_targets=total_targets,
        station_targets=station_targets,
    )
    return programme, ev.ProgrammeCreated.of(programme)


def enrol(
    programme: Programme,
    stations: Sequence[Station],
    *,
    on: date,
    targets: Sequence[ev.Targets] | None = None,
) -> tuple[Programme, list[Event]]:
    """Enrol stations (with their own targets, or the programme's per-station default)."""
    if targets is not None and len(targets) != len(stations):
        raise DomainError("targets", "one entry per station")
    if not programme.start_date <= on <= programme.end_date:
        raise DomainError("enrolled_on", "must fall within the programme period")
    enrolments = dict(programme.enrolments)
    events: list[Event] = []
    for i, station in enumerate(stations):
        if not programme.in_scope(station.region_code):
            raise DomainError(
                f"station_ids[{i}]", f"{station.station_id} is outside the programme's regions"
            )
        if station.station_id in programme.enrolled():
            raise Conflict(f"station_ids[{i}]", f"{station.station_id} is already enrolled")
        if station.status == "closed":
            raise Conflict(f"station_ids[{i}]", f"{station.station_id} is closed")
        if station.station_id in {s.station_id for s in stations[:i]}:
            raise DomainError(f"station_ids[{i}]", "listed twice")
        t = targets[i] if targets is not None else programme.station_targets
        enrolments[station.station_id] = {
            "region_code": station.region_code,
            "enrolled_on": on.isoformat(),
            "targets": t.model_dump(),
            "withdrawn_on": None,
        }
        events.append(
            ev.StationEnrolled.of(
                station, programme_id=programme.programme_id, enrolled_on=on, targets=t
            )
        )
    return programme.model_copy(update={"enrolments": enrolments}), events


def enrolment_targets(
    programme: Programme, stations: int, how: Literal["default", "split_total"]
) -> list[ev.Targets] | None:
    """Each station's targets: None for the programme's per-station default."""
    return split_total(programme.total_targets, stations) if how == "split_total" else None


def update_programme(
    programme: Programme,
    *,
    name: str | None = None,
    end_date: date | None = None,
    total_targets: ev.Targets | None = None,
    station_targets: ev.Targets | None = None,
) -> tuple[Programme, list[Event]]:
    updates: dict[str, Any] = {
        k: v
        for k, v in {
            "name": name.strip() if name is not None else None,
            "end_date": end_date,
            "total_targets": total_targets,
            "station_targets": station_targets,
        }.items()
        if v is not None
    }
    if "name" in updates and not updates["name"]:
        raise DomainError("name", "must not be empty")
    if end_date is not None:
        if end_date < programme.start_date:
            raise DomainError("end_date", "must not be before start_date")
        last = max(
            (date.fromisoformat(e["enrolled_on"]) for e in programme.enrolled().values()),
            default=None,
        )
        if last is not None and end_date < last:
            raise DomainError("end_date", f"a station was enrolled on {last}")
    return record_changes(programme, updates, ev.ProgrammeUpdated, "programme_id", "region_code")


def withdraw(
    programme: Programme, station_id: str, *, on: date, reason: str
) -> tuple[Programme, list[Event]]:
    enrolment = programme.enrolled().get(station_id)
    if enrolment is None:
        raise Conflict("station_id", f"{station_id} is not enrolled")
    if not reason.strip():
        raise DomainError("reason", "say why")
    if on < date.fromisoformat(enrolment["enrolled_on"]):
        raise DomainError("withdrawn_on", "must not be before the enrolment")
    enrolments = {
        **programme.enrolments,
        station_id: {**enrolment, "withdrawn_on": on.isoformat(), "reason": reason},
    }
    return programme.model_copy(update={"enrolments": enrolments}), [
        ev.StationWithdrawn.of(
            programme,
            station_id=station_id,
            region_code=enrolment["region_code"],
            withdrawn_on=on,
            reason=reason,
        )
    ]


def enrolled_targets(programme: Programme) -> ev.Targets:
    return sum_targets(
        ev.Targets.model_validate(e["targets"]) for e in programme.enrolled().values()
    )
