"""Pure rules of the registry: commands in, events and new state out. No I/O here."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wushe.contracts import Event
from wushe.contracts.events import registry as ev
from wushe.errors import Conflict, DomainError
from wushe.validators import check_mobile, check_region_code, check_resident_id, check_uscc

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
    station: Station,
    *,
    stars: int,
    rated_by: str,
    rated_on: date,
    reason: str,
    today: date,
    evaluation_id: str | None = None,
) -> tuple[Station, Event]:
    """Rate a station. A rating that follows an evaluation names it (`evaluation_id`)."""
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
    if evaluation_id is not None:
        rating["evaluation_id"] = evaluation_id
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
        previous_stars=station.rating["stars"] if station.rating else None,
    )


def rating_follows(station: Station, evaluation_id: str) -> bool:
    """True when an evaluation's rating is already on the station (a redelivered event)."""
    return any(r.get("evaluation_id") == evaluation_id for r in station.rating_history)


def add_room(
    station: Station, *, room_region_code: str, name: str | None, village_name: str | None
) -> tuple[Station, Event]:
    """A room on a village/community (`village_name` from the reference data; None when the
    code is unknown there). The room's name defaults to the village's."""
    code = _safe_code(room_region_code, "room_region_code")
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


# --------------------------------------------------------------------------- organisations

CREDIT_CODE_REQUIRED = {"social_work_org", "foundation", "company"}


class Organisation(BaseModel):
    org_id: str
    name: str
    kind: ev.OrganisationKind
    credit_code: str | None = None
    region_code: str


def organisation_id_for(credit_code: str | None, name: str, region_code: str) -> str:
    # One organisation per credit code; without one, per (region, name).
    if credit_code:
        return f"org-{credit_code}"
    digest = hashlib.sha256(f"{region_code}:{name.strip()}".encode()).hexdigest()[:16]
    return f"org-n{digest}"


def register_organisation(
    *, name: str, kind: ev.OrganisationKind, credit_code: str | None, region: Region
) -> tuple[Organisation, Event]:
    if not name.strip():
        raise DomainError("name", "must not be empty")
    if credit_code:
        try:
            credit_code = check_uscc(credit_code)
        except ValueError as exc:
            raise DomainError("credit_code", str(exc)) from None
    elif kind in CREDIT_CODE_REQUIRED:
        raise DomainError("credit_code", f"a {kind} has a unified social credit code")
    org = Organisation(
        org_id=organisation_id_for(credit_code, name, region.code),
        name=name.strip(),
        kind=kind,
        credit_code=credit_code,
        region_code=region.code,
    )
    return org, ev.OrganisationRegistered(**org.model_dump())


def update_organisation(
    org: Organisation, *, name: str | None, kind: ev.OrganisationKind | None
) -> tuple[Organisation, list[Event]]:
    updates: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise DomainError("name", "must not be empty")
        updates["name"] = name.strip()
    if kind is not None:
        if kind in CREDIT_CODE_REQUIRED and not org.credit_code:
            raise DomainError("kind", f"a {kind} has a unified social credit code")
        updates["kind"] = kind
    changed = sorted(k for k, v in updates.items() if getattr(org, k) != v)
    if not changed:
        return org, []
    new = org.model_copy(update={k: updates[k] for k in changed})
    return new, [
        ev.OrganisationUpdated(
            org_id=org.org_id,
            region_code=org.region_code,
            changed=changed,
            **{k: updates[k] for k in changed},
        )
    ]


# --------------------------------------------------------------------------- social workers


class SocialWorker(BaseModel):
    """Personal fields are held only as ciphertext, blind index and mask (see wushe.pii)."""

    worker_id: str
    region_code: str
    certification: ev.Certification
    general_practice: bool
    name_enc: str
    name_masked: str
    phone_enc: str | None = None
    phone_masked: str | None = None
    id_number_enc: str
    id_number_masked: str
    birth_year: int
    station_id: str | None = None
    assignments: list[dict[str, Any]] = []


def check_worker_identity(
    *, name: str, id_number: str, phone: str | None
) -> tuple[str, str, str | None]:
    if not name.strip() or len(name.strip()) > 40:
        raise DomainError("name", "1 to 40 characters")
    try:
        id_number = check_resident_id(id_number)
    except ValueError as exc:
        raise DomainError("id_number", str(exc)) from None
    if phone is not None:
        try:
            phone = check_mobile(phone)
        except ValueError as exc:
            raise DomainError("phone", str(exc)) from None
    return name.strip(), id_number, phone


def certify(
    worker: SocialWorker, certification: ev.Certification, general_practice: bool
) -> tuple[SocialWorker, list[Event]]:
    if (worker.certification, worker.general_practice) == (certification, general_practice):
        return worker, []
    new = worker.model_copy(
        update={"certification": certification, "general_practice": general_practice}
    )
    return new, [
        ev.SocialWorkerCertified(
            worker_id=worker.worker_id,
            region_code=worker.region_code,
            certification=certification,
            general_practice=general_practice,
            previous_certification=worker.certification,
            previous_general_practice=worker.general_practice,
        )
    ]


def assign(
    worker: SocialWorker, station: Station, from_date: date
) -> tuple[SocialWorker, list[Event]]:
    if station.status == "closed":
        raise Conflict("station_id", f"{station.station_id} is closed")
    if worker.station_id == station.station_id:
        return worker, []
    if worker.assignments and date.fromisoformat(worker.assignments[-1]["from"]) > from_date:
        raise DomainError("from_date", "must not be before the current assignment began")
    history = [
        *worker.assignments,
        {"station_id": station.station_id, "from": from_date.isoformat()},
    ]
    new = worker.model_copy(update={"station_id": station.station_id, "assignments": history})
    return new, [
        ev.SocialWorkerAssigned(
            worker_id=worker.worker_id,
            region_code=station.region_code,
            station_id=station.station_id,
            from_date=from_date,
            previous_station_id=worker.station_id,
        )
    ]


# --------------------------------------------------------------------------- programmes


class Programme(BaseModel):
    programme_id: str
    name: str
    funder_org_id: str | None = None
    region_code: str
    scope_regions: list[str]
    start_date: date
    end_date: date
    total_targets: ev.Targets
    station_targets: ev.Targets
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
    return programme, ev.ProgrammeCreated(**programme.model_dump(exclude={"enrolments"}))


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
            ev.StationEnrolled(
                programme_id=programme.programme_id,
                station_id=station.station_id,
                region_code=station.region_code,
                enrolled_on=on,
                targets=t,
            )
        )
    return programme.model_copy(update={"enrolments": enrolments}), events


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
    changed = sorted(k for k, v in updates.items() if getattr(programme, k) != v)
    if not changed:
        return programme, []
    new = programme.model_copy(update={k: updates[k] for k in changed})
    return new, [
        ev.ProgrammeUpdated(
            programme_id=programme.programme_id,
            region_code=programme.region_code,
            changed=changed,
            **{k: updates[k] for k in changed},
        )
    ]


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
        ev.StationWithdrawn(
            programme_id=programme.programme_id,
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
