"""Thin REST routers: parse, authorise (region scope from the token), call the domain, save."""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from volunteers import domain
from volunteers.domain import (
    KnownStation,
    Ledger,
    PointsRules,
    Shift,
    Team,
    Volunteer,
)
from volunteers.store import VolunteersStore, rules_id
from wushe import imports
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.errors import DomainError
from wushe.idempotency import effect_id, fingerprint, require_key
from wushe.pii import Vault
from wushe.store import ConcurrencyError
from wushe.validators import (
    age_on,
    mask_mobile,
    mask_name,
    mask_resident_id,
    resident_id_birth_date,
)
from wushe.web import Limit, Offset, Strict, domain_error, duplicate, today

router = APIRouter()
PII_EXPORT_ROLE = "pii_export"


class Volunteers:
    def __init__(self, store: VolunteersStore, vault: Vault, *, daily_maximum: int) -> None:
        self.store = store
        self.vault = vault
        self.daily_maximum = daily_maximum


async def get_service(request: Request) -> Volunteers:
    svc: Volunteers = request.app.state.volunteers
    return svc


Svc = Annotated[Volunteers, Depends(get_service)]


def rule(exc: DomainError) -> HTTPException:
    return domain_error(exc)


async def visible_station(
    svc: Volunteers, who: Principal, station_id: str, field: str
) -> KnownStation:
    station = await svc.store.station(station_id)
    if station is not None and not who.can_see(station.region_code):
        # Another province's station is refused as an unknown one: a 404 here would tell
        # the caller that a station of that id exists.
        station = None
    try:
        return domain.check_station(station, station_id, field)
    except DomainError as exc:
        raise rule(exc) from None


async def visible_volunteer(
    svc: Volunteers, who: Principal, volunteer_id: str
) -> tuple[Volunteer, int]:
    v, version = await svc.store.volunteer(volunteer_id)
    if v is None or not who.can_see(v.region_code):
        raise HTTPException(404, f"volunteer {volunteer_id} not found")
    return v, version


# --------------------------------------------------------------------------- volunteers


class VolunteerIn(Strict):
    name: str = Field(min_length=1, max_length=40)
    id_number: str = Field(min_length=18, max_length=18, description="居民身份证号码")
    phone: str | None = Field(None, max_length=20)
    station_id: str = Field(max_length=40)
    skills: list[domain.Skill] = Field(default_factory=list, max_length=11)
    guardian_consent: bool = Field(False, description="required under 18 (监护人同意)")
    registered_on: date | None = None


class BackboneOut(BaseModel):
    programme_id: str | None
    since: date
    reason_code: str


class VolunteerOut(BaseModel):
    volunteer_id: str
    station_id: str
    region_code: str
    status: str
    registered_on: date
    name: str = Field(description="masked")
    id_number: str = Field(description="masked")
    phone: str | None = Field(description="masked")
    age: int
    age_band: ev.AgeBand
    elder_volunteer: bool = Field(description="60 or older today")
    skills: list[str]
    backbone: list[BackboneOut]
    history: list[dict[str, Any]]
    version: int


class VolunteerPage(BaseModel):
    items: list[VolunteerOut]
    total: int
    limit: int
    offset: int


def volunteer_out(svc: Volunteers, v: Volunteer, version: int) -> VolunteerOut:
    id_number = svc.vault.decrypt(v.id_number_enc, context=f"volunteer:{v.volunteer_id}:id_number")
    age = age_on(resident_id_birth_date(id_number), today())
    return VolunteerOut(
        volunteer_id=v.volunteer_id,
        station_id=v.station_id,
        region_code=v.region_code,
        status=v.status,
        registered_on=v.registered_on,
        name=v.name_masked,
        id_number=v.id_number_masked,
        phone=v.phone_masked,
        age=age,
        age_band=domain.age_band(age),
        elder_volunteer=age >= domain.ELDER_AGE,
        skills=v.skills,
        backbone=[BackboneOut(**b.model_dump()) for b in v.backbone.values()],
        history=v.history,
        version=version,
    )


