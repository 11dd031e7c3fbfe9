"""Pure rules of the registry: commands in, events and new state out. No I/O here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wushe.contracts import Event
from wushe.contracts.events import registry as ev
from wushe.validators import check_region_code

# --------------------------------------------------------------------------- errors


class DomainError(ValueError):
    """A command broke a rule. `field` names the input at fault (for the 4xx body)."""

    status = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Conflict(DomainError):
    """The command is valid but clashes with what exists (duplicate, wrong state)."""

    status = 409


class NotFound(DomainError):
    status = 404


# --------------------------------------------------------------------------- regions

Level = Literal["province", "city", "county", "township"]
_LEVEL_BY_LEN: dict[int, Level] = {2: "province", 4: "city", 6: "county", 9: "township"}
PARENT_LEN = {4: 2, 6: 4, 9: 6}


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: Level
    parent: str | None
    valid_from: date | None = None  # set for regions a boundary change created
    retired_on: date | None = None  # set for regions a boundary change ended

    @property
    def kind(self) -> ev.StationKind:
        """Street (街道) or township (乡/镇), from the official name."""
        return "street" if self.name.endswith(("街道", "办事处")) else "township"


def level_of(code: str) -> Level:
    try:
        return _LEVEL_BY_LEN[len(code)]
    except KeyError:
        raise DomainError("region_code", f"{code} is not a 2/4/6/9-digit region code") from None


def parent_of(code: str) -> str | None:
    n = PARENT_LEN.get(len(code))
    return code[:n] if n else None


class BoundaryChange(BaseModel):
    """One township-level boundary change, as recorded (validated by `check_boundary_change`)."""

    model_config = ConfigDict(frozen=True)

    change_id: str
    kind: Literal["rename", "merge", "split", "move"]
    effective_date: date
    old: list[ev.RegionRef]
    new: list[ev.RegionRef]
    reason: str = ""
    station_moves: dict[str, str] = Field(
        default_factory=dict, description="old code -> new code, for splits"
    )

    def county(self) -> str:
        return (self.new or self.old)[0].code[:6]


class RegionTree:
    """The admin tree as of one date: base data with boundary changes applied.

    Lookups are in memory: the tree is reference data (about 45,000 regions), read far
    more often than it changes.
    """

    def __init__(self, regions: Iterable[Region]) -> None:
        self._by_code: dict[str, Region] = {r.code: r for r in regions}
        self._children: dict[str, list[str]] | None = None

    def __len__(self) -> int:
        return sum(1 for r in self._by_code.values() if r.retired_on is None)

    def get(self, code: str, *, include_retired: bool = False) -> Region | None:
        region = self._by_code.get(code)
        if region is None or (region.retired_on is not None and not include_retired):
            return None
        return region

    def require(self, code: str, field: str = "region_code") -> Region:
        check = _safe_code(code, field)
        region = self.get(check)
        if region is None:
            raise DomainError(field, f"unknown region code {code}")
        return region

    def children(self, code: str) -> list[Region]:
        if self._children is None:
            index: dict[str, list[str]] = {}
            for r in self._by_code.values():
                if r.parent is not None and r.retired_on is None:
                    index.setdefault(r.parent, []).append(r.code)
            self._children = {k: sorted(v) for k, v in index.items()}
        return [self._by_code[c] for c in self._children.get(code, [])]

    def ancestors(self, code: str) -> list[Region]:
        """Province first, the region's parent last."""
        out: list[Region] = []
        parent = parent_of(code)
        while parent is not None:
            region = self._by_code.get(parent)
            if region is None:
                break
            out.append(region)
            parent = region.parent
        return list(reversed(out))

    def search(
        self, text: str, *, within: str = "", level: Level | None = None, limit: int = 50
    ) -> list[Region]:
        found = [
            r
            for r in self._by_code.values()
            if r.retired_on is None
            and text in r.name
            and r.code.startswith(within)
            and (level is None or r.level == level)
        ]
        return sorted(found, key=lambda r: r.code)[:limit]

    def with_changes(self, changes: Sequence[BoundaryChange], as_of: date) -> RegionTree:
        """A new tree with every change effective on or before `as_of` applied, in order."""
        regions = dict(self._by_code)
        for change in sorted(changes, key=lambda c: (c.effective_date, c.change_id)):
            if change.effective_date > as_of:
                continue
            _apply(regions, change)
        return RegionTree(regions.values())


