"""Thin REST routers: parse, authorise (region scope from the token), call the domain, save."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from registry import domain, ledger
from registry.domain import BoundaryChange, Region, Station, StationDetails
from registry.reference import VillageIndex
from registry.store import BOUNDARY_STREAM, RegionIndex, RegistryStore
from wushe import imports
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts import Event
from wushe.contracts.events import registry as ev
from wushe.errors import DomainError
from wushe.pii import Vault
from wushe.store import ConcurrencyError, NewCommit
from wushe.validators import check_mobile, mask_mobile, mask_name, mask_resident_id
from wushe.web import IsoDate, Limit, Offset, Strict, domain_error, today

router = APIRouter()


class Registry:
    """What the routers need, built once in app.py and reached through `request.app.state`."""

    def __init__(
        self, store: RegistryStore, regions: RegionIndex, vault: Vault, villages: VillageIndex
    ) -> None:
        self.store = store
        self.regions = regions
        self.vault = vault
        self.villages = villages


async def get_registry(request: Request) -> Registry:
    reg: Registry = request.app.state.registry
    return reg


Reg = Annotated[Registry, Depends(get_registry)]


def require_in_scope(who: Principal, region_code: str, field: str = "region_code") -> None:
    """Writing into a region outside the token's scope is refused, naming the field."""
    if not who.can_see(region_code):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=[
                {
                    "loc": ["body", field],
                    "msg": f"{region_code} is outside your region scope {who.region_scope}",
                    "type": "scope",
                }
            ],
        )


async def scoped_region(
    reg: Registry, who: Principal, code: str, field: str = "region_code"
) -> Region:
    """An existing region inside the caller's scope, or the 4xx that names the field."""
    require_in_scope(who, code, field)
    tree = await reg.regions.tree(today())
    try:
        return tree.require(code, field)
    except DomainError as exc:
        raise domain_error(exc) from None


# --------------------------------------------------------------------------- regions


class RegionOut(BaseModel):
    code: str
    name: str
    level: str
    parent: str | None
    kind: str | None = None
    valid_from: date | None = None


class RegionDetail(RegionOut):
    ancestors: list[RegionOut]
    children_count: int


def region_out(r: Region) -> RegionOut:
    return RegionOut(
        code=r.code,
        name=r.name,
        level=r.level,
        parent=r.parent,
        kind=r.kind if r.level == "township" else None,
        valid_from=r.valid_from,
    )


@router.get("/regions", response_model=list[RegionOut], tags=["regions"])
async def search_regions(
    reg: Reg,
    _: CurrentPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=40)],
    within: Annotated[str, Query(pattern=r"^\d{0,9}$")] = "",
    level: domain.Level | None = None,
    as_of: IsoDate | None = None,
    limit: Limit = 50,
) -> list[RegionOut]:
    tree = await reg.regions.tree(as_of or today())
    return [region_out(r) for r in tree.search(q, within=within, level=level, limit=limit)]


@router.get("/regions/{code}", response_model=RegionDetail, tags=["regions"])
async def get_region(
    code: str, reg: Reg, _: CurrentPrincipal, as_of: IsoDate | None = None
) -> RegionDetail:
    tree = await reg.regions.tree(as_of or today())
    region = tree.get(code)
    if region is None:
        raise HTTPException(404, f"no region {code} on {as_of or today()}")
    return RegionDetail(
        **region_out(region).model_dump(),
        ancestors=[region_out(a) for a in tree.ancestors(code)],
        children_count=len(tree.children(code)),
    )


@router.get("/regions/{code}/children", response_model=list[RegionOut], tags=["regions"])
async def region_children(
    code: str, reg: Reg, _: CurrentPrincipal, as_of: IsoDate | None = None
) -> list[RegionOut]:
    tree = await reg.regions.tree(as_of or today())
    if tree.get(code) is None:
        raise HTTPException(404, f"no region {code} on {as_of or today()}")
    return [region_out(r) for r in tree.children(code)]


class BoundaryChangeIn(Strict):
    kind: Literal["rename", "merge", "split", "move"]
    effective_date: date
    old: list[ev.RegionRef] = Field(min_length=1, max_length=50)
    new: list[ev.RegionRef] = Field(min_length=1, max_length=50)
    reason: str = Field("", max_length=500)
    station_moves: dict[str, str] = Field(default_factory=dict)


class BoundaryChangeOut(BaseModel):
    change_id: str
    kind: str
    effective_date: date
    old: list[ev.RegionRef]
    new: list[ev.RegionRef]
    reason: str
    stations_moved: list[str] = []


