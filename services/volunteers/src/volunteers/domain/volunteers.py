"""Volunteers: real-name registration (实名注册) and the volunteer record every other rule
reads. Personal data is sealed by the caller (`seal`: the service's vault) and kept only
encrypted and masked: never in events or logs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from wushe.contracts.events import volunteers as ev
from wushe.contracts.known import KnownStation
from wushe.errors import Conflict, DomainError, valid
from wushe.validators import (
    age_on,
    check_mobile,
    check_resident_id,
    mask_mobile,
    mask_name,
    mask_resident_id,
    resident_id_birth_date,
)

ELDER_AGE = 60
MIN_AGE = 8  # younger children serve only alongside a guardian, not as registered volunteers
ADULT_AGE = 18
Skill = Literal[
    "elder_care",
    "child_care",
    "medical",
    "psychological",
    "legal",
    "digital",
    "anti_fraud",
    "cooking",
    "repair",
    "culture",
    "other",
]
# (field, clear text) -> cipher text: the vault, bound to one volunteer.
Seal = Callable[[str, str], str]


class BackboneStatus(BaseModel):
    programme_id: str | None
    since: date
    reason_code: str


class Volunteer(BaseModel):
    volunteer_id: str
    station_id: str
    region_code: str
    status: Literal["active", "deregistered"] = "active"
    registered_on: date
    age_band: ev.AgeBand
    elder_volunteer: bool
    guardian_consent: bool = False
    skills: list[str] = []
    # Personal data: encrypted (wushe.pii.Vault) and masked copies; never in events or logs.
    name_enc: str
    name_masked: str
    id_number_enc: str
    id_number_masked: str
    phone_enc: str | None = None
    phone_masked: str | None = None
    backbone: dict[str, BackboneStatus] = {}  # by programme id, "general" for none
    history: list[dict[str, Any]] = []


def age_band(age: int) -> ev.AgeBand:
    if age < ADULT_AGE:
        return "under_18"
    if age < 35:
        return "18_34"
    if age < ELDER_AGE:
        return "35_59"
    return "60_plus"


class Identity(BaseModel):
    name: str
    id_number: str
    phone: str | None
    birth_date: date
    age: int


def check_identity(
    *, name: str, id_number: str, phone: str | None, guardian_consent: bool, on: date
) -> Identity:
    """Real-name registration (实名注册): a valid ID number, an age the rules allow."""
    name = name.strip()
    if not name or len(name) > 40:
        raise DomainError("name", "1 to 40 characters")
    id_number = valid("id_number", check_resident_id, id_number, today=on)
    birth = resident_id_birth_date(id_number)
    age = age_on(birth, on)
    if age < MIN_AGE:
        raise DomainError("id_number", f"volunteers must be at least {MIN_AGE} years old")
    if age < ADULT_AGE and not guardian_consent:
        raise DomainError(
            "guardian_consent", "a volunteer under 18 needs a guardian's consent (监护人同意)"
        )
    if phone is not None:
        phone = valid("phone", check_mobile, phone)
    return Identity(name=name, id_number=id_number, phone=phone, birth_date=birth, age=age)


def check_registration(
    *,
    name: str,
    id_number: str,
    phone: str | None,
    guardian_consent: bool,
    on: date,
    today: date,
) -> Identity:
    """The registration day (never in the future), then the person."""
    check_day(on, today, "registered_on")
    return check_identity(
        name=name, id_number=id_number, phone=phone, guardian_consent=guardian_consent, on=on
    )


def register(
    volunteer_id: str,
    station: KnownStation,
    person: Identity,
    *,
    on: date,
    skills: list[Skill],
    guardian_consent: bool,
    seal: Seal,
) -> tuple[Volunteer, ev.VolunteerRegistered]:
    """The new record: personal data sealed and masked, never in the event."""
    v = Volunteer(
        volunteer_id=volunteer_id,
        **station.place,
        registered_on=on,
        age_band=age_band(person.age),
        elder_volunteer=person.age >= ELDER_AGE,
        guardian_consent=guardian_consent,
        skills=sorted(set(skills)),
        name_enc=seal("name", person.name),
        name_masked=mask_name(person.name),
        id_number_enc=seal("id_number", person.id_number),
        id_number_masked=mask_resident_id(person.id_number),
        phone_enc=seal("phone", person.phone) if person.phone else None,
        phone_masked=mask_mobile(person.phone) if person.phone else None,
    )
    return v, register_event(v)


def register_event(v: Volunteer) -> ev.VolunteerRegistered:
    return ev.VolunteerRegistered.of(v)


def registered_again(
    existing: Volunteer | None, station: KnownStation, *, visible: bool
) -> Volunteer:
    """The same person registered again: at the same station (in the caller's scope) the
    record is reported; anywhere else refused (a move is the way to another station)."""
    if existing is None or not visible or existing.station_id != station.station_id:
        raise Conflict(
            "id_number", "this person is already registered as a volunteer (move them instead)"
        )
    return existing


def active(v: Volunteer) -> None:
    if v.status != "active":
        raise Conflict("volunteer_id", f"{v.volunteer_id} is deregistered")


def check_day(on: date, today: date, field: str) -> None:
    if on > today:
        raise DomainError(field, "must not be in the future")
