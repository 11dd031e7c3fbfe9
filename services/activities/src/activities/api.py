"""Thin REST routers: parse, authorise (region scope from the token), call the domain, save."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from activities import domain
from activities.domain import Activity, Evidence, KnownProgramme, KnownStation
from activities.store import ActivitiesStore
from wushe import imports
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts.events import activities as ev
from wushe.errors import Conflict, DomainError
from wushe.pii import Vault
from wushe.store import ConcurrencyError, NewCommit
from wushe.validators import mask_mobile, mask_resident_id
from wushe.web import Limit, Offset, Strict, domain_error, today

router = APIRouter()


class Activities:
    def __init__(self, store: ActivitiesStore, vault: Vault) -> None:
        self.store = store
        self.vault = vault


async def get_service(request: Request) -> Activities:
    svc: Activities = request.app.state.activities
    return svc


Svc = Annotated[Activities, Depends(get_service)]


async def visible_programme(
    svc: Activities, who: Principal, programme_id: str
) -> KnownProgramme | None:
    """A programme from the local registry copy, or None (unknown) when its scope is not the
    caller's: saying "not enrolled" would tell another province that the programme exists."""
    programme = await svc.store.programme(programme_id)
    return programme if programme and who.shares_scope(programme.scope_regions) else None


async def visible_station(svc: Activities, who: Principal, station_id: str) -> KnownStation:
    """A station from the local registry copy, inside the caller's scope (else 422)."""
    station = await svc.store.station(station_id)
    if station is not None and not who.can_see(station.region_code):
        # Another province's station is refused as an unknown one: a 404 here would tell
        # the caller that a station of that id exists.
        station = None
    try:
        return domain.check_station(station, station_id)
    except DomainError as exc:
        raise domain_error(exc) from None


# --------------------------------------------------------------------------- activities


class ActivityIn(Strict):
    station_id: str = Field(max_length=40)
    room_id: str | None = Field(None, max_length=40)
    programme_ids: list[str] = Field(default_factory=list, max_length=10)
    service_area: ev.ServiceArea
    kind: ev.ActivityKind
    themes: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)
    activity_date: date
    place: str = Field("", max_length=200, description="where (kept in this service only)")
    planned_sessions: int = Field(1, ge=0, le=10_000)
    external_ref: str | None = Field(
        None,
        max_length=100,
        description=("the caller's own id for this activity: the same ref creates nothing new"),
    )


class HeldIn(Strict):
    held_on: date
    counts: ev.Counts
    linkage: ev.Linkage = ev.Linkage()
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)


class VerifyIn(Strict):
    verified_by: str = Field(min_length=1, max_length=100)
    role: Literal["station_lead", "supervisor"]


class CancelIn(Strict):
    reason_code: Literal["weather", "no_participants", "duplicate", "rescheduled", "other"]
    note: str = Field("", max_length=500)


class CorrectionIn(Strict):
    counts: ev.Counts
    linkage: ev.Linkage | None = None
    reason_code: Literal["count_error", "wrong_group", "duplicate_entry", "late_evidence", "other"]
    note: str = Field(min_length=1, max_length=1000, description="更正说明")


class ActivityOut(BaseModel):
    activity_id: str
    status: str
    facts: ev.ActivityFacts
    place: str
    planned_sessions: int
    held_on: date | None
    counts: ev.Counts | None
    linkage: ev.Linkage
    evidence: list[Evidence]
    verified: dict[str, Any] | None
    corrections: list[dict[str, Any]]
    version: int


class ActivityPage(BaseModel):
    items: list[ActivityOut]
    total: int
    limit: int
    offset: int


def activity_out(a: Activity, version: int) -> ActivityOut:
    return ActivityOut(
        activity_id=a.facts.activity_id, version=version, **a.model_dump(exclude={"cancel"})
    )


def activity_id_for(station_id: str, external_ref: str | None) -> str:
    if external_ref:
        digest = hashlib.sha256(f"{station_id}|{external_ref}".encode()).hexdigest()[:20]
        return f"act-{digest}"
    return f"act-{uuid.uuid4().hex[:20]}"