async def register(
    svc: Volunteers, who: Principal, body: VolunteerIn
) -> tuple[Volunteer, int, bool]:
    """Register, or (same person, same station) report the existing record: the volunteer,
    its version, and whether it was created now."""
    station = await visible_station(svc, who, body.station_id, "station_id")
    on = body.registered_on or today()
    if on > today():
        raise rule(DomainError("registered_on", "must not be in the future"))
    try:
        person = domain.check_identity(
            name=body.name,
            id_number=body.id_number,
            phone=body.phone,
            guardian_consent=body.guardian_consent,
            on=on,
        )
    except DomainError as exc:
        raise rule(exc) from None
    # The id is a keyed hash of the ID number: pseudonymous, and one record per person.
    vid = "vol-" + svc.vault.blind_index("resident_id", person.id_number)[:20]
    ctx = f"volunteer:{vid}"
    v = Volunteer(
        volunteer_id=vid,
        station_id=station.station_id,
        region_code=station.region_code,
        registered_on=on,
        age_band=domain.age_band(person.age),
        elder_volunteer=person.age >= domain.ELDER_AGE,
        guardian_consent=body.guardian_consent,
        skills=sorted(set(body.skills)),
        name_enc=svc.vault.encrypt(person.name, context=f"{ctx}:name"),
        name_masked=mask_name(person.name),
        id_number_enc=svc.vault.encrypt(person.id_number, context=f"{ctx}:id_number"),
        id_number_masked=mask_resident_id(person.id_number),
        phone_enc=svc.vault.encrypt(person.phone, context=f"{ctx}:phone") if person.phone else None,
        phone_masked=mask_mobile(person.phone) if person.phone else None,
    )
    # Insert first: the first version's commit id is the uniqueness check. Looking the
    # person up first would miss for every new volunteer, and a miss scans on FerretDB.
    try:
        version = await svc.store.volunteers.save_model(vid, 0, v, [domain.register_event(v)])
        return v, version, True
    except ConcurrencyError:
        pass
    existing, version = await svc.store.volunteer(vid)
    if (
        existing is not None
        and existing.station_id == station.station_id
        and who.can_see(existing.region_code)
    ):
        return existing, version, False
    raise duplicate(
        "id_number", "this person is already registered as a volunteer (move them instead)"
    )


@router.post("/volunteers", response_model=VolunteerOut, status_code=201, tags=["volunteers"])
async def register_volunteer(body: VolunteerIn, svc: Svc, who: CurrentPrincipal) -> VolunteerOut:
    return volunteer_out(svc, *(await register(svc, who, body))[:2])


@router.post(
    "/imports/volunteers",
    response_model=imports.ImportReport,
    tags=["volunteers"],
    openapi_extra=imports.UPLOAD_BODY,
)
async def import_volunteers(
    request: Request, svc: Svc, who: CurrentPrincipal
) -> imports.ImportReport:
    """Bulk registration (CSV, NDJSON or XLSX; columns as the JSON body, skills split on
    ';'). A person already registered at the same station is `unchanged`; a bad row is
    reported by row and field and the others are registered."""
    data, content_type = await imports.read_body(
        request, request.app.state.ctx.settings.import_max_bytes
    )

    def normalise(rec: dict[str, Any]) -> dict[str, Any]:
        out = imports.clean(rec)
        if isinstance(out.get("skills"), str):
            out["skills"] = [s.strip() for s in out["skills"].split(";") if s.strip()]
        for key in ("id_number", "phone"):
            if key in out:
                out[key] = str(out[key])
        return out

    try:
        rows = imports.parse(
            data, content_type, model=VolunteerIn, max_rows=50_000, normalise=normalise
        )
    except imports.ImportFormatError as exc:
        raise HTTPException(exc.status, str(exc)) from None

    async def one(row: imports.Row) -> str:
        _, _, created = await register(svc, who, row.value)
        return "created" if created else "unchanged"

    return await imports.apply(rows, one)


