"""Social workers (社会工作者): registered once per person, certified, assigned to a station.
Personal fields are kept sealed (ciphertext bound to the worker and field) and masked; the
events carry none of them."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from pydantic import BaseModel

from registry.domain.stations import Station, check_not_future
from wushe.contracts import Event
from wushe.contracts.events import registry as ev
from wushe.errors import Conflict, DomainError, valid
from wushe.validators import (
    check_mobile,
    check_resident_id,
    mask_mobile,
    mask_name,
    mask_resident_id,
)


class Sealer(Protocol):
    """What seals personal fields (`wushe.pii.Vault`): keyed, so kept outside the rules."""

    def encrypt(self, value: str, *, context: str) -> str: ...

    def decrypt(self, token: str, *, context: str) -> str: ...

    def blind_index(self, kind: str, value: str) -> str: ...


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
    id_number = valid("id_number", check_resident_id, id_number)
    if phone is not None:
        phone = valid("phone", check_mobile, phone)
    return name.strip(), id_number, phone


def worker_id_for(id_number: str, vault: Sealer) -> str:
    """A keyed hash of the (checked) ID number: pseudonymous, and one worker per person."""
    return "sw-" + vault.blind_index("resident_id", id_number)[:20]


def register_worker(
    *,
    name: str,
    id_number: str,
    phone: str | None,
    region_code: str,
    certification: ev.Certification,
    general_practice: bool,
    vault: Sealer,
) -> tuple[SocialWorker, Event]:
    name, id_number, phone = check_worker_identity(name=name, id_number=id_number, phone=phone)
    worker_id = worker_id_for(id_number, vault)
    ctx = f"social_worker:{worker_id}"
    worker = SocialWorker(
        worker_id=worker_id,
        region_code=region_code,
        certification=certification,
        general_practice=general_practice,
        name_enc=vault.encrypt(name, context=f"{ctx}:name"),
        name_masked=mask_name(name),
        phone_enc=vault.encrypt(phone, context=f"{ctx}:phone") if phone else None,
        phone_masked=mask_mobile(phone) if phone else None,
        id_number_enc=vault.encrypt(id_number, context=f"{ctx}:id_number"),
        id_number_masked=mask_resident_id(id_number),
        birth_year=int(id_number[6:10]),
    )
    return worker, ev.SocialWorkerRegistered.of(worker)


def change_contact(
    worker: SocialWorker, *, name: str | None, phone: str | None, vault: Sealer
) -> tuple[SocialWorker, list[Event]]:
    """A new name or phone: stored sealed, announced without the values."""
    ctx = f"social_worker:{worker.worker_id}"
    updates: dict[str, Any] = {}
    if name is not None and name.strip() != vault.decrypt(worker.name_enc, context=f"{ctx}:name"):
        updates.update(
            name_enc=vault.encrypt(name.strip(), context=f"{ctx}:name"),
            name_masked=mask_name(name),
        )
    if phone is not None:
        phone = valid("phone", check_mobile, phone)
        current = (
            vault.decrypt(worker.phone_enc, context=f"{ctx}:phone") if worker.phone_enc else None
        )
        if phone != current:
            updates.update(
                phone_enc=vault.encrypt(phone, context=f"{ctx}:phone"),
                phone_masked=mask_mobile(phone),
            )
    if not updates:
        return worker, []
    changed = sorted({k.removesuffix("_enc").removesuffix("_masked") for k in updates})
    return worker.model_copy(update=updates), [
        ev.SocialWorkerDetailsChanged.of(worker, changed=changed)
    ]


def certify(
    worker: SocialWorker, certification: ev.Certification, general_practice: bool
) -> tuple[SocialWorker, list[Event]]:
    if (worker.certification, worker.general_practice) == (certification, general_practice):
        return worker, []
    new = worker.model_copy(
        update={"certification": certification, "general_practice": general_practice}
    )
    return new, [
        ev.SocialWorkerCertified.of(
            new,
            previous_certification=worker.certification,
            previous_general_practice=worker.general_practice,
        )
    ]


def assign(
    worker: SocialWorker, station: Station, from_date: date, *, today: date
) -> tuple[SocialWorker, list[Event]]:
    """To a station from a day (驻站日期), which may lie in the past (backfill), never ahead."""
    if station.status == "closed":
        raise Conflict("station_id", f"{station.station_id} is closed")
    if worker.station_id == station.station_id:
        return worker, []
    check_not_future(from_date, today, "from_date")
    current = worker.assignments[-1] if worker.assignments else None
    if current and date.fromisoformat(current["from"]) > from_date:
        raise DomainError("from_date", "must not be before the current assignment began")
    history = [
        *worker.assignments,
        {
            "station_id": station.station_id,
            "from": from_date.isoformat(),
            "region_code": station.region_code,
        },
    ]
    new = worker.model_copy(update={"station_id": station.station_id, "assignments": history})
    return new, [
        ev.SocialWorkerAssigned.of(
            new,
            region_code=station.region_code,
            from_date=from_date,
            previous_station_id=worker.station_id,
            # Older assignments did not keep their region: the view cannot move those.
            previous_region_code=current.get("region_code") if current else None,
        )
    ]