async def plan(svc: Activities, who: Principal, body: ActivityIn) -> tuple[Activity, int, bool]:
    """Plan an activity; with an `external_ref` already used, return the existing one."""
    station = await visible_station(svc, who, body.station_id)
    activity_id = activity_id_for(station.station_id, body.external_ref)
    # With an external_ref the id is known in advance: insert first, and look the activity up
    # only when that id is taken (the usual case is then one call, not a miss and a write).
    try:
        activity, version = await _plan_new(svc, who, station, activity_id, body)
        return activity, version, True
    except (HTTPException, ConcurrencyError):
        if not body.external_ref:
            raise
        existing, version = await svc.store.activities.load_model(activity_id, Activity)
        if existing is None:
            raise
        return existing, version, False


async def _plan_new(
    svc: Activities, who: Principal, station: KnownStation, activity_id: str, body: ActivityIn
) -> tuple[Activity, int]:
    programmes = {pid: await visible_programme(svc, who, pid) for pid in body.programme_ids}
    facts = ev.ActivityFacts(
        activity_id=activity_id,
        station_id=station.station_id,
        region_code=station.region_code,
        room_id=body.room_id,
        programme_ids=body.programme_ids,
        service_area=body.service_area,
        kind=body.kind,
        themes=body.themes,
        activity_date=body.activity_date,
    )
    try:
        domain.check_references(station, body.room_id, programmes, body.activity_date)
        activity, event = domain.plan_activity(
            facts, planned_sessions=body.planned_sessions, place=body.place
        )
    except DomainError as exc:
        raise domain_error(exc) from None
    return activity, await svc.store.activities.save_model(activity_id, 0, activity, [event])


@router.post("/activities", response_model=ActivityOut, status_code=201, tags=["activities"])
async def plan_activity(body: ActivityIn, svc: Svc, who: CurrentPrincipal) -> ActivityOut:
    activity, version, _ = await plan(svc, who, body)
    return activity_out(activity, version)


async def visible_activity(
    svc: Activities, who: Principal, activity_id: str
) -> tuple[Activity, int]:
    activity, version = await svc.store.activities.load_model(activity_id, Activity)
    if activity is None or not who.can_see(activity.facts.region_code):
        raise HTTPException(404, f"activity {activity_id} not found")
    return activity, version


async def _transition(
    svc: Activities, who: Principal, activity_id: str, decide: Any
) -> ActivityOut:
    activity, version = await visible_activity(svc, who, activity_id)
    try:
        new, event = decide(activity)
    except DomainError as exc:
        raise domain_error(exc) from None
    return activity_out(
        new, await svc.store.activities.save_model(activity_id, version, new, [event])
    )


@router.get("/activities/{activity_id}", response_model=ActivityOut, tags=["activities"])
async def get_activity(activity_id: str, svc: Svc, who: CurrentPrincipal) -> ActivityOut:
    return activity_out(*await visible_activity(svc, who, activity_id))


