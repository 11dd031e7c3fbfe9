"""Volunteers: real-name registration (one by one or in bulk), the record as the caller may
see it (personal data masked), moves between stations, deregistration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from volunteers.api.deps import Svc, Volunteers
from volunteers.domain import affiliation
from volunteers.domain import volunteers as rules
from volunteers.domain.volunteers import Skill, Volunteer
from wushe import imports
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.store import ConcurrencyError
from wushe.validators import age_on, resident_id_birth_date
from wushe.web import Page, Paging, Strict, answer, fields, masked, today

router = APIRouter(tags=["volunteers"])


class VolunteerIn(Strict):
    name: str = Field(min_length=1, max_length=40)
    id_number: str = Field(min_length=18, max_length=18, description="居民身份证号码")
    phone: str | None = Field(None, max_length=20)
    station_id: str = Field(max_length=40)
    skills: list[Skill] = Field(default_factory=list, max_length=11)
    guardian_consent: bool = Field(False, description="required under 18 (监护人同意)")
    registered_on: date | None = None


# What a registration says of the person (checked before anything is kept).
IDENTITY = {"name", "id_number", "phone", "guardian_consent"}


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


class VolunteerPage(Page):
    items: list[VolunteerOut]


class MoveIn(Strict):
    station_id: str = Field(max_length=40)
    moved_on: date


class DeregisterIn(Strict):
    deregistered_on: date
    reason_code: Literal["own_request", "moved_away", "deceased", "duplicate", "other"]


def volunteer_out(svc: Volunteers, v: Volunteer, version: int) -> VolunteerOut:
    id_number = svc.reveal(v.volunteer_id, "id_number", v.id_number_enc)
    age = age_on(resident_id_birth_date(id_number), today())
    return answer(
        VolunteerOut,
        v,
        **masked(v),
        age=age,
        age_band=rules.age_band(age),
        elder_volunteer=age >= rules.ELDER_AGE,
        backbone=[BackboneOut(**b.model_dump()) for b in v.backbone.values()],
        version=version,
    )


async def change_on(
    svc: Volunteers,
    who: Principal,
    volunteer_id: str,
    rule: Callable[..., tuple[Volunteer, Event | Sequence[Event]]],
    body: BaseModel,
    on: str,
    **given: Any,
) -> VolunteerOut:
    """`rule` on the volunteer, with `given` and the body's fields (its field `on`, the day
    the change happened, as `on`); refused (409) when that day lies inside a closed month of
    the volunteer's county."""
    decide = partial(rule, **given, **fields(body, on=on), today=today())

    async def checked(v: Volunteer) -> tuple[Volunteer, Event | Sequence[Event]]:
        await svc.store.registry.check_open(v.region_code, (on, getattr(body, on)))
        return decide(v)

    saved = await svc.volunteers.change(who, volunteer_id, checked)
    return volunteer_out(svc, saved.state, saved.version)


async def register(
    svc: Volunteers, who: Principal, body: VolunteerIn
) -> tuple[Volunteer, int, bool]:
    """Register, or (same person, same station) report the existing record: the volunteer,
    its version, and whether it was created now."""
    station = await svc.store.registry.visible_station(who, body.station_id, "station_id")
    on = body.registered_on or today()
    person = rules.check_registration(**body.model_dump(include=IDENTITY), on=on, today=today())
    vid = svc.volunteer_id(person.id_number)
    # Insert first: the first version's commit id is the uniqueness check. Looking the
    # person up first would miss for every new volunteer, and a miss scans on FerretDB.
    # Inside a closed month only the person's existing record is answered (registering
    # again changes nothing); a new registration there is refused.
    if await svc.store.registry.closed_month(station.region_code, on) is None:
        try:
            saved = await svc.volunteers.create(
                who,
                vid,
                lambda: rules.register(
                    vid,
                    station,
                    person,
                    on=on,
                    skills=body.skills,
                    guardian_consent=body.guardian_consent,
                    seal=svc.seal(vid),
                ),
            )
            return saved.state, saved.version, True
        except ConcurrencyError:
            pass
    existing, version = await svc.store.volunteer(vid)
    if existing is None:
        await svc.store.registry.check_open(station.region_code, ("registered_on", on))
    visible = existing is not None and who.can_see(existing.region_code)
    return rules.registered_again(existing, station, visible=visible), version, False