@router.post(
    "/boundary-changes", response_model=BoundaryChangeOut, status_code=201, tags=["regions"]
)
async def record_boundary_change(
    body: BoundaryChangeIn, reg: Reg, who: CurrentPrincipal
) -> BoundaryChangeOut:
    for i, ref in enumerate([*body.old, *body.new]):
        require_in_scope(who, ref.code, f"{'old' if i < len(body.old) else 'new'}.code")
    change = BoundaryChange(change_id=f"bc-{uuid.uuid4().hex[:12]}", **body.model_dump())
    for _ in range(5):  # the changes stream is single: retry a concurrent writer
        version, changes = await reg.store.boundary_changes()
        tree_then = await reg.regions.tree(change.effective_date)
        try:
            domain.check_boundary_change(tree_then, change)
        except DomainError as exc:
            raise domain_error(exc) from None
        event = ev.BoundaryChanged(
            change_id=change.change_id,
            region_code=change.county(),
            kind=change.kind,
            effective_date=change.effective_date,
            old=change.old,
            new=change.new,
            reason=change.reason,
        )
        state = {"changes": [c.model_dump(mode="json") for c in [*changes, change]]}
        try:
            await reg.store.boundaries.append(BOUNDARY_STREAM, version, [event], state)
            break
        except ConcurrencyError:
            continue
    else:
        raise HTTPException(409, "boundary changes are being recorded concurrently, retry")
    moved = []
    for station in await reg.store.stations_in([o.code for o in change.old]):
        await _update_station(
            reg, station.station_id, lambda st, c=change: _as_list(domain.move_station(st, c))
        )
        moved.append(station.station_id)
    return BoundaryChangeOut(
        **change.model_dump(exclude={"station_moves"}), stations_moved=sorted(moved)
    )


def _as_list(result: tuple[Station, Event] | None) -> tuple[Station, list[Event]] | None:
    return None if result is None else (result[0], [result[1]])


@router.get("/boundary-changes", response_model=list[BoundaryChangeOut], tags=["regions"])
async def list_boundary_changes(reg: Reg, who: CurrentPrincipal) -> list[BoundaryChangeOut]:
    _, changes = await reg.store.boundary_changes()
    return [
        BoundaryChangeOut(**c.model_dump(exclude={"station_moves"}))
        for c in changes
        if who.can_see(c.county())
    ]


# --------------------------------------------------------------------------- stations


class StationIn(Strict):
    region_code: str = Field(pattern=r"^\d{9}$", description="the township/street code")
    name: str | None = Field(None, max_length=100)
    status: Literal["planned", "operating"] = "planned"
    operator_org_id: str | None = Field(None, max_length=64)
    contract_start: date | None = None
    contract_end: date | None = None
    functions: list[ev.StationFunction] = Field(default_factory=list)
    hotline: str | None = Field(None, max_length=20)


class StationPatch(Strict):
    name: str | None = Field(None, max_length=100)
    operator_org_id: str | None = Field(None, max_length=64)
    contract_start: date | None = None
    contract_end: date | None = None
    functions: list[ev.StationFunction] | None = None
    hotline: str | None = Field(None, max_length=20)


class StatusIn(Strict):
    to: ev.StationStatus
    reason: str = Field(min_length=1, max_length=500)
    effective_date: date | None = None


class RatingIn(Strict):
    stars: int = Field(ge=1, le=5)
    rated_by: str = Field(min_length=1, max_length=100)
    rated_on: date
    reason: str = Field(min_length=1, max_length=500)


class RoomIn(Strict):
    room_region_code: str = Field(pattern=r"^\d{12}$")
    name: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="defaults to the village/community's name + 社工室",
    )


class StationOut(BaseModel):
    station_id: str
    region_code: str
    name: str
    kind: str
    status: str
    operator_org_id: str | None
    contract_start: date | None
    contract_end: date | None
    functions: list[str]
    hotline: str | None
    rating: dict[str, Any] | None
    rooms: list[dict[str, str]]
    version: int


class StationPage(BaseModel):
    items: list[StationOut]
    total: int
    limit: int
    offset: int


class RegionSpanOut(BaseModel):
    region_code: str
    since: date | None
    boundary_change_id: str | None


def station_out(s: Station, version: int) -> StationOut:
    return StationOut(
        **s.model_dump(include=set(StationOut.model_fields) - {"version"}), version=version
    )