@router.get("/activities", response_model=ActivityPage, tags=["activities"])
async def list_activities(
    svc: Svc,
    who: CurrentPrincipal,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
    status: domain.Status | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ActivityPage:
    filters: dict[str, Any] = {}
    if station_id:
        filters["facts.station_id"] = station_id
    if status:
        filters["status"] = status
    rows, total = await svc.store.list_activities(
        within=who.region_scope, filters=filters, limit=limit, offset=offset
    )
    items = [
        activity_out(
            Activity.model_validate({k: v for k, v in d.items() if k not in ("_id", "_v")}), v
        )
        for d, v in rows
    ]
    return ActivityPage(items=items, total=total, limit=limit, offset=offset)


@router.post("/activities/{activity_id}/held", response_model=ActivityOut, tags=["activities"])
async def hold_activity(
    activity_id: str, body: HeldIn, svc: Svc, who: CurrentPrincipal
) -> ActivityOut:
    return await _transition(
        svc,
        who,
        activity_id,
        lambda a: domain.hold_activity(
            a,
            held_on=body.held_on,
            counts=body.counts,
            linkage=body.linkage,
            evidence=body.evidence,
            today=today(),
        ),
    )


@router.post(
    "/activities/{activity_id}/verification", response_model=ActivityOut, tags=["activities"]
)
async def verify_activity(
    activity_id: str, body: VerifyIn, svc: Svc, who: CurrentPrincipal
) -> ActivityOut:
    return await _transition(
        svc,
        who,
        activity_id,
        lambda a: domain.verify_activity(
            a, verified_by=body.verified_by, role=body.role, today=today()
        ),
    )


@router.post(
    "/activities/{activity_id}/cancellation", response_model=ActivityOut, tags=["activities"]
)
async def cancel_activity(
    activity_id: str, body: CancelIn, svc: Svc, who: CurrentPrincipal
) -> ActivityOut:
    return await _transition(
        svc,
        who,
        activity_id,
        lambda a: domain.cancel_activity(a, reason_code=body.reason_code, note=body.note),
    )


@router.post(
    "/activities/{activity_id}/corrections", response_model=ActivityOut, tags=["activities"]
)
async def correct_activity(
    activity_id: str, body: CorrectionIn, svc: Svc, who: CurrentPrincipal
) -> ActivityOut:
    return await _transition(
        svc,
        who,
        activity_id,
        lambda a: domain.correct_activity(
            a,
            counts=body.counts,
            linkage=body.linkage,
            reason_code=body.reason_code,
            note=body.note,
        ),
    )


# --------------------------------------------------------------------------- household visits


class VisitIn(Strict):
    station_id: str = Field(max_length=40)
    household_ref: str = Field(
        min_length=4,
        max_length=64,
        description=(
            "the household's own reference (e.g. the householder's ID number); only its keyed "
            "hash is kept as the household id"
        ),
    )
    categories: list[domain.HouseholdCategory] = Field(default_factory=list, max_length=10)
    needs: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=20)
    follow_up_note: str = Field("", max_length=2000)
    visited_on: date
    follow_up_due: date | None = None


class VisitOut(BaseModel):
    visit_id: str
    household_id: str
    station_id: str
    region_code: str
    visited_on: date
    follow_up_due: date | None
    categories: list[str]
    needs: list[str]
    follow_up_note: str


class Visit(BaseModel):
    visit_id: str
    household_id: str
    station_id: str
    region_code: str
    visited_on: date
    follow_up_due: date | None
    sensitive_enc: str  # categories, needs and notes, encrypted together


@router.post(
    "/household-visits", response_model=VisitOut, status_code=201, tags=["household visits"]
)
async def record_visit(body: VisitIn, svc: Svc, who: CurrentPrincipal) -> VisitOut:
    station = await visible_station(svc, who, body.station_id)
    if body.visited_on > today():
        raise domain_error(DomainError("visited_on", "must not be in the future"))
    if body.follow_up_due is not None and body.follow_up_due < body.visited_on:
        raise domain_error(DomainError("follow_up_due", "must not be before the visit"))
    household_id = "hh-" + svc.vault.blind_index("household", body.household_ref)[:20]
    visit_id = f"hv-{uuid.uuid4().hex[:20]}"
    sensitive = {
        "categories": body.categories,
        "needs": body.needs,
        "follow_up_note": body.follow_up_note,
    }
    visit = Visit(
        visit_id=visit_id,
        household_id=household_id,
        station_id=station.station_id,
        region_code=station.region_code,
        visited_on=body.visited_on,
        follow_up_due=body.follow_up_due,
        sensitive_enc=svc.vault.encrypt(
            json.dumps(sensitive, ensure_ascii=False), context=f"visit:{visit_id}"
        ),
    )
    event = ev.HouseholdVisited(
        visit_id=visit_id,
        household_id=household_id,
        station_id=station.station_id,
        region_code=station.region_code,
        visited_on=body.visited_on,
        follow_up_due=body.follow_up_due,
    )
    await svc.store.visits.save_model(visit_id, 0, visit, [event])
    return VisitOut(**visit.model_dump(exclude={"sensitive_enc"}), **sensitive)


@router.get("/household-visits/{visit_id}", response_model=VisitOut, tags=["household visits"])
async def get_visit(visit_id: str, svc: Svc, who: CurrentPrincipal) -> VisitOut:
    visit, _ = await svc.store.visits.load_model(visit_id, Visit)
    if visit is None or not who.can_see(visit.region_code):
        raise HTTPException(404, f"household visit {visit_id} not found")
    sensitive = json.loads(svc.vault.decrypt(visit.sensitive_enc, context=f"visit:{visit_id}"))
    return VisitOut(**visit.model_dump(exclude={"sensitive_enc"}), **sensitive)