@router.get("/volunteers", response_model=VolunteerPage, tags=["volunteers"])
async def list_volunteers(
    svc: Svc,
    who: CurrentPrincipal,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
    status: Literal["active", "deregistered"] | None = None,
    backbone_for: Annotated[
        str | None,
        # It becomes part of a field path: letters, digits, '-' and '_' only.
        Query(
            max_length=40, pattern=r"^[A-Za-z0-9_-]+$", description="a programme id, or 'general'"
        ),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> VolunteerPage:
    filters: dict[str, Any] = {}
    if station_id:
        filters["station_id"] = station_id
    if status:
        filters["status"] = status
    if backbone_for:
        filters[f"backbone.{backbone_for}"] = {"$exists": True}
    rows, total = await svc.store.list_volunteers(
        within=who.region_scope, filters=filters, limit=limit, offset=offset
    )
    return VolunteerPage(
        items=[volunteer_out(svc, v, n) for v, n in rows], total=total, limit=limit, offset=offset
    )


@router.get("/volunteers/{volunteer_id}", response_model=VolunteerOut, tags=["volunteers"])
async def get_volunteer(volunteer_id: str, svc: Svc, who: CurrentPrincipal) -> VolunteerOut:
    return volunteer_out(svc, *await visible_volunteer(svc, who, volunteer_id))


async def _change_volunteer(
    svc: Volunteers,
    who: Principal,
    volunteer_id: str,
    decide: Any,
    loaded: tuple[Volunteer, int] | None = None,  # already read by the route
) -> VolunteerOut:
    v, version = loaded or await visible_volunteer(svc, who, volunteer_id)
    try:
        new, events = decide(v)
    except DomainError as exc:
        raise rule(exc) from None
    events = events if isinstance(events, list) else [events]
    return volunteer_out(
        svc, new, await svc.store.volunteers.save_model(volunteer_id, version, new, events)
    )


class PromoteIn(Strict):
    programme_id: str | None = Field(None, max_length=40, description="null: in general")
    promoted_on: date
    reason_code: ev.BackboneReason
    note: str = Field("", max_length=500)


class DemoteIn(Strict):
    programme_id: str | None = Field(None, max_length=40)
    demoted_on: date
    reason_code: ev.DemotionReason
    note: str = Field("", max_length=500)


@router.post("/volunteers/{volunteer_id}/backbone", response_model=VolunteerOut, tags=["backbones"])
async def promote_backbone(
    volunteer_id: str, body: PromoteIn, svc: Svc, who: CurrentPrincipal
) -> VolunteerOut:
    """Promote to backbone volunteer (骨干), per programme that counts backbones."""
    programme = await svc.store.programme(body.programme_id) if body.programme_id else None
    if programme is not None and not who.shares_scope(programme.scope_regions):
        programme = None  # another province's programme is refused as an unknown one
    return await _change_volunteer(
        svc,
        who,
        volunteer_id,
        lambda v: domain.promote(
            v,
            programme,
            programme_id=body.programme_id,
            on=body.promoted_on,
            reason_code=body.reason_code,
            note=body.note,
            today=today(),
        ),
    )


@router.post(
    "/volunteers/{volunteer_id}/backbone/demote", response_model=VolunteerOut, tags=["backbones"]
)
async def demote_backbone(
    volunteer_id: str, body: DemoteIn, svc: Svc, who: CurrentPrincipal
) -> VolunteerOut:
    return await _change_volunteer(
        svc,
        who,
        volunteer_id,
        lambda v: domain.demote(
            v,
            programme_id=body.programme_id,
            on=body.demoted_on,
            reason_code=body.reason_code,
            note=body.note,
            today=today(),
        ),
    )


class MoveIn(Strict):
    station_id: str = Field(max_length=40)
    moved_on: date


@router.post("/volunteers/{volunteer_id}/move", response_model=VolunteerOut, tags=["volunteers"])
async def move_volunteer(
    volunteer_id: str, body: MoveIn, svc: Svc, who: CurrentPrincipal
) -> VolunteerOut:
    # The volunteer first: a missing or another province's volunteer is a 404 whatever
    # station the body names (the station's check would otherwise answer first).
    loaded = await visible_volunteer(svc, who, volunteer_id)
    station = await visible_station(svc, who, body.station_id, "station_id")
    return await _change_volunteer(
        svc,
        who,
        volunteer_id,
        lambda v: domain.move(v, station, on=body.moved_on, today=today()),
        loaded,
    )


class DeregisterIn(Strict):
    deregistered_on: date
    reason_code: Literal["own_request", "moved_away", "deceased", "duplicate", "other"]


@router.post(
    "/volunteers/{volunteer_id}/deregister", response_model=VolunteerOut, tags=["volunteers"]
)
async def deregister_volunteer(
    volunteer_id: str, body: DeregisterIn, svc: Svc, who: CurrentPrincipal
) -> VolunteerOut:
    return await _change_volunteer(
        svc,
        who,
        volunteer_id,
        lambda v: domain.deregister(
            v, on=body.deregistered_on, reason_code=body.reason_code, today=today()
        ),
    )


# --------------------------------------------------------------------------- teams


class TeamIn(Strict):
    station_id: str = Field(max_length=40)
    name: str = Field(min_length=1, max_length=60, description="e.g. 蓝马甲志愿服务队")
    service_area: str | None = Field(None, max_length=40)
    formed_on: date


class TeamOut(BaseModel):
    team_id: str
    station_id: str
    region_code: str
    name: str
    service_area: str | None
    formed_on: date
    members: dict[str, date]
    leader: str | None
    version: int


class MemberIn(Strict):
    volunteer_id: str = Field(max_length=40)
    joined_on: date


class LeaveIn(Strict):
    left_on: date


class LeaderIn(Strict):
    volunteer_id: str = Field(max_length=40)
    appointed_on: date


def team_out(t: Team, version: int) -> TeamOut:
    return TeamOut(version=version, **t.model_dump())


@router.post("/teams", response_model=TeamOut, status_code=201, tags=["teams"])
async def form_team(body: TeamIn, svc: Svc, who: CurrentPrincipal) -> TeamOut:
    station = await visible_station(svc, who, body.station_id, "station_id")
    if body.formed_on > today():
        raise rule(DomainError("formed_on", "must not be in the future"))
    team = Team(
        team_id=f"team-{uuid.uuid4().hex[:16]}",
        station_id=station.station_id,
        region_code=station.region_code,
        name=body.name.strip(),
        service_area=body.service_area,
        formed_on=body.formed_on,
    )
    event = ev.TeamFormed(
        team_id=team.team_id,
        station_id=team.station_id,
        region_code=team.region_code,
        formed_on=team.formed_on,
        service_area=team.service_area,
    )
    return team_out(team, await svc.store.teams.save_model(team.team_id, 0, team, [event]))


async def visible_team(svc: Volunteers, who: Principal, team_id: str) -> tuple[Team, int]:
    team, version = await svc.store.teams.load_model(team_id, Team)
    if team is None or not who.can_see(team.region_code):
        raise HTTPException(404, f"team {team_id} not found")
    return team, version


async def _change_team(svc: Volunteers, who: Principal, team_id: str, decide: Any) -> TeamOut:
    team, version = await visible_team(svc, who, team_id)
    try:
        new, event = decide(team)
    except DomainError as exc:
        raise rule(exc) from None
    return team_out(new, await svc.store.teams.save_model(team_id, version, new, [event]))


class TeamPage(BaseModel):
    items: list[TeamOut]
    total: int
    limit: int
    offset: int


@router.get("/teams", response_model=TeamPage, tags=["teams"])
async def list_teams(
    svc: Svc,
    who: CurrentPrincipal,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> TeamPage:
    query: dict[str, Any] = {"region_code": {"$regex": f"^{who.region_scope}"}}
    if station_id:
        query["station_id"] = station_id
    current = svc.store.teams.current
    total = await current.count_documents(query)
    cursor = current.find(query).sort("_id", 1).skip(offset).limit(limit)
    items = [team_out(Team.model_validate(d), int(d["_v"])) async for d in cursor]
    return TeamPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/teams/{team_id}", response_model=TeamOut, tags=["teams"])
async def get_team(team_id: str, svc: Svc, who: CurrentPrincipal) -> TeamOut:
    return team_out(*await visible_team(svc, who, team_id))


@router.post("/teams/{team_id}/members", response_model=TeamOut, tags=["teams"])
async def join_team(team_id: str, body: MemberIn, svc: Svc, who: CurrentPrincipal) -> TeamOut:
    v, _ = await visible_volunteer(svc, who, body.volunteer_id)
    return await _change_team(
        svc, who, team_id, lambda t: domain.join_team(t, v, on=body.joined_on, today=today())
    )


@router.post(
    "/teams/{team_id}/members/{volunteer_id}/leave", response_model=TeamOut, tags=["teams"]
)
async def leave_team(
    team_id: str, volunteer_id: str, body: LeaveIn, svc: Svc, who: CurrentPrincipal
) -> TeamOut:
    return await _change_team(
        svc,
        who,
        team_id,
        lambda t: domain.leave_team(t, volunteer_id, on=body.left_on, today=today()),
    )


@router.post("/teams/{team_id}/leader", response_model=TeamOut, tags=["teams"])
async def appoint_leader(team_id: str, body: LeaderIn, svc: Svc, who: CurrentPrincipal) -> TeamOut:
    return await _change_team(
        svc,
        who,
        team_id,
        lambda t: domain.appoint_leader(t, body.volunteer_id, on=body.appointed_on, today=today()),
    )


# --------------------------------------------------------------------------- shifts


class ShiftIn(Strict):
    station_id: str = Field(max_length=40)
    shift_date: date
    starts_at: time
    ends_at: time
    duty: str = Field(min_length=1, max_length=60, description="e.g. 助餐点值班, 热线值守")


class ShiftOut(BaseModel):
    shift_id: str
    station_id: str
    region_code: str
    shift_date: date
    starts_at: time
    ends_at: time
    duty: str


@router.post("/shifts", response_model=ShiftOut, status_code=201, tags=["attendance"])
async def schedule_shift(body: ShiftIn, svc: Svc, who: CurrentPrincipal) -> ShiftOut:
    station = await visible_station(svc, who, body.station_id, "station_id")
    shift = Shift(
        shift_id=f"shift-{uuid.uuid4().hex[:16]}",
        station_id=station.station_id,
        region_code=station.region_code,
        **body.model_dump(exclude={"station_id"}),
    )
    try:
        event = domain.schedule_shift(shift)
    except DomainError as exc:
        raise rule(exc) from None
    await svc.store.shifts.save_model(shift.shift_id, 0, shift, [event])
    return ShiftOut(**shift.model_dump())


@router.get("/shifts/{shift_id}", response_model=ShiftOut, tags=["attendance"])
async def get_shift(shift_id: str, svc: Svc, who: CurrentPrincipal) -> ShiftOut:
    shift, _ = await svc.store.shifts.load_model(shift_id, Shift)
    if shift is None or not who.can_see(shift.region_code):
        raise HTTPException(404, f"shift {shift_id} not found")
    return ShiftOut(**shift.model_dump())


# --------------------------------------------------------------------------- attendance


class CheckInIn(Strict):
    source: ev.AttendanceSource
    source_id: str = Field(max_length=40, description="the activity or shift id")
    at: datetime = Field(description="with a UTC offset, e.g. 2026-11-02T09:00:00+08:00")


class CheckOutIn(Strict):
    at: datetime


class RejectIn(Strict):
    reason_code: ev.RejectionReason
    note: str = Field("", max_length=500)


class CorrectIn(Strict):
    minutes: int = Field(ge=0, le=24 * 60)
    reason_code: ev.CorrectionReason
    note: str = Field(min_length=1, max_length=1000, description="更正说明")


class AttendanceOut(BaseModel):
    attendance_id: str
    service: ev.ServiceRef
    service_date: date
    status: str
    check_in: datetime | None
    check_out: datetime | None
    minutes: int
    recorded_via: str
    approved_by: str | None
    approved_on: date | None
    rejection: str | None
    rules_version: int | None
    points: int
    corrections: list[domain.Correction]


class LedgerOut(BaseModel):
    volunteer_id: str
    attendances: list[AttendanceOut]
    approved_minutes: int
    balance: int
    awarded: int
    redeemed: int


def ledger_out(ledger: Ledger) -> LedgerOut:
    rows = sorted(ledger.attendances.values(), key=lambda a: (a.service_date, a.attendance_id))
    return LedgerOut(
        volunteer_id=ledger.volunteer_id,
        attendances=[AttendanceOut(**a.model_dump(exclude={"activity_corrections"})) for a in rows],
        approved_minutes=sum(a.minutes for a in rows if a.status == "approved"),
        balance=ledger.balance,
        awarded=ledger.awarded,
        redeemed=ledger.redeemed,
    )


def _aware(at: datetime, field: str) -> datetime:
    if at.tzinfo is None:
        raise rule(DomainError(field, "needs a UTC offset (e.g. +08:00)"))
    return at


async def _window(
    svc: Volunteers, who: Principal, source: str, source_id: str
) -> domain.ServiceWindow:
    window = await svc.store.window(source, source_id)
    if window is None or not who.can_see(window.region_code):
        raise rule(DomainError("source_id", f"unknown {source} {source_id}"))
    return window


async def _ledger_change(svc: Volunteers, volunteer_id: str, decide: Any) -> Ledger:
    try:
        return await svc.store.change_ledger(volunteer_id, decide)
    except DomainError as exc:
        raise rule(exc) from None


@router.get("/volunteers/{volunteer_id}/attendances", response_model=LedgerOut, tags=["attendance"])
async def get_ledger(volunteer_id: str, svc: Svc, who: CurrentPrincipal) -> LedgerOut:
    await visible_volunteer(svc, who, volunteer_id)
    ledger, _ = await svc.store.ledger(volunteer_id)
    return ledger_out(ledger)


@router.post(
    "/volunteers/{volunteer_id}/attendances",
    response_model=LedgerOut,
    status_code=201,
    tags=["attendance"],
)
async def check_in(
    volunteer_id: str, body: CheckInIn, svc: Svc, who: CurrentPrincipal
) -> LedgerOut:
    """Check in (签到) at an activity or shift, recorded by its organising station."""
    v, _ = await visible_volunteer(svc, who, volunteer_id)
    window = await _window(svc, who, body.source, body.source_id)
    at = _aware(body.at, "at")
    now = datetime.now(UTC)
    return ledger_out(
        await _ledger_change(
            svc, volunteer_id, lambda ledger: domain.check_in(ledger, v, window, at=at, now=now)
        )
    )


async def _attendance_window(
    svc: Volunteers, who: Principal, volunteer_id: str, attendance_id: str
) -> tuple[Volunteer, domain.ServiceWindow]:
    """The organiser acts: the attendance's organising station must be in the caller's scope.
    Returns the volunteer (loaded once here) and the activity's or shift's window."""
    v, _ = await visible_volunteer(svc, who, volunteer_id)
    ledger, _ = await svc.store.ledger(volunteer_id)
    a = ledger.attendances.get(attendance_id)
    if a is None or not who.can_see(a.service.region_code):
        raise HTTPException(404, f"attendance {attendance_id} not found")
    return v, await _window(svc, who, a.service.source, a.service.source_id)


@router.post(
    "/volunteers/{volunteer_id}/attendances/{attendance_id}/check-out",
    response_model=LedgerOut,
    tags=["attendance"],
)
async def check_out(
    volunteer_id: str, attendance_id: str, body: CheckOutIn, svc: Svc, who: CurrentPrincipal
) -> LedgerOut:
    _, window = await _attendance_window(svc, who, volunteer_id, attendance_id)
    at = _aware(body.at, "at")
    now = datetime.now(UTC)
    return ledger_out(
        await _ledger_change(
            svc,
            volunteer_id,
            lambda ledger: domain.check_out(
                ledger, window, attendance_id, at=at, now=now, daily_maximum=svc.daily_maximum
            ),
        )
    )


@router.post(
    "/volunteers/{volunteer_id}/attendances/{attendance_id}/approve",
    response_model=LedgerOut,
    tags=["attendance"],
)
async def approve(
    volunteer_id: str, attendance_id: str, svc: Svc, who: CurrentPrincipal
) -> LedgerOut:
    """The organising station certifies the recorded minutes; points follow the rules in
    force on the service day."""
    v, _ = await _attendance_window(svc, who, volunteer_id, attendance_id)
    rules = await svc.store.rules_for(v.region_code)
    return ledger_out(
        await _ledger_change(
            svc,
            volunteer_id,
            lambda ledger: domain.approve(
                ledger, v, attendance_id, approved_by=who.subject, on=today(), rules=rules
            ),
        )
    )


@router.post(
    "/volunteers/{volunteer_id}/attendances/{attendance_id}/reject",
    response_model=LedgerOut,
    tags=["attendance"],
)
async def reject(
    volunteer_id: str, attendance_id: str, body: RejectIn, svc: Svc, who: CurrentPrincipal
) -> LedgerOut:
    await _attendance_window(svc, who, volunteer_id, attendance_id)
    return ledger_out(
        await _ledger_change(
            svc,
            volunteer_id,
            lambda ledger: domain.reject(
                ledger, attendance_id, reason_code=body.reason_code, note=body.note
            ),
        )
    )


@router.post(
    "/volunteers/{volunteer_id}/attendances/{attendance_id}/corrections",
    response_model=LedgerOut,
    tags=["attendance"],
)
async def correct(
    volunteer_id: str, attendance_id: str, body: CorrectIn, svc: Svc, who: CurrentPrincipal
) -> LedgerOut:
    v, _ = await _attendance_window(svc, who, volunteer_id, attendance_id)
    rules = await svc.store.rules_for(v.region_code)
    return ledger_out(
        await _ledger_change(
            svc,
            volunteer_id,
            lambda ledger: domain.correct(
                ledger,
                v,
                attendance_id,
                minutes=body.minutes,
                reason_code=body.reason_code,
                note=body.note,
                on=today(),
                rules=rules,
                daily_maximum=svc.daily_maximum,
            ),
        )
    )


class UnmatchedOut(BaseModel):
    activity_id: str
    volunteer_id: str
    station_id: str
    service_date: date
    minutes: int


@router.get("/attendances/unmatched", response_model=list[UnmatchedOut], tags=["attendance"])
async def unmatched(
    svc: Svc,
    who: CurrentPrincipal,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 100,
) -> list[UnmatchedOut]:
    """Volunteers named by held activities whom this service does not know (a typo, or a
    volunteer never registered): kept here until the station registers or corrects them."""
    query: dict[str, Any] = {"region_code": {"$regex": f"^{who.region_scope}"}}
    if station_id:
        query["station_id"] = station_id
    cursor = svc.store.unmatched.find(query).sort("_id", 1).limit(limit)
    return [UnmatchedOut.model_validate(d) async for d in cursor]


# --------------------------------------------------------------------------- points


class RulesIn(Strict):
    region_code: str = Field(pattern=r"^\d{2}$", description="the province (two digits)")
    effective_from: date
    points_per_hour: int = Field(ge=0, le=1000)
    bonuses: list[ev.Bonus] = Field(default_factory=list, max_length=3)


class RulesOut(BaseModel):
    rules_id: str
    region_code: str
    versions: list[domain.RulesVersion]


@router.post("/points-rules", response_model=RulesOut, tags=["points"])
async def publish_rules(body: RulesIn, svc: Svc, who: CurrentPrincipal) -> RulesOut:
    """Publish a new version of a province's points rules (积分规则)."""
    if not who.can_see(body.region_code) or len(who.region_scope) > 2:
        raise HTTPException(404, f"province {body.region_code} not found")
    rid = rules_id(body.region_code)
    rules, version = await svc.store.rules.load_model(rid, PointsRules)
    rules = rules or PointsRules(rules_id=rid, region_code=body.region_code)
    try:
        new, event = domain.publish_rules(
            rules,
            effective_from=body.effective_from,
            points_per_hour=body.points_per_hour,
            bonuses=body.bonuses,
            today=today(),
        )
    except DomainError as exc:
        raise rule(exc) from None
    await svc.store.rules.save_model(rid, version, new, [event])
    return RulesOut(**new.model_dump())


@router.get("/points-rules/{province}", response_model=RulesOut, tags=["points"])
async def get_rules(
    province: Annotated[str, Path(pattern=r"^\d{2}$")], svc: Svc, who: CurrentPrincipal
) -> RulesOut:
    """The rules of the caller's province (a county token reads its province's rules)."""
    rules = await svc.store.rules_for(province) if who.region_scope[:2] == province else None
    if rules is None:
        raise HTTPException(404, f"no points rules for {province}")
    return RulesOut(**rules.model_dump())


class RedeemIn(Strict):
    points: int = Field(gt=0, le=1_000_000, strict=True)
    item: str = Field(min_length=1, max_length=100, description="what the points bought")


class RedemptionOut(BaseModel):
    redemption_id: str
    volunteer_id: str
    points: int
    item: str
    redeemed_on: date
    balance: int = Field(description="after this redemption")


@router.post(
    "/volunteers/{volunteer_id}/redemptions",
    response_model=RedemptionOut,
    status_code=201,
    tags=["points"],
    responses={
        400: {"description": "Idempotency-Key missing"},
        409: {"description": "not enough points, or the same key is in flight"},
        422: {"description": "invalid body, or the key was used with another body"},
    },
)
async def redeem(
    volunteer_id: str,
    body: RedeemIn,
    request: Request,
    svc: Svc,
    who: CurrentPrincipal,
    key: Annotated[str, Depends(require_key)],
) -> Any:
    """Redeem points at the public-welfare supermarket (公益超市). Same key and body: the
    first answer again; the balance never goes below zero, also under concurrent requests."""
    v, _ = await visible_volunteer(svc, who, volunteer_id)
    scope = f"{who.subject}|{volunteer_id}"
    redemption_id = effect_id("rdm-", scope, key)

    async def work() -> tuple[int, Any]:
        box: dict[str, domain.Redemption] = {}

        def decide(ledger: Ledger) -> tuple[Ledger, list[Event]]:
            new, r, events = domain.redeem(
                ledger,
                v,
                redemption_id=redemption_id,
                points=body.points,
                item=body.item,
                on=today(),
            )
            box["r"] = r
            return new, events

        await _ledger_change(svc, volunteer_id, decide)
        out = RedemptionOut(volunteer_id=volunteer_id, **box["r"].model_dump())
        return 201, out.model_dump(mode="json")

    return await svc.store.idempotency.run(
        scope=scope,
        key=key,
        fingerprint=fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        work=work,
    )


# --------------------------------------------------------------------------- certificates


class CertificateIn(Strict):
    period_start: date
    period_end: date


class Certificate(BaseModel):
    certificate_id: str
    record: dict[str, Any] = Field(description="the canonical service record")
    signature: str = Field(description="HMAC-SHA256 over the canonical record, by the service")


class VerifyOut(BaseModel):
    genuine: bool
    certificate_id: str | None
    reason: str


def sign(svc: Volunteers, record: dict[str, Any]) -> str:
    return svc.vault.blind_index("certificate", domain.canonical(record).decode())


@router.post(
    "/volunteers/{volunteer_id}/certificates",
    response_model=Certificate,
    status_code=201,
    tags=["certificates"],
)
async def issue_certificate(
    volunteer_id: str, body: CertificateIn, svc: Svc, who: CurrentPrincipal
) -> Certificate:
    """A service-record certificate (志愿服务记录证明) for a period: the approved
    attendances, signed by the service. The same record issued twice is one certificate."""
    v, _ = await visible_volunteer(svc, who, volunteer_id)
    ledger, _ = await svc.store.ledger(volunteer_id)
    try:
        record = domain.certificate_record(
            v,
            ledger,
            period_start=body.period_start,
            period_end=body.period_end,
            issued_on=today(),
            issuer=f"wushe-volunteers:{v.station_id}",
        )
    except DomainError as exc:
        raise rule(exc) from None
    cert = Certificate(
        certificate_id=domain.certificate_id(record), record=record, signature=sign(svc, record)
    )
    existing, _ = await svc.store.certificates.load_model(cert.certificate_id, Certificate)
    if existing is None:
        issued = ev.CertificateIssued(
            certificate_id=cert.certificate_id,
            volunteer_id=volunteer_id,
            station_id=v.station_id,
            region_code=v.region_code,
            period_start=body.period_start,
            period_end=body.period_end,
            approved_minutes=record["approved_minutes"],
            digest=cert.signature,
        )
        # ConcurrencyError: issued concurrently, the same record, the same certificate.
        with contextlib.suppress(ConcurrencyError):
            await svc.store.certificates.save_model(cert.certificate_id, 0, cert, [issued])
    return cert


@router.post("/certificates/verify", response_model=VerifyOut, tags=["certificates"])
async def verify_certificate(body: Certificate, svc: Svc) -> VerifyOut:
    """Public: anyone holding a certificate can ask whether it is genuine and unaltered
    (no token needed; the answer reveals nothing the certificate does not show)."""
    if sign(svc, body.record) != body.signature:
        return VerifyOut(genuine=False, certificate_id=None, reason="signature does not match")
    cid = domain.certificate_id(body.record)
    issued, _ = await svc.store.certificates.load_model(cid, Certificate)
    if issued is None or cid != body.certificate_id:
        return VerifyOut(genuine=False, certificate_id=None, reason="no such certificate issued")
    return VerifyOut(genuine=True, certificate_id=cid, reason="issued by this service, unaltered")


# --------------------------------------------------------------------------- national export

EXPORT_COLUMNS = (
    "record_id",
    "volunteer_id",
    "name",
    "id_type",
    "id_number",
    "service_date",
    "service_hours",
    "project_id",
    "station_id",
    "region_code",
    "approved_on",
)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


@router.get(
    "/exports/national-service-records.csv",
    response_class=StreamingResponse,
    tags=["certificates"],
    responses={200: {"content": {"text/csv": {}}, "description": "docs/volunteers-export.md"}},
)
async def export_national(
    svc: Svc,
    who: CurrentPrincipal,
    period_start: date,
    period_end: date,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
) -> StreamingResponse:
    """Approved service records for upload to the national volunteer system (全国志愿服务
    信息系统), in the layout of docs/volunteers-export.md. Names and ID numbers are in
    full only for a token with the `pii_export` role; otherwise masked."""
    if period_end < period_start:
        raise rule(DomainError("period_end", "before period_start"))
    full = who.has_role(PII_EXPORT_ROLE)

    async def rows() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        yield _drain(out)
        async for v in svc.store.volunteers_of(within=who.region_scope, station_id=station_id):
            ledger, _ = await svc.store.ledger(v.volunteer_id)
            ctx = f"volunteer:{v.volunteer_id}"
            name = svc.vault.decrypt(v.name_enc, context=f"{ctx}:name") if full else v.name_masked
            idn = (
                svc.vault.decrypt(v.id_number_enc, context=f"{ctx}:id_number")
                if full
                else v.id_number_masked
            )
            for a in sorted(
                ledger.attendances.values(), key=lambda a: (a.service_date, a.attendance_id)
            ):
                if a.status != "approved" or not period_start <= a.service_date <= period_end:
                    continue
                writer.writerow(
                    (
                        a.attendance_id,
                        v.volunteer_id,
                        name,
                        "居民身份证",
                        idn,
                        a.service_date.isoformat(),
                        f"{a.minutes / 60:.2f}",
                        a.service.source_id,
                        a.service.station_id,
                        a.service.region_code,
                        a.approved_on.isoformat() if a.approved_on else "",
                    )
                )
            yield _drain(out)

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="national-service-records.csv"'},
    )