async def require_operator(
    reg: Registry, who: Principal, org_id: str | None, known: dict[str, bool] | None = None
) -> None:
    """The operating organisation (承接机构) must be registered and visible to the caller."""
    if org_id is None:
        return
    if known is not None and org_id in known:
        ok = known[org_id]
    else:
        org, _ = await reg.store.organisations.load_model(org_id, domain.Organisation)
        ok = org is not None and who.can_see(org.region_code)
        if known is not None:
            known[org_id] = ok
    if not ok:
        raise domain_error(DomainError("operator_org_id", f"no organisation {org_id}"))


async def register_station(
    reg: Registry, who: Principal, body: StationIn, *, check_township: bool = True
) -> tuple[Station, int]:
    """Shared by the API and the ledger import (which checks townships in bulk itself)."""
    require_in_scope(who, body.region_code)
    tree = await reg.regions.tree(today())
    try:
        township = tree.require(body.region_code)
        station, event = domain.register_station(
            township,
            StationDetails(**body.model_dump(exclude={"region_code", "status"})),
            status=body.status,
            today=today(),
        )
    except DomainError as exc:
        raise domain_error(exc) from None
    await require_operator(reg, who, body.operator_org_id)
    existing = await reg.store.station_on_township(body.region_code) if check_township else None
    if existing:
        raise _duplicate(body.region_code, existing)
    try:
        commit = await reg.store.stations.append(
            station.station_id, 0, [event], station.model_dump(mode="json")
        )
    except ConcurrencyError:
        raise _duplicate(body.region_code, station.station_id) from None
    return station, commit.version


def _duplicate(code: str, station_id: str) -> HTTPException:
    return HTTPException(
        409,
        detail=[
            {
                "loc": ["body", "region_code"],
                "type": "duplicate",
                "msg": f"township {code} already has station {station_id}",
            }
        ],
    )


@router.post("/stations", response_model=StationOut, status_code=201, tags=["stations"])
async def create_station(body: StationIn, reg: Reg, who: CurrentPrincipal) -> StationOut:
    station, version = await register_station(reg, who, body)
    return station_out(station, version)


async def visible_station(reg: Registry, who: Principal, station_id: str) -> tuple[Station, int]:
    station, version = await reg.store.load_station(station_id)
    if station is None or not who.can_see(station.region_code):
        raise HTTPException(404, f"station {station_id} not found")
    return station, version


@router.get("/stations/{station_id}", response_model=StationOut, tags=["stations"])
async def get_station(station_id: str, reg: Reg, who: CurrentPrincipal) -> StationOut:
    return station_out(*await visible_station(reg, who, station_id))