# --------------------------------------------------------------------------- client files


class ClientFileIn(Strict):
    station_id: str = Field(max_length=40)
    name: str = Field(min_length=1, max_length=40)
    id_number: str = Field(min_length=18, max_length=18)
    phone: str | None = Field(None, max_length=20)
    categories: list[domain.HouseholdCategory] = Field(default_factory=list, max_length=10)
    consent_on: date | None = Field(None, description="the client's separate consent")
    guardian_name: str | None = Field(None, max_length=40)
    guardian_relation: str | None = Field(None, max_length=20)
    guardian_consent_on: date | None = Field(None, description="required under 14")
    opened_on: date


class ServiceIn(Strict):
    served_on: date
    service_area: ev.ServiceArea
    activity_id: str | None = Field(None, max_length=40)
    note: str = Field("", max_length=2000)


class ClosureIn(Strict):
    closed_on: date
    reason_code: Literal["goals_met", "moved_away", "deceased", "declined", "transferred", "other"]


class ClientFile(BaseModel):
    file_id: str
    station_id: str
    region_code: str
    status: Literal["open", "closed"]
    opened_on: date
    closed_on: date | None = None
    identity_enc: str  # name, ID number, phone, categories, guardian: encrypted together
    name_masked: str
    id_number_masked: str
    phone_masked: str | None
    age_at_opening: int
    services_enc: list[str] = []


class ClientFileOut(BaseModel):
    """Masked: a file never shows a client's full name, ID number or phone."""

    file_id: str
    station_id: str
    region_code: str
    status: str
    opened_on: date
    closed_on: date | None
    name: str
    id_number: str
    phone: str | None
    age_at_opening: int
    services: int
    version: int


def file_out(f: ClientFile, version: int) -> ClientFileOut:
    return ClientFileOut(
        file_id=f.file_id,
        station_id=f.station_id,
        region_code=f.region_code,
        status=f.status,
        opened_on=f.opened_on,
        closed_on=f.closed_on,
        name=f.name_masked,
        id_number=f.id_number_masked,
        phone=f.phone_masked,
        age_at_opening=f.age_at_opening,
        services=len(f.services_enc),
        version=version,
    )


@router.post("/client-files", response_model=ClientFileOut, status_code=201, tags=["client files"])
async def open_client_file(body: ClientFileIn, svc: Svc, who: CurrentPrincipal) -> ClientFileOut:
    station = await visible_station(svc, who, body.station_id)
    if body.opened_on > today():
        raise domain_error(DomainError("opened_on", "must not be in the future"))
    try:
        identity = domain.check_client(
            name=body.name,
            id_number=body.id_number,
            phone=body.phone,
            today=body.opened_on,
            consent_on=body.consent_on,
            guardian_name=body.guardian_name,
            guardian_consent_on=body.guardian_consent_on,
        )
    except DomainError as exc:
        raise domain_error(exc) from None
    # One file per person in this service: the id is a keyed hash of the ID number.
    file_id = "cf-" + svc.vault.blind_index("resident_id", identity.id_number)[:20]
    existing, version = await svc.store.client_files.load_model(file_id, ClientFile)
    if existing is not None and existing.status == "open":
        raise HTTPException(
            409,
            detail=[
                {
                    "loc": ["body", "id_number"],
                    "type": "duplicate",
                    "msg": "this client already has an open file",
                }
            ],
        )
    secret = {
        **identity.model_dump(mode="json"),
        "categories": body.categories,
        "guardian": {
            "name": body.guardian_name,
            "relation": body.guardian_relation,
            "consent_on": str(body.guardian_consent_on or ""),
        },
        "consent_on": str(body.consent_on or ""),
    }
    file = ClientFile(
        file_id=file_id,
        station_id=station.station_id,
        region_code=station.region_code,
        status="open",
        opened_on=body.opened_on,
        identity_enc=svc.vault.encrypt(
            json.dumps(secret, ensure_ascii=False), context=f"client_file:{file_id}:identity"
        ),
        name_masked=identity.name[:1] + "*" * max(1, len(identity.name) - 1),
        id_number_masked=mask_resident_id(identity.id_number),
        phone_masked=mask_mobile(identity.phone) if identity.phone else None,
        age_at_opening=identity.age,
    )
    event = ev.ClientFileOpened(
        file_id=file_id,
        station_id=station.station_id,
        region_code=station.region_code,
        opened_on=body.opened_on,
    )
    return file_out(file, await svc.store.client_files.save_model(file_id, version, file, [event]))