@router.post("/volunteers", response_model=VolunteerOut, status_code=201)
async def register_volunteer(body: VolunteerIn, svc: Svc, who: CurrentPrincipal) -> VolunteerOut:
    return volunteer_out(svc, *(await register(svc, who, body))[:2])


def _normalise(rec: dict[str, Any]) -> dict[str, Any]:
    """A spreadsheet row as the JSON body: skills split on ';', numbers read as text."""
    out = imports.clean(rec)
    if isinstance(out.get("skills"), str):
        out["skills"] = [s.strip() for s in out["skills"].split(";") if s.strip()]
    for key in ("id_number", "phone"):
        if key in out:
            out[key] = str(out[key])
    return out


@router.post(
    "/imports/volunteers", response_model=imports.ImportReport, openapi_extra=imports.UPLOAD_BODY
)
async def import_volunteers(
    request: Request, svc: Svc, who: CurrentPrincipal
) -> imports.ImportReport:
    """Bulk registration (CSV, NDJSON or XLSX; columns as the JSON body, skills split on
    ';'). A person already registered at the same station is `unchanged`; a bad row is
    reported by row and field and the others are registered."""
    rows = await imports.upload(
        request,
        model=VolunteerIn,
        max_bytes=svc.import_max_bytes,
        max_rows=50_000,
        normalise=_normalise,
    )

    async def one(row: imports.Row) -> str:
        _, _, created = await register(svc, who, row.value)
        return "created" if created else "unchanged"

    return await imports.apply(rows, one)


@router.get("/volunteers", response_model=VolunteerPage)
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
    *,
    page: Paging,
) -> VolunteerPage:
    rows, total = await svc.store.list_volunteers(
        within=who.region_scope,
        station_id=station_id,
        status=status,
        backbone_for=backbone_for,
        **page.bounds,
    )
    return page.of(VolunteerPage, [volunteer_out(svc, v, n) for v, n in rows], total)


@router.get("/volunteers/{volunteer_id}", response_model=VolunteerOut)
async def get_volunteer(volunteer_id: str, svc: Svc, who: CurrentPrincipal) -> VolunteerOut:
    return volunteer_out(svc, *await svc.volunteers.load(who, volunteer_id))


@router.post("/volunteers/{volunteer_id}/move", response_model=VolunteerOut)
async def move_volunteer(
    volunteer_id: str, body: MoveIn, svc: Svc, who: CurrentPrincipal
) -> VolunteerOut:
    day = today()

    async def move(v: Volunteer) -> tuple[Volunteer, list[Event]]:
        # The station is checked once the volunteer is known to be visible: a missing or
        # another province's volunteer is a 404 whatever station the body names.
        station = await svc.store.registry.visible_station(who, body.station_id, "station_id")
        for region in (v.region_code, station.region_code):  # the month of both stations
            await svc.store.registry.check_open(region, ("moved_on", body.moved_on))
        return affiliation.move(v, station, on=body.moved_on, today=day)

    saved = await svc.volunteers.change(who, volunteer_id, move)
    return volunteer_out(svc, saved.state, saved.version)


@router.post("/volunteers/{volunteer_id}/deregister", response_model=VolunteerOut)
async def deregister_volunteer(
    volunteer_id: str, body: DeregisterIn, svc: Svc, who: CurrentPrincipal
) -> VolunteerOut:
    return await change_on(svc, who, volunteer_id, affiliation.deregister, body, "deregistered_on")
