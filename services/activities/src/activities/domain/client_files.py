"""Client files (个案档案): a client's identity and consent, the services given, the closure.
Personal data reaches these rules as plain text only to be checked and masked; what is kept
is sealed by the caller (the service's vault) before it is stored."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel

from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.errors import Conflict, DomainError, valid
from wushe.validators import (
    age_on,
    check_mobile,
    check_resident_id,
    mask_mobile,
    mask_resident_id,
    resident_id_birth_date,
)

HouseholdCategory = Literal[
    "low_income",
    "five_guarantees",
    "disability",
    "left_behind_child",
    "empty_nest_elder",
    "children_in_difficulty",
    "other",
]


class ClientIdentity(BaseModel):
    name: str
    id_number: str
    phone: str | None
    birth_date: date
    age: int


def check_client(
    *,
    name: str,
    id_number: str,
    phone: str | None,
    today: date,
    consent_on: date | None,
    guardian_name: str | None,
    guardian_consent_on: date | None,
) -> ClientIdentity:
    """Identity and consent rules (PIPL Art. 29 separate consent, Art. 31 guardians)."""
    if not name.strip() or len(name.strip()) > 40:
        raise DomainError("name", "1 to 40 characters")
    id_number = valid("id_number", check_resident_id, id_number, today=today)
    if phone is not None:
        phone = valid("phone", check_mobile, phone)
    birth = resident_id_birth_date(id_number)
    age = age_on(birth, today)
    if age < 14:
        if not guardian_name or guardian_consent_on is None:
            raise DomainError(
                "guardian_consent_on",
                f"the client is {age}: a guardian's consent is required under 14",
            )
        if guardian_consent_on > today:
            raise DomainError("guardian_consent_on", "must not be in the future")
    elif consent_on is None:
        raise DomainError("consent_on", "the client's separate consent is required")
    elif consent_on > today:
        raise DomainError("consent_on", "must not be in the future")
    return ClientIdentity(
        name=name.strip(), id_number=id_number, phone=phone, birth_date=birth, age=age
    )


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
    # The social worker (token subject) whose client this is: the only one who may read the
    # client's full identity (None: nobody, until a file is opened again with one).
    case_worker: str | None = None


class Opening(NamedTuple):
    """A file's opening as decided before it is written: its id, day, client and worker."""

    file_id: str
    opened_on: date
    identity: ClientIdentity
    case_worker: str | None


# The opening's fields sealed beside the identity (`sealed_identity`).
CONSENT = {"categories", "consent_on", "guardian_name", "guardian_relation", "guardian_consent_on"}


def sealed_identity(
    identity: ClientIdentity,
    *,
    categories: list[str],
    consent_on: date | None,
    guardian_name: str | None,
    guardian_relation: str | None,
    guardian_consent_on: date | None,
) -> dict[str, Any]:
    """What a file keeps sealed of its client (`ClientFile.identity_enc`, once encrypted):
    the identity, the categories, the consent and the guardian."""
    return {
        **identity.model_dump(mode="json"),
        "categories": categories,
        "guardian": {
            "name": guardian_name,
            "relation": guardian_relation,
            "consent_on": str(guardian_consent_on or ""),
        },
        "consent_on": str(consent_on or ""),
    }


def identify_client(*, opened_on: date, today: date, **client: Any) -> ClientIdentity:
    """The client of a file opened on `opened_on` (their age is the age on that day);
    `client`: the rest of `check_client`'s arguments."""
    if opened_on > today:
        raise DomainError("opened_on", "must not be in the future")
    return check_client(today=opened_on, **client)


def open_file(
    existing: ClientFile | None,
    *,
    file_id: str,
    station_id: str,
    region_code: str,
    opened_on: date,
    identity: ClientIdentity,
    identity_enc: str,
    case_worker: str | None = None,
) -> tuple[ClientFile, Event]:
    """One open file per person in this service (the id is a keyed hash of the ID number);
    a closed one may be opened again. `case_worker`: the social worker the client is
    assigned to (the event does not name them)."""
    if existing is not None and existing.status == "open":
        raise Conflict("id_number", "this client already has an open file")
    file = ClientFile(
        file_id=file_id,
        station_id=station_id,
        region_code=region_code,
        status="open",
        opened_on=opened_on,
        identity_enc=identity_enc,
        name_masked=identity.name[:1] + "*" * max(1, len(identity.name) - 1),
        id_number_masked=mask_resident_id(identity.id_number),
        phone_masked=mask_mobile(identity.phone) if identity.phone else None,
        age_at_opening=identity.age,
        case_worker=case_worker,
    )
    return file, ev.ClientFileOpened.of(file)


class NotYourClient(DomainError):
    """A social worker asks for the full identity of a client who is not theirs (403)."""

    status = 403
    problem = ("not-your-client", "非本人负责的服务对象 (not your client)")


def case_worker_of(opener: str, opener_roles: frozenset[str], named: str | None) -> str | None:
    """Whose client a new file is: the social worker the body names, else its opener when
    the opener is a social worker (by name: an admin or an official is not), else nobody."""
    if named is not None:
        if not named.strip():
            raise DomainError("case_worker", "a social worker's subject, or leave it out")
        return named.strip()
    return opener if "social_worker" in opener_roles else None


def check_case_worker(file: ClientFile, subject: str) -> None:
    """Only the client's own social worker reads their full identity."""
    if file.case_worker is None:
        raise NotYourClient("file_id", f"{file.file_id} has no social worker assigned")
    if file.case_worker != subject:
        raise NotYourClient("file_id", f"{file.file_id} is not one of your clients")


def record_service(
    file: ClientFile,
    *,
    entry_enc: str,
    served_on: date,
    service_area: ev.ServiceArea,
    activity_id: str | None,
    activity_station_id: str | None,
    today: date,
) -> tuple[ClientFile, Event]:
    """A service given to the client, at one of the file's station's own activities if any:
    any other activity id (another station's, another province's, none) is refused alike.
    `activity_station_id` is the station of the activity named (None when there is none)."""
    if file.status != "open":
        raise Conflict("status", "the file is closed")
    if not file.opened_on <= served_on <= today:
        raise DomainError("served_on", "between the opening and today")
    if activity_id is not None and activity_station_id != file.station_id:
        raise DomainError("activity_id", f"no activity {activity_id} at {file.station_id}")
    new = file.model_copy(update={"services_enc": [*file.services_enc, entry_enc]})
    return new, ev.ClientServiceRecorded.of(
        file, served_on=served_on, service_area=service_area, activity_id=activity_id
    )


ClosureReason = Literal["goals_met", "moved_away", "deceased", "declined", "transferred", "other"]


def close_file(
    file: ClientFile, *, closed_on: date, reason_code: ClosureReason, today: date
) -> tuple[ClientFile, Event]:
    if file.status != "open":
        raise Conflict("status", "the file is already closed")
    if closed_on < file.opened_on or closed_on > today:
        raise DomainError("closed_on", "between the opening and today")
    new = file.model_copy(update={"status": "closed", "closed_on": closed_on})
    return new, ev.ClientFileClosed.of(file, closed_on=closed_on, reason_code=reason_code)