async def visible_file(svc: Activities, who: Principal, file_id: str) -> tuple[ClientFile, int]:
    file, version = await svc.store.client_files.load_model(file_id, ClientFile)
    if file is None or not who.can_see(file.region_code):
        raise HTTPException(404, f"client file {file_id} not found")
    return file, version


@router.get("/client-files/{file_id}", response_model=ClientFileOut, tags=["client files"])
async def get_client_file(file_id: str, svc: Svc, who: CurrentPrincipal) -> ClientFileOut:
    return file_out(*await visible_file(svc, who, file_id))


@router.post(
    "/client-files/{file_id}/services", response_model=ClientFileOut, tags=["client files"]
)
async def record_service(
    file_id: str, body: ServiceIn, svc: Svc, who: CurrentPrincipal
) -> ClientFileOut:
    file, version = await visible_file(svc, who, file_id)
    if file.status != "open":
        raise domain_error(Conflict("status", "the file is closed"))
    if not file.opened_on <= body.served_on <= today():
        raise domain_error(DomainError("served_on", "between the opening and today"))
    if body.activity_id is not None:
        # A client is served at one of the file's station's own activities; any other id
        # (another station's, another province's, none) is refused the same way.
        activity, _ = await svc.store.activities.load_model(body.activity_id, Activity)
        if activity is None or activity.facts.station_id != file.station_id:
            raise domain_error(
                DomainError("activity_id", f"no activity {body.activity_id} at {file.station_id}")
            )
    entry = svc.vault.encrypt(
        json.dumps(body.model_dump(mode="json"), ensure_ascii=False),
        context=f"client_file:{file_id}:service",
    )
    new = file.model_copy(update={"services_enc": [*file.services_enc, entry]})
    event = ev.ClientServiceRecorded(
        file_id=file_id,
        station_id=file.station_id,
        region_code=file.region_code,
        served_on=body.served_on,
        service_area=body.service_area,
        activity_id=body.activity_id,
    )
    return file_out(new, await svc.store.client_files.save_model(file_id, version, new, [event]))


@router.post("/client-files/{file_id}/closure", response_model=ClientFileOut, tags=["client files"])
async def close_client_file(
    file_id: str, body: ClosureIn, svc: Svc, who: CurrentPrincipal
) -> ClientFileOut:
    file, version = await visible_file(svc, who, file_id)
    if file.status != "open":
        raise domain_error(Conflict("status", "the file is already closed"))
    if body.closed_on < file.opened_on or body.closed_on > today():
        raise domain_error(DomainError("closed_on", "between the opening and today"))
    new = file.model_copy(update={"status": "closed", "closed_on": body.closed_on})
    event = ev.ClientFileClosed(
        file_id=file_id,
        station_id=file.station_id,
        region_code=file.region_code,
        closed_on=body.closed_on,
        reason_code=body.reason_code,
    )
    return file_out(new, await svc.store.client_files.save_model(file_id, version, new, [event]))


# --------------------------------------------------------------------------- bulk import

GROUPS = ("elders", "children", "assistance_clients", "disabled", "residents", "other")


class ActivityRow(Strict):
    """One held (or planned) activity per row; `external_ref` makes re-imports harmless."""

    station_id: str = Field(max_length=40)
    external_ref: str = Field(min_length=1, max_length=100)
    room_id: str | None = Field(None, max_length=40)
    programme_ids: list[str] = Field(default_factory=list, max_length=10)
    service_area: ev.ServiceArea
    kind: ev.ActivityKind
    themes: list[str] = Field(default_factory=list, max_length=20)
    activity_date: date
    held_on: date | None = None
    counts: ev.Counts | None = None
    societies: list[ev.Society] = Field(default_factory=list)


def normalise_row(rec: dict[str, Any]) -> dict[str, Any]:
    """Flat CSV columns (sessions, elders, ...; lists split on ';') -> the nested row."""
    out = imports.clean(rec)
    for name in ("programme_ids", "themes", "societies"):
        if isinstance(out.get(name), str):
            out[name] = [p.strip() for p in out[name].split(";") if p.strip()]
    if "sessions" in out and "counts" not in out:
        person_times = {g: out.pop(g) for g in GROUPS if g in out}
        out["counts"] = {"sessions": out.pop("sessions"), "person_times": person_times}
    return out