def _safe_code(code: str, field: str) -> str:
    try:
        return check_region_code(code)
    except ValueError as exc:
        raise DomainError(field, str(exc)) from None


def _apply(regions: dict[str, Region], change: BoundaryChange) -> None:
    new_codes = {n.code for n in change.new}
    for old in change.old:
        if old.code not in new_codes and old.code in regions:
            regions[old.code] = replace(regions[old.code], retired_on=change.effective_date)
    for new in change.new:
        regions[new.code] = Region(
            new.code, new.name, "township", parent_of(new.code), valid_from=change.effective_date
        )


def check_boundary_change(tree_then: RegionTree, change: BoundaryChange) -> None:
    """Raise `DomainError` unless `change` makes sense on the tree as of its date."""
    old_codes = [o.code for o in change.old]
    new_codes = [n.code for n in change.new]
    if not change.old or not change.new:
        raise DomainError("old" if not change.old else "new", "must not be empty")
    for i, ref in enumerate(change.old):
        region = tree_then.get(_safe_code(ref.code, f"old[{i}].code"))
        if region is None or region.level != "township":
            raise DomainError(
                f"old[{i}].code", f"{ref.code} is not an active township on {change.effective_date}"
            )
    for i, ref in enumerate(change.new):
        code = _safe_code(ref.code, f"new[{i}].code")
        if len(code) != 9:
            raise DomainError(f"new[{i}].code", "a township code has 9 digits")
        if tree_then.get(code[:6]) is None:
            raise DomainError(f"new[{i}].code", f"county {code[:6]} does not exist")
        if code not in old_codes and tree_then.get(code) is not None:
            raise DomainError(f"new[{i}].code", f"{code} is already in use")
        if not ref.name.strip():
            raise DomainError(f"new[{i}].name", "must not be empty")
    if len(set(old_codes)) != len(old_codes) or len(set(new_codes)) != len(new_codes):
        raise DomainError("old", "codes must not repeat")
    shape = {"rename": (1, 1), "merge": (2, 1), "split": (1, 2), "move": (1, 1)}
    min_old, min_new = shape[change.kind]
    exact_old = change.kind in ("rename", "split", "move")
    exact_new = change.kind in ("rename", "merge", "move")
    if len(old_codes) < min_old or (exact_old and len(old_codes) != min_old):
        raise DomainError(
            "old",
            f"a {change.kind} takes {'exactly' if exact_old else 'at least'} "
            f"{min_old} old township(s)",
        )
    if len(new_codes) < min_new or (exact_new and len(new_codes) != min_new):
        raise DomainError(
            "new",
            f"a {change.kind} takes {'exactly' if exact_new else 'at least'} "
            f"{min_new} new township(s)",
        )
    if change.kind == "rename" and old_codes != new_codes:
        raise DomainError("new[0].code", "a rename keeps the code")
    if change.kind == "move" and old_codes[0][:6] == new_codes[0][:6]:
        raise DomainError("new[0].code", "a move goes to another county")
    for old_code, new_code in change.station_moves.items():
        if old_code not in old_codes or new_code not in new_codes:
            raise DomainError("station_moves", f"{old_code} -> {new_code} is not in this change")


def successor(change: BoundaryChange, old_code: str) -> str:
    """Where a station in `old_code` goes after the change."""
    if old_code in change.station_moves:
        return change.station_moves[old_code]
    return change.new[0].code


# --------------------------------------------------------------------------- stations

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
    # one-station-per-township check, atomic on any store.
    return f"st-{township_code}"


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


