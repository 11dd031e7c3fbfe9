"""Activities (服务活动): planned, held, verified, cancelled, corrected; the references an
activity names (station, room, programmes) checked against the registry's events."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.contracts.known import KnownProgramme, KnownStation
from wushe.errors import Conflict, DomainError, DutiesSeparated

Status = Literal["planned", "held", "verified", "cancelled"]
# The office of the official who verifies (from their token's roles, never from a body).
Office = Literal["county_officer", "city_officer", "province_officer"]


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
    participants: dict[str, list[str]] = {}  # pseudonyms by group (ev.ActivityHeld)
    evidence: list[Evidence] = []
    verified: dict[str, Any] | None = None
    corrections: list[dict[str, Any]] = []
    # Corrections into a closed month, waiting for approval (domain/corrections.py).
    pending_corrections: list[dict[str, Any]] = []
    cancel: dict[str, Any] | None = None
    # The token subjects who recorded it (planned it, recorded it held): none of them may
    # verify it. None on activities stored before they were kept.
    recorded_by: str | None = None
    held_by: str | None = None


def recorders(activity: Activity) -> set[str]:
    """Who recorded the activity: the subjects who may not verify it."""
    return {s for s in (activity.recorded_by, activity.held_by) if s}


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


def _check_participants(counts: ev.Counts, participants: dict[str, list[str]]) -> None:
    """Each person at most once per group, and no more persons than person-times."""
    for group, ids in participants.items():
        if len(set(ids)) != len(ids):
            raise DomainError(f"participants.{group}", "a person is listed twice")
        if len(ids) > counts.person_times.get(group, 0):  # type: ignore[call-overload]
            raise DomainError(
                f"participants.{group}",
                f"{len(ids)} persons listed, more than the group's person-times "
                f"({counts.person_times.get(group, 0)})",  # type: ignore[call-overload]
            )


def plan_activity(
    facts: ev.ActivityFacts,
    *,
    planned_sessions: int,
    place: str = "",
    recorded_by: str | None = None,
) -> tuple[Activity, Event]:
    if len(set(facts.themes)) != len(facts.themes):
        raise DomainError("themes", "must not repeat")
    activity = Activity(
        facts=facts,
        status="planned",
        planned_sessions=planned_sessions,
        place=place.strip(),
        recorded_by=recorded_by,
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
    held_by: str | None = None,
    participants: dict[str, list[str]] | None = None,
) -> tuple[Activity, Event]:
    """`participants`: who was served, by group, already pseudonymous (the API turns each
    person's reference into its province's pseudonym)."""
    if activity.status != "planned":
        raise Conflict("status", f"only a planned activity can be held (it is {activity.status})")
    if held_on > today:
        raise DomainError("held_on", "must not be in the future")
    _check_counts(counts, linkage)
    served = {g: ids for g, ids in sorted((participants or {}).items()) if ids}
    _check_participants(counts, served)
    held: dict[str, Any] = {
        "held_on": held_on,
        "counts": counts,
        "linkage": linkage,
        "participants": served,
    }
    new = activity.model_copy(
        update={"status": "held", "evidence": evidence, "held_by": held_by, **held}
    )
    return new, ev.ActivityHeld(activity=activity.facts, **held)


def verify_activity(
    activity: Activity, *, verified_by: str, office: Office, today: date
) -> tuple[Activity, Event]:
    """An official certifies a held activity (谁组织谁记录, the county verifies):
    `verified_by` is their token subject, `office` what their token's roles make them; whoever
    recorded the activity may not verify it (separation of duties)."""
    if activity.status != "held":
        raise Conflict("status", f"only a held activity can be verified (it is {activity.status})")
    if not verified_by.strip():
        raise DomainError("verified_by", "say who verified")
    if verified_by in recorders(activity):
        raise DutiesSeparated(
            "verified_by",
            f"{verified_by} recorded activity {activity.facts.activity_id}: "
            "whoever records an activity may not verify it",
        )
    new = activity.model_copy(
        update={
            "status": "verified",
            "verified": {"by": verified_by, "role": office, "on": today.isoformat()},
        }
    )
    return new, ev.ActivityVerified.of(
        activity.facts,
        verified_by=verified_by,
        verifier_role="supervisor",  # v1's word for a verifier above the station
        verifier_office=office,
        verified_on=today,
    )


def cancel_activity(activity: Activity, *, reason_code: Any, note: str) -> tuple[Activity, Event]:
    if activity.status in ("verified", "cancelled"):
        raise Conflict("status", f"a {activity.status} activity cannot be cancelled")
    new = activity.model_copy(
        update={"status": "cancelled", "cancel": {"reason_code": reason_code, "note": note}}
    )
    return new, ev.ActivityCancelled.of(activity.facts, reason_code=reason_code)


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
    fix = dict(no=n, reason_code=reason_code, note=note, previous=activity.counts.model_dump())
    new = activity.model_copy(
        update={"counts": counts, "linkage": linkage, "corrections": [*activity.corrections, fix]}
    )
    return new, ev.ActivityCorrected.of(
        activity.facts,
        correction_no=n,
        previous=activity.counts,
        counts=counts,
        linkage=linkage,
        reason_code=reason_code,
        previous_donation_ids=activity.linkage.donation_ids,
    )


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


def record_id(prefix: str, station_id: str, external_ref: str | None) -> str:
    """A station's record's id: with the caller's own reference known in advance (the same
    ref at the same station, the same record); without one, a new id."""
    if external_ref:
        digest = hashlib.sha256(f"{station_id}|{external_ref}".encode()).hexdigest()[:20]
        return f"{prefix}{digest}"
    return f"{prefix}{uuid.uuid4().hex[:20]}"


def activity_id_for(station_id: str, external_ref: str | None) -> str:
    return record_id("act-", station_id, external_ref)


# What a request (a route's body, a ledger's row) says of an activity itself.
GIVEN = {"room_id", "programme_ids", "service_area", "kind", "themes", "activity_date"}


def facts_at(station: KnownStation, activity_id: str, given: BaseModel) -> ev.ActivityFacts:
    """The activity's facts: its id, its station's place and what the request gives."""
    return ev.ActivityFacts(
        activity_id=activity_id,
        station_id=station.station_id,
        region_code=station.region_code,
        **given.model_dump(include=GIVEN),
    )


def plan_at(
    station: KnownStation,
    programmes: dict[str, KnownProgramme | None],
    facts: ev.ActivityFacts,
    *,
    planned_sessions: int,
    place: str = "",
    recorded_by: str | None = None,
) -> tuple[Activity, Event]:
    """Plan an activity whose station, room and programmes are checked first."""
    check_references(station, facts.room_id, programmes, facts.activity_date)
    return plan_activity(
        facts, planned_sessions=planned_sessions, place=place, recorded_by=recorded_by
    )


def import_activity(
    station: KnownStation,
    programmes: dict[str, KnownProgramme | None],
    facts: ev.ActivityFacts,
    *,
    held_on: date | None,
    counts: ev.Counts | None,
    societies: list[ev.Society],
    today: date,
    recorded_by: str | None = None,
    participants: dict[str, list[str]] | None = None,
    donation_ids: list[str] | None = None,
) -> tuple[Activity, list[Event]]:
    """One row of a ledger: planned, and held in the same step when it has its counts (and
    the pseudonyms of whom it served); `recorded_by` (the importing subject) recorded both."""
    activity, planned = plan_at(
        station,
        programmes,
        facts,
        planned_sessions=counts.sessions if counts else 1,
        recorded_by=recorded_by,
    )
    events = [planned]
    if held_on is not None or counts is not None:
        if held_on is None or counts is None:
            raise DomainError("held_on", "a held activity needs held_on and its counts")
        activity, held = hold_activity(
            activity,
            held_on=held_on,
            counts=counts,
            linkage=ev.Linkage(societies=societies, donation_ids=donation_ids or []),
            evidence=[],
            today=today,
            held_by=recorded_by,
            participants=participants,
        )
        events.append(held)
    return activity, events