@router.post(
    "/imports/activities",
    response_model=imports.ImportReport,
    tags=["activities"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_activities(
    request: Request, svc: Svc, who: CurrentPrincipal
) -> imports.ImportReport:
    """Import activities (CSV or NDJSON). A row with `held_on` and counts is recorded as
    planned and held in one step. Rows already imported (same station and external_ref)
    are left as they are: re-importing a file changes nothing and emits nothing."""
    data, content_type = await imports.read_body(
        request, request.app.state.ctx.settings.import_max_bytes
    )
    try:
        rows = imports.parse(
            data, content_type, model=ActivityRow, max_rows=50_000, normalise=normalise_row
        )
    except imports.ImportFormatError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    refs = _ImportRefs(svc, who)
    planned: list[NewCommit] = []
    report = await imports.apply(rows, lambda row: _plan_import(svc, refs, row.value, planned))
    # Written in bulk: one round trip per 500 activities instead of several per row. A row
    # whose id is taken was imported before (or twice in this file, or by a request beside
    # this one): it stays as it is.
    for start in range(0, len(planned), 500):
        results = await svc.store.activities.append_many(planned[start : start + 500])
        taken = sum(isinstance(result, ConcurrencyError) for result in results)
        report.created -= taken
        report.unchanged += taken
    return report


class _ImportRefs:
    """The stations and programmes an import's rows name, each read from the registry copy
    once per request (a ledger names the same few again and again)."""

    def __init__(self, svc: Activities, who: Principal) -> None:
        self.svc, self.who = svc, who
        self.stations: dict[str, KnownStation] = {}
        self.programmes: dict[str, KnownProgramme | None] = {}

    async def station(self, station_id: str) -> KnownStation:
        if station_id not in self.stations:  # an unknown one raises, and is asked again
            self.stations[station_id] = await visible_station(self.svc, self.who, station_id)
        return self.stations[station_id]

    async def programme(self, programme_id: str) -> KnownProgramme | None:
        if programme_id not in self.programmes:
            self.programmes[programme_id] = await visible_programme(
                self.svc, self.who, programme_id
            )
        return self.programmes[programme_id]


async def _plan_import(
    svc: Activities, refs: _ImportRefs, row: ActivityRow, planned: list[NewCommit]
) -> str:
    station = await refs.station(row.station_id)
    activity_id = activity_id_for(station.station_id, row.external_ref)
    try:
        planned.append(await _new_commit(refs, station, activity_id, row))
    except (DomainError, HTTPException):
        # A row imported before, when its references were valid, stays as it is.
        existing, _ = await svc.store.activities.load_model(activity_id, Activity)
        if existing is not None:
            return "unchanged"
        raise
    return "created"  # unless its id turns out to be taken when the plan is written


async def _new_commit(
    refs: _ImportRefs, station: KnownStation, activity_id: str, row: ActivityRow
) -> NewCommit:
    facts = ev.ActivityFacts(
        activity_id=activity_id,
        station_id=station.station_id,
        region_code=station.region_code,
        room_id=row.room_id,
        programme_ids=row.programme_ids,
        service_area=row.service_area,
        kind=row.kind,
        themes=row.themes,
        activity_date=row.activity_date,
    )
    programmes = {pid: await refs.programme(pid) for pid in row.programme_ids}
    domain.check_references(station, row.room_id, programmes, row.activity_date)
    activity, planned = domain.plan_activity(
        facts, planned_sessions=row.counts.sessions if row.counts else 1
    )
    events = [planned]
    if row.held_on is not None or row.counts is not None:
        if row.held_on is None or row.counts is None:
            raise DomainError("held_on", "a held activity needs held_on and its counts")
        activity, held = domain.hold_activity(
            activity,
            held_on=row.held_on,
            counts=row.counts,
            linkage=ev.Linkage(societies=row.societies),
            evidence=[],
            today=today(),
        )
        events.append(held)
    return NewCommit(activity_id, 0, events, activity.model_dump(mode="json"))