@router.get("/stations", response_model=StationPage, tags=["stations"])
async def list_stations(
    reg: Reg,
    who: CurrentPrincipal,
    region: Annotated[str, Query(pattern=r"^\d{2,9}$")] | None = None,
    status_: Annotated[ev.StationStatus | None, Query(alias="status")] = None,
    kind: ev.StationKind | None = None,
    name: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> StationPage:
    within = region or who.region_scope
    if not within.startswith(who.region_scope) and not who.region_scope.startswith(within):
        return StationPage(items=[], total=0, limit=limit, offset=offset)
    if len(within) < len(who.region_scope):
        within = who.region_scope
    items, total = await reg.store.list_stations(
        within=within, status=status_, kind=kind, name=name, limit=limit, offset=offset
    )
    return StationPage(
        items=[station_out(s, v) for s, v in items], total=total, limit=limit, offset=offset
    )


async def _update_station(
    reg: Registry, station_id: str, decide: Any, who: Principal | None = None
) -> tuple[Station, int]:
    """Load, decide, append; on a concurrent writer, decide again on the new state."""
    for _ in range(5):
        if who is not None:
            station, version = await visible_station(reg, who, station_id)
        else:
            loaded, version = await reg.store.load_station(station_id)
            if loaded is None:
                raise HTTPException(404, f"station {station_id} not found")
            station = loaded
        try:
            decided = decide(station)
        except DomainError as exc:
            raise domain_error(exc) from None
        if decided is None or not decided[1]:
            return station, version
        new, events = decided
        try:
            commit = await reg.store.stations.append(
                station_id, version, events, new.model_dump(mode="json")
            )
            return new, commit.version
        except ConcurrencyError:
            continue
    raise HTTPException(409, f"station {station_id} is being changed concurrently, retry")


@router.patch("/stations/{station_id}", response_model=StationOut, tags=["stations"])
async def update_station(
    station_id: str, body: StationPatch, reg: Reg, who: CurrentPrincipal
) -> StationOut:
    details = StationDetails(**body.model_dump(exclude_unset=True))
    await visible_station(reg, who, station_id)  # 404 before any other check
    await require_operator(reg, who, details.operator_org_id)
    return station_out(
        *await _update_station(reg, station_id, lambda st: domain.change_details(st, details), who)
    )


@router.post("/stations/{station_id}/status", response_model=StationOut, tags=["stations"])
async def change_station_status(
    station_id: str, body: StatusIn, reg: Reg, who: CurrentPrincipal
) -> StationOut:
    def decide(st: Station) -> tuple[Station, list[Event]]:
        new, event = domain.change_status(
            st, body.to, reason=body.reason, effective_date=body.effective_date or today()
        )
        return new, [event]

    return station_out(*await _update_station(reg, station_id, decide, who))


@router.post("/stations/{station_id}/ratings", response_model=StationOut, tags=["stations"])
async def rate_station(
    station_id: str, body: RatingIn, reg: Reg, who: CurrentPrincipal
) -> StationOut:
    def decide(st: Station) -> tuple[Station, list[Event]]:
        new, event = domain.rate_station(
            st,
            stars=body.stars,
            rated_by=body.rated_by,
            rated_on=body.rated_on,
            reason=body.reason,
            today=today(),
        )
        return new, [event]

    return station_out(*await _update_station(reg, station_id, decide, who))


@router.post(
    "/stations/{station_id}/rooms", response_model=StationOut, status_code=201, tags=["stations"]
)
async def add_room(station_id: str, body: RoomIn, reg: Reg, who: CurrentPrincipal) -> StationOut:
    def decide(st: Station) -> tuple[Station, list[Event]]:
        new, event = domain.add_room(
            st,
            room_region_code=body.room_region_code,
            name=body.name,
            village_name=reg.villages.get(body.room_region_code),
        )
        return new, [event]

    return station_out(*await _update_station(reg, station_id, decide, who))


@router.get(
    "/stations/{station_id}/region-history", response_model=list[RegionSpanOut], tags=["stations"]
)
async def station_region_history(
    station_id: str, reg: Reg, who: CurrentPrincipal
) -> list[RegionSpanOut]:
    station, _ = await visible_station(reg, who, station_id)
    return [RegionSpanOut(**span.model_dump()) for span in station.region_history]


# --------------------------------------------------------------------------- ledger import


@router.post(
    "/imports/stations",
    response_model=imports.ImportReport,
    tags=["stations"],
    openapi_extra=imports.UPLOAD_BODY,
)
async def import_stations(
    request: Request, reg: Reg, who: CurrentPrincipal
) -> imports.ImportReport:
    """Import a provincial station ledger (CSV, NDJSON or XLSX, chosen by Content-Type).

    Idempotent: a row that matches the registry changes nothing and emits nothing. Rows
    with errors are reported (row number, field, reason); valid rows are accepted.
    """
    settings = request.app.state.settings
    data, content_type = await imports.read_body(request, settings.import_max_bytes)
    try:
        rows = imports.parse(
            data,
            content_type,
            model=StationIn,
            max_rows=settings.import_max_rows,
            normalise=ledger.normalise,
        )
    except imports.ImportFormatError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    existing = await reg.store.stations_by_township(who.region_scope)
    planned: list[tuple[int, str, NewCommit]] = []
    tree = await reg.regions.tree(today())
    operators: dict[str, bool] = {}

    async def plan_row(row: imports.Row) -> str:
        await require_operator(reg, who, row.value.operator_org_id, operators)
        return await _plan_row(who, row, tree, existing, planned)

    report = await imports.apply(rows, plan_row)
    # Write the plan in bulk: one round trip per 500 commits instead of several per row.
    for start in range(0, len(planned), 500):
        batch = planned[start : start + 500]
        results = await reg.store.stations.append_many([plan[2] for plan in batch])
        for plan, result in zip(batch, results, strict=True):
            if isinstance(result, ConcurrencyError):
                kind: str = plan[1]
                setattr(report, kind, getattr(report, kind) - 1)
                report.errors.append(
                    imports.RowError(
                        row=plan[0],
                        field="region_code",
                        reason="the station changed during the import; import the row again",
                    )
                )
    report.errors.sort(key=lambda e: e.row)
    return report


async def _plan_row(
    who: Principal,
    row: imports.Row,
    tree: domain.RegionTree,
    existing: dict[str, tuple[Station, int]],
    planned: list[tuple[int, str, NewCommit]],
) -> str:
    """Decide one ledger row in memory: 'created', 'updated' or 'unchanged' (raises for a
    row error). Rows are compared with the stations read in one query before the import, so
    a row that matches the registry costs nothing and emits nothing."""
    body = row.value
    require_in_scope(who, body.region_code)
    known = existing.get(body.region_code)
    try:
        if known is None:
            station, event = domain.register_station(
                tree.require(body.region_code),
                StationDetails(**body.model_dump(exclude={"region_code", "status"})),
                status=body.status,
                today=today(),
            )
            version, events, outcome = 0, [event], "created"
        else:
            current, version = known
            details = StationDetails(
                **body.model_dump(exclude={"region_code", "status"}, exclude_unset=True)
            )
            station, events = domain.change_details(current, details)
            if "status" in body.model_fields_set and body.status != station.status:
                station, status_event = domain.change_status(
                    station, body.status, reason="ledger import", effective_date=today()
                )
                events = [*events, status_event]
            outcome = "updated" if events else "unchanged"
    except DomainError as exc:
        raise domain_error(exc) from None
    if events:
        planned.append(
            (
                row.row,
                outcome,
                NewCommit(station.station_id, version, events, station.model_dump(mode="json")),
            )
        )
        existing[body.region_code] = (station, version + 1)
    return outcome


# --------------------------------------------------------------------------- generic writes


# --------------------------------------------------------------------------- organisations


class OrganisationIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: ev.OrganisationKind
    credit_code: str | None = Field(None, max_length=18)
    region_code: str = Field(pattern=r"^\d{2}(\d{2}){0,2}(\d{3})?$")


class OrganisationOut(BaseModel):
    org_id: str
    name: str
    kind: str
    credit_code: str | None
    region_code: str


class OrganisationPage(BaseModel):
    items: list[OrganisationOut]
    total: int
    limit: int
    offset: int


@router.post(
    "/organisations", response_model=OrganisationOut, status_code=201, tags=["organisations"]
)
async def register_organisation(
    body: OrganisationIn, reg: Reg, who: CurrentPrincipal
) -> OrganisationOut:
    region = await scoped_region(reg, who, body.region_code)
    try:
        org, event = domain.register_organisation(
            name=body.name, kind=body.kind, credit_code=body.credit_code, region=region
        )
    except DomainError as exc:
        raise domain_error(exc) from None
    try:
        await reg.store.organisations.append(org.org_id, 0, [event], org.model_dump())
    except ConcurrencyError:
        field = "credit_code" if org.credit_code else "name"
        raise HTTPException(
            409,
            detail=[
                {
                    "loc": ["body", field],
                    "type": "duplicate",
                    "msg": f"organisation {org.org_id} exists",
                }
            ],
        ) from None
    return OrganisationOut(**org.model_dump())


@router.get("/organisations/{org_id}", response_model=OrganisationOut, tags=["organisations"])
async def get_organisation(org_id: str, reg: Reg, who: CurrentPrincipal) -> OrganisationOut:
    org, _ = await reg.store.organisations.load_model(org_id, domain.Organisation)
    if org is None or not who.can_see(org.region_code):
        raise HTTPException(404, f"organisation {org_id} not found")
    return OrganisationOut(**org.model_dump())


class OrganisationPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: ev.OrganisationKind | None = None


@router.patch("/organisations/{org_id}", response_model=OrganisationOut, tags=["organisations"])
async def update_organisation(
    org_id: str, body: OrganisationPatch, reg: Reg, who: CurrentPrincipal
) -> OrganisationOut:
    org, version = await reg.store.organisations.load_model(org_id, domain.Organisation)
    if org is None or not who.can_see(org.region_code):
        raise HTTPException(404, f"organisation {org_id} not found")
    try:
        new, events = domain.update_organisation(org, name=body.name, kind=body.kind)
    except DomainError as exc:
        raise domain_error(exc) from None
    await reg.store.organisations.save_model(org_id, version, new, events)
    return OrganisationOut(**new.model_dump())


@router.get("/organisations", response_model=OrganisationPage, tags=["organisations"])
async def list_organisations(
    reg: Reg,
    who: CurrentPrincipal,
    kind: ev.OrganisationKind | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrganisationPage:
    items, total = await reg.store.list_in(
        reg.store.organisations,
        domain.Organisation,
        within=who.region_scope,
        filters={"kind": kind} if kind else {},
        limit=limit,
        offset=offset,
    )
    return OrganisationPage(
        items=[OrganisationOut(**o.model_dump()) for o in items],
        total=total,
        limit=limit,
        offset=offset,
    )


# --------------------------------------------------------------------------- social workers


class SocialWorkerIn(Strict):
    name: str = Field(min_length=1, max_length=40)
    id_number: str = Field(min_length=18, max_length=18)
    phone: str | None = Field(None, max_length=20)
    region_code: str = Field(
        pattern=r"^\d{6}(\d{3})?$", description="the county or township the worker is registered in"
    )
    certification: ev.Certification = "none"
    general_practice: bool = False


class CertificationIn(Strict):
    certification: ev.Certification
    general_practice: bool


class AssignmentIn(Strict):
    station_id: str = Field(max_length=40)
    from_date: date


class SocialWorkerOut(BaseModel):
    """Personal data is shown masked only."""

    worker_id: str
    region_code: str
    certification: str
    general_practice: bool
    name: str
    phone: str | None
    id_number: str
    station_id: str | None
    assignments: list[dict[str, Any]]


def worker_out(w: domain.SocialWorker) -> SocialWorkerOut:
    return SocialWorkerOut(
        worker_id=w.worker_id,
        region_code=w.region_code,
        certification=w.certification,
        general_practice=w.general_practice,
        name=w.name_masked,
        phone=w.phone_masked,
        id_number=w.id_number_masked,
        station_id=w.station_id,
        assignments=w.assignments,
    )


@router.post(
    "/social-workers", response_model=SocialWorkerOut, status_code=201, tags=["social workers"]
)
async def register_social_worker(
    body: SocialWorkerIn, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    await scoped_region(reg, who, body.region_code)
    try:
        name, id_number, phone = domain.check_worker_identity(
            name=body.name, id_number=body.id_number, phone=body.phone
        )
    except DomainError as exc:
        raise domain_error(exc) from None
    # The id is a keyed hash of the ID number: pseudonymous, and one worker per person.
    worker_id = "sw-" + reg.vault.blind_index("resident_id", id_number)[:20]
    ctx = f"social_worker:{worker_id}"
    worker = domain.SocialWorker(
        worker_id=worker_id,
        region_code=body.region_code,
        certification=body.certification,
        general_practice=body.general_practice,
        name_enc=reg.vault.encrypt(name, context=f"{ctx}:name"),
        name_masked=mask_name(name),
        phone_enc=reg.vault.encrypt(phone, context=f"{ctx}:phone") if phone else None,
        phone_masked=mask_mobile(phone) if phone else None,
        id_number_enc=reg.vault.encrypt(id_number, context=f"{ctx}:id_number"),
        id_number_masked=mask_resident_id(id_number),
        birth_year=int(id_number[6:10]),
    )
    event = ev.SocialWorkerRegistered(
        worker_id=worker_id,
        region_code=body.region_code,
        certification=body.certification,
        general_practice=body.general_practice,
    )
    try:
        await reg.store.social_workers.append(worker_id, 0, [event], worker.model_dump())
    except ConcurrencyError:
        raise HTTPException(
            409,
            detail=[
                {
                    "loc": ["body", "id_number"],
                    "type": "duplicate",
                    "msg": "a social worker with this ID number is already registered",
                }
            ],
        ) from None
    return worker_out(worker)


async def _visible_worker(
    reg: Registry, who: Principal, worker_id: str
) -> tuple[domain.SocialWorker, int]:
    worker, version = await reg.store.social_workers.load_model(worker_id, domain.SocialWorker)
    if worker is None or not who.can_see(worker.region_code):
        raise HTTPException(404, f"social worker {worker_id} not found")
    return worker, version


class SocialWorkerPage(BaseModel):
    items: list[SocialWorkerOut]
    total: int
    limit: int
    offset: int


@router.get("/social-workers", response_model=SocialWorkerPage, tags=["social workers"])
async def list_social_workers(
    reg: Reg,
    who: CurrentPrincipal,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
    certification: ev.Certification | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> SocialWorkerPage:
    filters: dict[str, Any] = {}
    if station_id:
        filters["station_id"] = station_id
    if certification:
        filters["certification"] = certification
    items, total = await reg.store.list_in(
        reg.store.social_workers,
        domain.SocialWorker,
        within=who.region_scope,
        filters=filters,
        limit=limit,
        offset=offset,
    )
    return SocialWorkerPage(
        items=[worker_out(w) for w in items], total=total, limit=limit, offset=offset
    )


@router.get("/social-workers/{worker_id}", response_model=SocialWorkerOut, tags=["social workers"])
async def get_social_worker(worker_id: str, reg: Reg, who: CurrentPrincipal) -> SocialWorkerOut:
    return worker_out((await _visible_worker(reg, who, worker_id))[0])


class SocialWorkerPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=40)
    phone: str | None = Field(None, max_length=20)


@router.patch(
    "/social-workers/{worker_id}", response_model=SocialWorkerOut, tags=["social workers"]
)
async def update_social_worker(
    worker_id: str, body: SocialWorkerPatch, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    """Change a worker's name or phone: stored encrypted, announced without the values."""
    worker, version = await _visible_worker(reg, who, worker_id)
    ctx = f"social_worker:{worker_id}"
    updates: dict[str, Any] = {}
    if body.name is not None and body.name.strip() != reg.vault.decrypt(
        worker.name_enc, context=f"{ctx}:name"
    ):
        updates.update(
            name_enc=reg.vault.encrypt(body.name.strip(), context=f"{ctx}:name"),
            name_masked=mask_name(body.name),
        )
    if body.phone is not None:
        try:
            phone = check_mobile(body.phone)
        except ValueError as exc:
            raise domain_error(DomainError("phone", str(exc))) from None
        current = (
            reg.vault.decrypt(worker.phone_enc, context=f"{ctx}:phone")
            if worker.phone_enc
            else None
        )
        if phone != current:
            updates.update(
                phone_enc=reg.vault.encrypt(phone, context=f"{ctx}:phone"),
                phone_masked=mask_mobile(phone),
            )
    if not updates:
        return worker_out(worker)
    new = worker.model_copy(update=updates)
    changed = sorted({k.removesuffix("_enc").removesuffix("_masked") for k in updates})
    event = ev.SocialWorkerDetailsChanged(
        worker_id=worker_id, region_code=worker.region_code, changed=changed
    )
    await reg.store.social_workers.save_model(worker_id, version, new, [event])
    return worker_out(new)


@router.post(
    "/social-workers/{worker_id}/certification",
    response_model=SocialWorkerOut,
    tags=["social workers"],
)
async def certify_social_worker(
    worker_id: str, body: CertificationIn, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    worker, version = await _visible_worker(reg, who, worker_id)
    new, events = domain.certify(worker, body.certification, body.general_practice)
    await reg.store.social_workers.save_model(worker_id, version, new, events)
    return worker_out(new)


@router.post(
    "/social-workers/{worker_id}/assignments",
    response_model=SocialWorkerOut,
    tags=["social workers"],
)
async def assign_social_worker(
    worker_id: str, body: AssignmentIn, reg: Reg, who: CurrentPrincipal
) -> SocialWorkerOut:
    worker, version = await _visible_worker(reg, who, worker_id)
    station, _ = await visible_station(reg, who, body.station_id)
    try:
        new, events = domain.assign(worker, station, body.from_date)
    except DomainError as exc:
        raise domain_error(exc) from None
    await reg.store.social_workers.save_model(worker_id, version, new, events)
    return worker_out(new)


# --------------------------------------------------------------------------- programmes


class ProgrammeIn(Strict):
    programme_id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{2,40}$",
        description="a stable slug, e.g. blue-vest-jiangxi-2022",
    )
    name: str = Field(min_length=1, max_length=200)
    funder_org_id: str | None = Field(None, max_length=64)
    scope_regions: list[str] = Field(min_length=1, max_length=100)
    start_date: date
    end_date: date
    total_targets: ev.Targets
    station_targets: ev.Targets = ev.Targets()


class EnrolmentIn(Strict):
    station_ids: list[str] = Field(min_length=1, max_length=5000)
    enrolled_on: date
    targets: Literal["default", "split_total"] = Field(
        "default", description="the per-station default, or the total split exactly"
    )


class WithdrawalIn(Strict):
    withdrawn_on: date
    reason: str = Field(min_length=1, max_length=500)


class ProgrammeOut(BaseModel):
    programme_id: str
    name: str
    funder_org_id: str | None
    region_code: str
    scope_regions: list[str]
    start_date: date
    end_date: date
    total_targets: ev.Targets
    station_targets: ev.Targets
    enrolled_stations: int
    enrolled_targets: ev.Targets = Field(description="the sum of enrolled stations' targets")
    version: int


def programme_out(p: domain.Programme, version: int) -> ProgrammeOut:
    return ProgrammeOut(
        **p.model_dump(exclude={"enrolments"}),
        enrolled_stations=len(p.enrolled()),
        enrolled_targets=domain.enrolled_targets(p),
        version=version,
    )


@router.post("/programmes", response_model=ProgrammeOut, status_code=201, tags=["programmes"])
async def create_programme(body: ProgrammeIn, reg: Reg, who: CurrentPrincipal) -> ProgrammeOut:
    scope = [
        await scoped_region(reg, who, code, f"scope_regions[{i}]")
        for i, code in enumerate(body.scope_regions)
    ]
    if body.funder_org_id:
        funder, _ = await reg.store.organisations.load_model(
            body.funder_org_id, domain.Organisation
        )
        if funder is None:
            raise domain_error(DomainError("funder_org_id", "unknown organisation"))
    try:
        programme, event = domain.create_programme(
            programme_id=body.programme_id,
            name=body.name,
            funder_org_id=body.funder_org_id,
            scope=scope,
            start_date=body.start_date,
            end_date=body.end_date,
            total_targets=body.total_targets,
            station_targets=body.station_targets,
        )
    except DomainError as exc:
        raise domain_error(exc) from None
    try:
        commit = await reg.store.programmes.append(
            programme.programme_id, 0, [event], programme.model_dump(mode="json")
        )
    except ConcurrencyError:
        raise HTTPException(
            409,
            detail=[
                {
                    "loc": ["body", "programme_id"],
                    "type": "duplicate",
                    "msg": f"{programme.programme_id} exists",
                }
            ],
        ) from None
    return programme_out(programme, commit.version)


async def _visible_programme(
    reg: Registry, who: Principal, programme_id: str
) -> tuple[domain.Programme, int]:
    programme, version = await reg.store.programmes.load_model(programme_id, domain.Programme)
    overlaps = programme is not None and any(
        who.region_scope.startswith(r) or r.startswith(who.region_scope)
        for r in programme.scope_regions
    )
    if programme is None or not overlaps:
        raise HTTPException(404, f"programme {programme_id} not found")
    return programme, version


class ProgrammePage(BaseModel):
    items: list[ProgrammeOut]
    total: int


@router.get("/programmes", response_model=ProgrammePage, tags=["programmes"])
async def list_programmes(reg: Reg, who: CurrentPrincipal) -> ProgrammePage:
    """Programmes whose regions overlap the caller's scope."""
    province = who.region_scope[:2]
    items, _ = await reg.store.list_in(
        reg.store.programmes, domain.Programme, within=province, filters={}, limit=500, offset=0
    )
    visible = [
        p
        for p in items
        if any(
            who.region_scope.startswith(r) or r.startswith(who.region_scope)
            for r in p.scope_regions
        )
    ]
    return ProgrammePage(items=[programme_out(p, 0) for p in visible], total=len(visible))


@router.get("/programmes/{programme_id}", response_model=ProgrammeOut, tags=["programmes"])
async def get_programme(programme_id: str, reg: Reg, who: CurrentPrincipal) -> ProgrammeOut:
    return programme_out(*await _visible_programme(reg, who, programme_id))


class ProgrammePatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    end_date: date | None = None
    total_targets: ev.Targets | None = None
    station_targets: ev.Targets | None = None


@router.patch("/programmes/{programme_id}", response_model=ProgrammeOut, tags=["programmes"])
async def update_programme(
    programme_id: str, body: ProgrammePatch, reg: Reg, who: CurrentPrincipal
) -> ProgrammeOut:
    programme, version = await _visible_programme(reg, who, programme_id)
    try:
        new, events = domain.update_programme(programme, **body.model_dump(exclude_unset=True))
    except DomainError as exc:
        raise domain_error(exc) from None
    return programme_out(
        new, await reg.store.programmes.save_model(programme_id, version, new, events)
    )


@router.post(
    "/programmes/{programme_id}/enrolments", response_model=ProgrammeOut, tags=["programmes"]
)
async def enrol_stations(
    programme_id: str, body: EnrolmentIn, reg: Reg, who: CurrentPrincipal
) -> ProgrammeOut:
    programme, version = await _visible_programme(reg, who, programme_id)
    stations = []
    for i, sid in enumerate(body.station_ids):
        station, _ = await reg.store.load_station(sid)
        if station is None or not who.can_see(station.region_code):
            raise domain_error(DomainError(f"station_ids[{i}]", f"no station {sid}"))
        stations.append(station)
    targets = (
        domain.split_total(programme.total_targets, len(stations))
        if body.targets == "split_total"
        else None
    )
    try:
        new, events = domain.enrol(programme, stations, on=body.enrolled_on, targets=targets)
    except DomainError as exc:
        raise domain_error(exc) from None
    return programme_out(
        new, await reg.store.programmes.save_model(programme_id, version, new, events)
    )


@router.post(
    "/programmes/{programme_id}/enrolments/{station_id}/withdrawal",
    response_model=ProgrammeOut,
    tags=["programmes"],
)
async def withdraw_station(
    programme_id: str, station_id: str, body: WithdrawalIn, reg: Reg, who: CurrentPrincipal
) -> ProgrammeOut:
    programme, version = await _visible_programme(reg, who, programme_id)
    try:
        new, events = domain.withdraw(
            programme, station_id, on=body.withdrawn_on, reason=body.reason
        )
    except DomainError as exc:
        raise domain_error(exc) from None
    return programme_out(
        new, await reg.store.programmes.save_model(programme_id, version, new, events)
    )
