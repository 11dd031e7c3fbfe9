"""Stations (社工站): registration, details, status, rooms (社工室), region history."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from registry import domain
from registry.api.deps import Reg, Registry, operator_known, within_scope
from registry.domain import Station, StationDetails
from wushe import commands
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts.events import registry as ev
from wushe.errors import Conflict
from wushe.web import Page, Paging, Strict, today

router = APIRouter(tags=["stations"])


class StationIn(Strict):
    region_code: str = Field(
        pattern=r"^\d{6}(\d{3})?$",
        description="the township/street code; a county's code registers its centre "
        "(区/县级社工总站, kind `centre`)",
    )
    name: str | None = Field(None, max_length=100)
    status: Literal["planned", "operating"] = "planned"
    opened_on: date | None = Field(
        None,
        description="开业日期: the day it opened, when registered after (backfill); not "
        "after today. Views count it from then; default: today",
    )
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


class RoomIn(Strict):
    room_region_code: str = Field(pattern=r"^\d{12}$")
    name: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="defaults to the village/community's name + 社工室",
    )
    opened_on: date | None = Field(
        None,
        description="开业日期: the day the room opened, when added after (backfill); not after "
        "today nor before the station opened. Views count it from then; default: today",
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
    opened_on: date | None = Field(description="开业日期: the day its first status began")
    version: int


class StationPage(Page):
    items: list[StationOut]


class RegionSpanOut(BaseModel):
    region_code: str
    since: date | None
    boundary_change_id: str | None


class StatusSpanOut(BaseModel):
    status: str
    since: date | None
    reason: str


class RatingOut(BaseModel):
    stars: int
    rated_on: date
    rated_by: str
    reason: str
    evaluation_id: str | None = None


class StationHistoryOut(BaseModel):
    station_id: str
    status_history: list[StatusSpanOut]
    rating_history: list[RatingOut]


class RoomOut(BaseModel):
    room_id: str
    room_region_code: str
    name: str
    village_name: str | None = Field(description="the village/community's name (村居)")
    opened_on: date | None = Field(
        None, description="开业日期, when the room was added after it opened"
    )


def station_out(s: Station, version: int) -> StationOut:
    return StationOut(
        **s.model_dump(include=set(StationOut.model_fields) - {"version", "opened_on"}),
        opened_on=domain.opening_day(s),
        version=version,
    )


async def change_station(
    reg: Registry, who: Principal, station_id: str, decide: commands.Decide[Station]
) -> StationOut:
    """A command on a station the caller can see; a concurrent writer's change is decided
    on before this one (a rating that follows an evaluation, a boundary change)."""
    saved = await reg.stations.change(who, station_id, decide, retries=4)  # five attempts
    return station_out(saved.state, saved.version)


@router.post("/stations", response_model=StationOut, status_code=201)
async def create_station(body: StationIn, reg: Reg, who: CurrentPrincipal) -> StationOut:
    commands.in_scope(who, body.region_code)
    township = (await reg.regions.tree(today())).require(body.region_code)
    operator = await operator_known(reg, who, body.operator_org_id)
    taken_by = await reg.store.station_on_township(body.region_code)
    details = StationDetails(**body.model_dump(exclude={"region_code", "status", "opened_on"}))
    saved = await reg.stations.create(
        who,
        domain.station_id_for(body.region_code),
        lambda: domain.register_station(
            township,
            details,
            status=body.status,
            today=today(),
            opened_on=body.opened_on,
            operator_known=operator,
            taken_by=taken_by,
        ),
        exists=Conflict(
            "region_code",
            f"township {body.region_code} already has station "
            f"{domain.station_id_for(body.region_code)}",
        ),
    )
    return station_out(saved.state, saved.version)


@router.get("/stations/{station_id}", response_model=StationOut)
async def get_station(station_id: str, reg: Reg, who: CurrentPrincipal) -> StationOut:
    return station_out(*await reg.stations.load(who, station_id))


@router.get("/stations", response_model=StationPage)
async def list_stations(
    reg: Reg,
    who: CurrentPrincipal,
    region: Annotated[str, Query(pattern=r"^\d{2,9}$")] | None = None,
    status_: Annotated[ev.StationStatus | None, Query(alias="status")] = None,
    kind: ev.StationKind | None = None,
    name: Annotated[str | None, Query(max_length=40)] = None,
    *,
    page: Paging,
) -> StationPage:
    within = within_scope(who, region)
    if within is None:
        return page.of(StationPage, [], 0)
    items, total = await reg.store.list_stations(
        within=within, status=status_, kind=kind, name=name, **page.bounds
    )
    return page.of(StationPage, [station_out(s, v) for s, v in items], total)


@router.patch("/stations/{station_id}", response_model=StationOut)
async def update_station(
    station_id: str, body: StationPatch, reg: Reg, who: CurrentPrincipal
) -> StationOut:
    details = StationDetails(**body.model_dump(exclude_unset=True))
    operator = await operator_known(reg, who, details.operator_org_id)
    return await change_station(
        reg, who, station_id, lambda st: domain.change_details(st, details, operator_known=operator)
    )


@router.post("/stations/{station_id}/status", response_model=StationOut)
async def change_station_status(
    station_id: str, body: StatusIn, reg: Reg, who: CurrentPrincipal
) -> StationOut:
    on = body.effective_date or today()
    return await change_station(
        reg,
        who,
        station_id,
        lambda st: domain.change_status(st, body.to, reason=body.reason, effective_date=on),
    )


@router.post("/stations/{station_id}/rooms", response_model=StationOut, status_code=201)
async def add_room(station_id: str, body: RoomIn, reg: Reg, who: CurrentPrincipal) -> StationOut:
    village = reg.villages.get(body.room_region_code)
    return await change_station(
        reg,
        who,
        station_id,
        lambda st: domain.add_room(st, **dict(body), village_name=village, today=today()),
    )


@router.get("/stations/{station_id}/region-history", response_model=list[RegionSpanOut])
async def station_region_history(
    station_id: str, reg: Reg, who: CurrentPrincipal
) -> list[RegionSpanOut]:
    station, _ = await reg.stations.load(who, station_id)
    return [RegionSpanOut(**span.model_dump()) for span in station.region_history]


@router.get("/stations/{station_id}/history", response_model=StationHistoryOut)
async def station_history(station_id: str, reg: Reg, who: CurrentPrincipal) -> StationHistoryOut:
    """The station's statuses (each since when, and why) and its star ratings (星级评定),
    oldest first."""
    station, _ = await reg.stations.load(who, station_id)
    return StationHistoryOut(
        station_id=station.station_id,
        status_history=[StatusSpanOut(**span) for span in station.status_history],
        rating_history=[RatingOut(**rating) for rating in station.rating_history],
    )


@router.get("/stations/{station_id}/rooms", response_model=list[RoomOut])
async def station_rooms(station_id: str, reg: Reg, who: CurrentPrincipal) -> list[RoomOut]:
    """The station's rooms (村居社工室), each with its village or community's name."""
    station, _ = await reg.stations.load(who, station_id)
    return [
        RoomOut(**room, village_name=reg.villages.get(room["room_region_code"]))
        for room in station.rooms
    ]
