"""Client files: open (with the client's consent), record services, close; read masked; the
client's full identity for their own social worker only, each read audited.

Whose client a file is (`case_worker`, a token subject): the social worker the opening body
names, else the opener when the opener is a social worker; a file opened again takes the
new opening's. Nobody else reads the identity: not the station's other staff, not an
official, not an `admin` (who holds every role, but is no file's case worker unless named)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from activities.api.deps import Activities, IdempotencyKey, Svc, keyed_post
from activities.domain import client_files as domain
from activities.domain.client_files import ClientFile
from wushe import commands
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.contracts.known import KnownStation
from wushe.guards import AuditReads, Purpose
from wushe.web import Strict, answer, masked, today

router = APIRouter(tags=["client files"])


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
    case_worker: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description=(
            "the social worker (token subject) whose client this is, the only one who may read "
            "the full identity; default: the opener, when a social worker"
        ),
    )


class ServiceIn(Strict):
    served_on: date
    service_area: ev.ServiceArea
    activity_id: str | None = Field(None, max_length=40)
    note: str = Field("", max_length=2000)


class ClosureIn(Strict):
    closed_on: date
    reason_code: domain.ClosureReason


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
    case_worker: str | None
    version: int


class ClientIdentityOut(BaseModel):
    """A client's full identity, as sealed in the file: for their own social worker only."""

    file_id: str
    station_id: str
    name: str
    id_number: str
    phone: str | None
    birth_date: date
    age_at_opening: int
    categories: list[str]
    consent_on: date | None
    guardian_name: str | None
    guardian_relation: str | None
    guardian_consent_on: date | None


def identity_out(f: ClientFile, secret: dict[str, Any]) -> ClientIdentityOut:
    guardian = secret.get("guardian") or {}
    return ClientIdentityOut(
        file_id=f.file_id,
        station_id=f.station_id,
        name=secret["name"],
        id_number=secret["id_number"],
        phone=secret.get("phone"),
        birth_date=secret["birth_date"],
        age_at_opening=f.age_at_opening,
        categories=secret.get("categories") or [],
        consent_on=secret.get("consent_on") or None,  # sealed as "" when not given
        guardian_name=guardian.get("name") or None,
        guardian_relation=guardian.get("relation") or None,
        guardian_consent_on=guardian.get("consent_on") or None,
    )


def file_out(saved: commands.Saved[ClientFile]) -> ClientFileOut:
    f = saved.state
    return answer(
        ClientFileOut, f, **masked(f), services=len(f.services_enc), version=saved.version
    )


@keyed_post(router, "/client-files", ClientFileOut, "an open file, a closed month (数据已锁定)")
async def open_client_file(
    body: ClientFileIn, request: Request, svc: Svc, who: CurrentPrincipal, key: IdempotencyKey
) -> Any:
    """Open a client's file (one open file per person: another opening is a 409). With an
    `Idempotency-Key`, a retry gets the first answer again (the key with another body: 422)."""
    station = await svc.store.registry.visible_station(who, body.station_id)
    # Checked before the key is claimed: a refused body does not bind it.
    identity = domain.identify_client(
        **body.model_dump(exclude={"station_id", "categories", "guardian_relation", "case_worker"}),
        today=today(),
    )
    case_worker = domain.case_worker_of(who.subject, who.roles, body.case_worker)
    file_id = "cf-" + svc.blind_index("resident_id", identity.id_number)
    secret = domain.sealed_identity(identity, **body.model_dump(include=domain.CONSENT))

    async def opened() -> ClientFileOut:
        await svc.store.registry.check_open(station.region_code, ("opened_on", body.opened_on))
        existing = await svc.store.client_file(file_id)
        opening = domain.Opening(file_id, body.opened_on, identity, case_worker)
        return file_out(await open_file_at(svc, who, station, existing, opening, secret))

    if key is None:
        return await opened()

    async def work() -> tuple[int, Any]:
        # Kept beside the key: the masked file, as answered (the identity stays sealed).
        return 201, (await opened()).model_dump(mode="json")

    scope = f"{who.subject}|{station.station_id}"
    return await svc.once(request, body, scope=scope, key=key, work=work)


async def open_file_at(
    svc: Activities,
    who: Principal,
    station: KnownStation,
    existing: tuple[ClientFile | None, int],
    opening: domain.Opening,
    secret: dict[str, Any],
) -> commands.Saved[ClientFile]:
    """A client's file opened at `station` (`existing`: the file of their id number, if any,
    and its version: a closed file is opened again on its own stream), what is known of them
    sealed."""
    file_id = opening.file_id
    return await svc.client_files.create(
        who,
        file_id,
        lambda: domain.open_file(
            existing[0],
            file_id=file_id,
            station_id=station.station_id,
            region_code=station.region_code,
            opened_on=opening.opened_on,
            identity=opening.identity,
            identity_enc=svc.seal(secret, context=f"client_file:{file_id}:identity"),
            case_worker=opening.case_worker,
        ),
        version=existing[1],
    )


@router.get("/client-files/{file_id}", response_model=ClientFileOut)
async def get_client_file(file_id: str, svc: Svc, who: CurrentPrincipal) -> ClientFileOut:
    return file_out(commands.Saved(*await svc.client_files.load(who, file_id)))


@router.get(
    "/client-files/{file_id}/identity",
    response_model=ClientIdentityOut,
    responses={
        403: {"description": "not this social worker's client (the refusal is audited too)"},
        404: {"description": "no such file in the caller's scope and stations"},
    },
)
async def read_client_identity(
    file_id: str, purpose: Purpose, svc: Svc, who: CurrentPrincipal, audit: AuditReads
) -> ClientIdentityOut:
    """The client's full identity (name, ID number, phone, categories, consent, guardian),
    decrypted, for the social worker whose client this is; `purpose` says why. Every read,
    and every refused attempt on a file in scope, is an audit record (`GET /audit`)."""
    f, _ = await svc.client_files.load(who, file_id)
    try:
        domain.check_case_worker(f, who.subject)
    except domain.NotYourClient:
        await audit.identity_read(file_id, region_code=f.region_code, purpose=purpose, status=403)
        raise
    await audit.identity_read(file_id, region_code=f.region_code, purpose=purpose)
    secret = svc.unseal(f.identity_enc, context=f"client_file:{file_id}:identity")
    return identity_out(f, secret)


@router.post("/client-files/{file_id}/services", response_model=ClientFileOut)
async def record_service(
    file_id: str, body: ServiceIn, svc: Svc, who: CurrentPrincipal
) -> ClientFileOut:
    served_at = None
    if body.activity_id is not None:
        activity, _ = await svc.store.activity(body.activity_id)
        served_at = activity.facts.station_id if activity else None
    entry = svc.seal(body.model_dump(mode="json"), context=f"client_file:{file_id}:service")

    async def decide(f: ClientFile) -> tuple[ClientFile, Event]:
        # A service dated inside a closed month of the file's county is refused (409).
        await svc.store.registry.check_open(f.region_code, ("served_on", body.served_on))
        return domain.record_service(
            f,
            **body.model_dump(exclude={"note"}),
            entry_enc=entry,
            activity_station_id=served_at,
            today=today(),
        )

    return file_out(await svc.client_files.change(who, file_id, decide))


@router.post("/client-files/{file_id}/closure", response_model=ClientFileOut)
async def close_client_file(
    file_id: str, body: ClosureIn, svc: Svc, who: CurrentPrincipal
) -> ClientFileOut:
    return file_out(
        await svc.client_files.change(
            who, file_id, lambda f: domain.close_file(f, **dict(body), today=today())
        )
    )
