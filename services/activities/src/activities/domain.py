"""Pure rules of the activities service: commands in, events and new state out."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.errors import Conflict, DomainError
from wushe.validators import age_on, check_mobile, check_resident_id, resident_id_birth_date

# --------------------------------------------------------------------------- reference copy


class KnownStation(BaseModel):
    """What this service knows of a station, from registry events (never a remote call)."""

    station_id: str
    region_code: str
    status: str
    rooms: list[str] = []


class KnownProgramme(BaseModel):
    programme_id: str
    scope_regions: list[str]
    start_date: date
    end_date: date
    enrolled: list[str] = []


def check_station(station: KnownStation | None, station_id: str) -> KnownStation:
    if station is None:
        raise DomainError(
            "station_id", f"unknown station {station_id} (not known from the registry's events)"
        )
    if station.status == "closed":
        raise Conflict("station_id", f"{station_id} is closed")
    return station


def check_references(
    station: KnownStation,
    room_id: str | None,
    programmes: dict[str, KnownProgramme | None],
    on: date,
) -> None:
    if room_id is not None and room_id not in station.rooms:
        raise DomainError("room_id", f"{room_id} is not a room of {station.station_id}")
    for i, (pid, programme) in enumerate(programmes.items()):
        if programme is None:
            raise DomainError(f"programme_ids[{i}]", f"unknown programme {pid}")
        if station.station_id not in programme.enrolled:
            raise DomainError(
                f"programme_ids[{i}]", f"{station.station_id} is not enrolled in {pid}"
            )
        if not programme.start_date <= on <= programme.end_date:
            raise DomainError("activity_date", f"outside the period of {pid}")


# --------------------------------------------------------------------------- activities

Status = Literal["planned", "held", "verified", "cancelled"]


class Evidence(BaseModel):
    kind: Literal["plan", "briefing", "photo", "sign_in_sheet", "other"]
    sha256: str
    filename: str | None = None


class Activity(BaseModel):
    facts: ev.ActivityFacts
    status: Status
    place: str = ""  # free text: kept here, never on a topic
    planned_sessions: int = 0
    held_on: date | None = None
    counts: ev.Counts | None = None
    linkage: ev.Linkage = ev.Linkage()
    evidence: list[Evidence] = []
    verified: dict[str, Any] | None = None
    corrections: list[dict[str, Any]] = []
    cancel: dict[str, Any] | None = None


def _check_counts(counts: ev.Counts, linkage: ev.Linkage) -> None:
    for group, n in counts.person_times.items():
        if n < 0:
            raise DomainError(f"counts.person_times.{group}", "must not be negative")
    ids = [v.volunteer_id for v in linkage.volunteers]
    if len(set(ids)) != len(ids):
        raise DomainError("linkage.volunteers", "a volunteer is listed twice")
    if linkage.volunteers and "volunteers" not in linkage.societies:
        raise DomainError("linkage.societies", "volunteers served: list 'volunteers'")
    if linkage.organisation_ids and "community_organisations" not in linkage.societies:
        raise DomainError(
            "linkage.societies", "organisations took part: list 'community_organisations'"
        )
    if linkage.donation_ids and "charity_resources" not in linkage.societies:
        raise DomainError("linkage.societies", "donations used: list 'charity_resources'")


def plan_activity(
    facts: ev.ActivityFacts, *, planned_sessions: int, place: str = ""
) -> tuple[Activity, Event]:
    if len(set(facts.themes)) != len(facts.themes):
        raise DomainError("themes", "must not repeat")
    activity = Activity(
        facts=facts, status="planned", planned_sessions=planned_sessions, place=place.strip()
    )
    return activity, ev.ActivityPlanned(activity=facts, planned_sessions=planned_sessions)


def hold_activity(
    activity: Activity,
    *,
    held_on: date,
    counts: ev.Counts,
    linkage: ev.Linkage,
    evidence: list[Evidence],
    today: date,
) -> tuple[Activity, Event]:
    if activity.status != "planned":
        raise Conflict("status", f"only a planned activity can be held (it is {activity.status})")
    if held_on > today:
        raise DomainError("held_on", "must not be in the future")
    _check_counts(counts, linkage)
    new = activity.model_copy(
        update={
            "status": "held",
            "held_on": held_on,
            "counts": counts,
            "linkage": linkage,
            "evidence": evidence,
        }
    )
    return new, ev.ActivityHeld(
        activity=activity.facts, held_on=held_on, counts=counts, linkage=linkage
    )


def verify_activity(
    activity: Activity,
    *,
    verified_by: str,
    role: Literal["station_lead", "supervisor"],
    today: date,
) -> tuple[Activity, Event]:
    if activity.status != "held":
        raise Conflict("status", f"only a held activity can be verified (it is {activity.status})")
    if not verified_by.strip():
        raise DomainError("verified_by", "say who verified")
    new = activity.model_copy(
        update={
            "status": "verified",
            "verified": {"by": verified_by, "role": role, "on": today.isoformat()},
        }
    )
    f = activity.facts
    return new, ev.ActivityVerified(
        activity_id=f.activity_id,
        station_id=f.station_id,
        region_code=f.region_code,
        verified_by=verified_by,
        verifier_role=role,
        verified_on=today,
    )


def cancel_activity(activity: Activity, *, reason_code: Any, note: str) -> tuple[Activity, Event]:
    if activity.status in ("verified", "cancelled"):
        raise Conflict("status", f"a {activity.status} activity cannot be cancelled")
    new = activity.model_copy(
        update={"status": "cancelled", "cancel": {"reason_code": reason_code, "note": note}}
    )
    f = activity.facts
    return new, ev.ActivityCancelled(
        activity_id=f.activity_id,
        station_id=f.station_id,
        region_code=f.region_code,
        reason_code=reason_code,
    )


def correct_activity(
    activity: Activity,
    *,
    counts: ev.Counts,
    linkage: ev.Linkage | None,
    reason_code: Any,
    note: str,
) -> tuple[Activity, Event]:
    """A verified activity is never edited in place: a correction is its own event, with a
    reason (更正说明), and the views follow it."""
    if activity.status != "verified":
        raise Conflict("status", "only a verified activity is corrected; edit it before")
    if not note.strip():
        raise DomainError("note", "a correction needs its explanation (更正说明)")
    linkage = linkage or activity.linkage
    _check_counts(counts, linkage)
    assert activity.counts is not None
    if counts == activity.counts and linkage == activity.linkage:
        raise Conflict("counts", "the correction changes nothing")
    n = len(activity.corrections) + 1
    new = activity.model_copy(
        update={
            "counts": counts,
            "linkage": linkage,
            "corrections": [
                *activity.corrections,
                {
                    "no": n,
                    "reason_code": reason_code,
                    "note": note,
                    "previous": activity.counts.model_dump(),
                },
            ],
        }
    )
    f = activity.facts
    return new, ev.ActivityCorrected(
        activity_id=f.activity_id,
        station_id=f.station_id,
        region_code=f.region_code,
        correction_no=n,
        previous=activity.counts,
        counts=counts,
        linkage=linkage,
        reason_code=reason_code,
        activity_date=f.activity_date,
        service_area=f.service_area,
        programme_ids=f.programme_ids,
    )


# --------------------------------------------------------------------------- client files

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
    try:
        id_number = check_resident_id(id_number, today=today)
    except ValueError as exc:
        raise DomainError("id_number", str(exc)) from None
    if phone is not None:
        try:
            phone = check_mobile(phone)
        except ValueError as exc:
            raise DomainError("phone", str(exc)) from None
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
