"""Client files: open (with the client's consent), record services, close; read masked."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from activities.api.deps import Svc
from activities.domain import client_files as domain
from activities.domain.client_files import ClientFile
from wushe import commands
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import activities as ev
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
    version: int


def file_out(saved: commands.Saved[ClientFile]) -> ClientFileOut:
    f = saved.state
    return answer(
        ClientFileOut, f, **masked(f), services=len(f.services_enc), version=saved.version
    )


@router.post("/client-files", response_model=ClientFileOut, status_code=201)
async def open_client_file(body: ClientFileIn, svc: Svc, who: CurrentPrincipal) -> ClientFileOut:
    station = await svc.store.registry.visible_station(who, body.station_id)
    identity = domain.identify_client(
        **body.model_dump(exclude={"station_id", "categories", "guardian_relation"}), today=today()
    )
    file_id = "cf-" + svc.blind_index("resident_id", identity.id_number)
    existing, version = await svc.store.client_file(file_id)
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
    saved = await svc.client_files.create(
        who,
        file_id,
        lambda: domain.open_file(
            existing,
            file_id=file_id,
            station_id=station.station_id,
            region_code=station.region_code,
            opened_on=body.opened_on,
            identity=identity,
            identity_enc=svc.seal(secret, context=f"client_file:{file_id}:identity"),
        ),
        version=version,  # a closed file is opened again on its own stream
    )
    return file_out(saved)


@router.get("/client-files/{file_id}", response_model=ClientFileOut)
async def get_client_file(file_id: str, svc: Svc, who: CurrentPrincipal) -> ClientFileOut:
    return file_out(commands.Saved(*await svc.client_files.load(who, file_id)))


@router.post("/client-files/{file_id}/services", response_model=ClientFileOut)
async def record_service(
    file_id: str, body: ServiceIn, svc: Svc, who: CurrentPrincipal
) -> ClientFileOut:
    served_at = None
    if body.activity_id is not None:
        activity, _ = await svc.store.activity(body.activity_id)
        served_at = activity.facts.station_id if activity else None
    entry = svc.seal(body.model_dump(mode="json"), context=f"client_file:{file_id}:service")
    return file_out(
        await svc.client_files.change(
            who,
            file_id,
            lambda f: domain.record_service(
                f,
                **body.model_dump(exclude={"note"}),
                entry_enc=entry,
                activity_station_id=served_at,
                today=today(),
            ),
        )
    )


@router.post("/client-files/{file_id}/closure", response_model=ClientFileOut)
async def close_client_file(
    file_id: str, body: ClosureIn, svc: Svc, who: CurrentPrincipal
) -> ClientFileOut:
    return file_out(
        await svc.client_files.change(
            who, file_id, lambda f: domain.close_file(f, **dict(body), today=today())
        )
    )