def register_station(
    township: Region, details: StationDetails, *, status: StationStatus = "planned", today: date
) -> tuple[Station, Event]:
    if township.level != "township":
        raise DomainError(
            "region_code",
            f"{township.code} is a {township.level}, a station belongs to a township or street",
        )
    if status not in ("planned", "operating"):
        raise DomainError("status", "a new station is planned or operating")
    _check_details(details)
    station = Station(
        station_id=station_id_for(township.code),
        region_code=township.code,
        name=(details.name or f"{township.name}社工站").strip(),
        kind=township.kind,
        status=status,
        operator_org_id=details.operator_org_id,
        contract_start=details.contract_start,
        contract_end=details.contract_end,
        functions=sorted(details.functions or []),
        hotline=details.hotline,
        region_history=[RegionSpan(region_code=township.code, since=None)],
        status_history=[{"status": status, "since": today.isoformat(), "reason": "registered"}],
    )
    event = ev.StationRegistered(
        **station.model_dump(
            include={
                "station_id",
                "region_code",
                "name",
                "kind",
                "status",
                "operator_org_id",
                "contract_start",
                "contract_end",
                "functions",
                "hotline",
            }
        )
    )
    return station, event


def change_details(station: Station, details: StationDetails) -> tuple[Station, list[Event]]:
    """Only what really changes is recorded; the same details again change nothing."""
    _check_details(details, station)
    if station.status == "closed":
        raise Conflict("status", "a closed station cannot be changed")
    updates = details.model_dump(exclude_none=True)
    if "functions" in updates:
        updates["functions"] = sorted(updates["functions"])
    if "name" in updates:
        updates["name"] = updates["name"].strip()
    changed = sorted(k for k, v in updates.items() if getattr(station, k) != v)
    if not changed:
        return station, []
    new = station.model_copy(update={k: updates[k] for k in changed})
    event = ev.StationDetailsChanged(
        station_id=station.station_id,
        region_code=station.region_code,
        changed=changed,
        **{k: updates[k] for k in changed},
    )
    return new, [event]


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
    history = [
        *station.status_history,
        {"status": to, "since": effective_date.isoformat(), "reason": reason},
    ]
    new = station.model_copy(update={"status": to, "status_history": history})
    return new, ev.StationStatusChanged(
        station_id=station.station_id,
        region_code=station.region_code,
        from_status=station.status,
        to_status=to,
        effective_date=effective_date,
        reason=reason,
    )


def rate_station(
    station: Station, *, stars: int, rated_by: str, rated_on: date, reason: str, today: date
) -> tuple[Station, Event]:
    if not 1 <= stars <= 5:
        raise DomainError("stars", "a star rating is 1 to 5")
    if rated_on > today:
        raise DomainError("rated_on", "must not be in the future")
    if not rated_by.strip():
        raise DomainError("rated_by", "say who rated")
    if not reason.strip():
        raise DomainError("reason", "say why")
    if station.status in ("planned", "closed"):
        raise Conflict("status", f"a {station.status} station cannot be rated")
    rating = {
        "stars": stars,
        "rated_by": rated_by,
        "rated_on": rated_on.isoformat(),
        "reason": reason,
    }
    new = station.model_copy(
        update={"rating": rating, "rating_history": [*station.rating_history, rating]}
    )
    return new, ev.StationRated(
        station_id=station.station_id,
        region_code=station.region_code,
        stars=stars,
        rated_by=rated_by,
        rated_on=rated_on,
        reason=reason,
    )


def add_room(station: Station, *, room_region_code: str, name: str) -> tuple[Station, Event]:
    code = _safe_code(room_region_code, "room_region_code")
    if len(code) != 12:
        raise DomainError("room_region_code", "a village/community code has 12 digits")
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
    new = station.model_copy(update={"rooms": [*station.rooms, room]})
    return new, ev.RoomAdded(station_id=station.station_id, region_code=station.region_code, **room)


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
    return new, ev.StationRegionChanged(
        station_id=station.station_id,
        region_code=target,
        previous_region_code=station.region_code,
        effective_date=change.effective_date,
        boundary_change_id=change.change_id,
    )


def region_as_of(station: Station, day: date) -> str:
    """The code the station's township had on `day` (its region history)."""
    code = station.region_history[0].region_code if station.region_history else station.region_code
    for span in station.region_history[1:]:
        if span.since is not None and span.since <= day:
            code = span.region_code
    return code


# --------------------------------------------------------------------------- programmes


def check_targets(total: ev.Targets, per_station: ev.Targets, *, field: str = "targets") -> None:
    for name, value in total.person_times.items():
        if value < 0:
            raise DomainError(f"{field}.person_times.{name}", "must not be negative")
    _ = per_station


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
