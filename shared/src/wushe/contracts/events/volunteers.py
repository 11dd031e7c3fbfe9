"""Events of the volunteers service: volunteers, teams, backbones (骨干), service hours,
points for the public-welfare supermarket (公益超市) and service-record certificates.

Volunteers appear by pseudonymous id, station, region and an age band only. Names, ID
numbers, phones, birth dates and skills' free text stay encrypted in the service.
Durations are integer minutes (exact sums); points are integers.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from wushe.contracts.envelope import Event, EventPart
from wushe.contracts.registry import REGISTRY

VOLUNTEERS = "volunteers.volunteers"
TEAMS = "volunteers.teams"
HOURS = "volunteers.service-hours"
POINTS = "volunteers.points"

AgeBand = Literal["under_18", "18_34", "35_59", "60_plus"]
BackboneReason = Literal[
    "service_record", "training_completed", "team_leader", "nominated", "other"
]
DemotionReason = Literal["inactive", "moved_away", "misconduct", "own_request", "other"]
AttendanceSource = Literal["activity", "shift"]
RejectionReason = Literal[
    "daily_maximum", "overlap", "outside_time", "not_served", "duplicate", "other"
]
CorrectionReason = Literal["time_error", "wrong_activity", "activity_corrected", "other"]


# --------------------------------------------------------------------------- volunteers


class VolunteerAtStation(Event):
    """A volunteer's event, with the station and township the volunteer belongs to."""

    volunteer_id: str
    station_id: str
    region_code: str


@REGISTRY.register
class VolunteerRegistered(
    VolunteerAtStation, type="volunteers.VolunteerRegistered.v1", topic=VOLUNTEERS
):
    registered_on: date
    age_band: AgeBand
    elder_volunteer: bool = Field(description="60 or older on the day of registration")
    skills: list[str] = Field(default_factory=list, description="codes from the skill list")


@REGISTRY.register
class VolunteerMoved(Event, type="volunteers.VolunteerMoved.v1", topic=VOLUNTEERS):
    """A volunteer's affiliation moved to another station (their backbone status per
    programme ends at the old station: it is demoted first, by its own event)."""

    volunteer_id: str
    from_station_id: str
    from_region_code: str
    station_id: str
    region_code: str
    moved_on: date
    elder_volunteer: bool


@REGISTRY.register
class VolunteerDeregistered(
    VolunteerAtStation, type="volunteers.VolunteerDeregistered.v1", topic=VOLUNTEERS
):
    deregistered_on: date
    reason_code: Literal["own_request", "moved_away", "deceased", "duplicate", "other"]
    elder_volunteer: bool


class BackboneChange(Event):
    """A change of a volunteer's backbone (骨干) standing, for a programme or in general."""

    volunteer_id: str
    station_id: str
    region_code: str
    programme_id: str | None = None


@REGISTRY.register
class BackbonePromoted(BackboneChange, type="volunteers.BackbonePromoted.v1", topic=VOLUNTEERS):
    """The volunteer became a backbone volunteer (骨干) of the station, for a programme
    that counts backbones, or in general (programme_id null)."""

    promoted_on: date
    reason_code: BackboneReason


@REGISTRY.register
class BackboneDemoted(BackboneChange, type="volunteers.BackboneDemoted.v1", topic=VOLUNTEERS):
    demoted_on: date
    reason_code: DemotionReason


@REGISTRY.register
class CertificateIssued(Event, type="volunteers.CertificateIssued.v1", topic=VOLUNTEERS):
    """A service-record certificate (志愿服务记录证明): its id, period, approved minutes and
    the digest of its canonical record (the record itself stays in the service)."""

    certificate_id: str
    volunteer_id: str
    station_id: str
    region_code: str
    period_start: date
    period_end: date
    approved_minutes: int = Field(ge=0)
    digest: str


# --------------------------------------------------------------------------- teams


class TeamEvent(Event):
    """A team's event, with the station and township it belongs to."""

    team_id: str
    station_id: str
    region_code: str


@REGISTRY.register
class TeamFormed(TeamEvent, type="volunteers.TeamFormed.v1", topic=TEAMS):
    formed_on: date
    service_area: str | None = None


class TeamMemberEvent(TeamEvent):
    """A member's change in a team."""

    volunteer_id: str


@REGISTRY.register
class TeamMemberJoined(TeamMemberEvent, type="volunteers.TeamMemberJoined.v1", topic=TEAMS):
    joined_on: date


@REGISTRY.register
class TeamMemberLeft(TeamMemberEvent, type="volunteers.TeamMemberLeft.v1", topic=TEAMS):
    left_on: date


@REGISTRY.register
class TeamLeaderAppointed(TeamMemberEvent, type="volunteers.TeamLeaderAppointed.v1", topic=TEAMS):
    appointed_on: date


# --------------------------------------------------------------------------- service hours


class ServiceRef(EventPart):
    """What the hours were served at: an activity (activities service) or a shift."""

    source: AttendanceSource
    source_id: str
    station_id: str = Field(description="the organising station")
    region_code: str


class AttendanceEvent(Event):
    """An attendance's event: the volunteer, and the service and day the time was given to."""

    attendance_id: str
    volunteer_id: str
    service: ServiceRef
    service_date: date


@REGISTRY.register
class AttendanceCheckedIn(AttendanceEvent, type="volunteers.AttendanceCheckedIn.v1", topic=HOURS):
    """A volunteer checked in (签到) at an activity or shift; minutes follow at check-out."""


@REGISTRY.register
class AttendanceRecorded(AttendanceEvent, type="volunteers.AttendanceRecorded.v1", topic=HOURS):
    """The organiser recorded a volunteer's attendance (checked out, or listed by a held
    activity): minutes waiting for the organiser's approval."""

    minutes: int = Field(ge=0, le=24 * 60)


class CountedAttendance(AttendanceEvent):
    """Attendance whose minutes count, with the volunteer's own station and township (where
    the hours are credited, which may differ from the service's)."""

    volunteer_station_id: str
    volunteer_region_code: str


@REGISTRY.register
class AttendanceApproved(CountedAttendance, type="volunteers.AttendanceApproved.v1", topic=HOURS):
    """Hours that count: approved by the organising station (whoever records certifies)."""

    minutes: int = Field(ge=0, le=24 * 60)
    approved_on: date


@REGISTRY.register
class AttendanceRejected(AttendanceEvent, type="volunteers.AttendanceRejected.v1", topic=HOURS):
    reason_code: RejectionReason


@REGISTRY.register
class AttendanceCorrected(CountedAttendance, type="volunteers.AttendanceCorrected.v1", topic=HOURS):
    """Approved minutes corrected: `minutes` replaces `previous_minutes` on the same day."""

    correction_no: int = Field(ge=1)
    previous_minutes: int = Field(ge=0)
    minutes: int = Field(ge=0, le=24 * 60)
    reason_code: CorrectionReason


@REGISTRY.register
class ShiftScheduled(Event, type="volunteers.ShiftScheduled.v1", topic=HOURS):
    """A duty shift (值班) at a station, e.g. the hotline or the elder canteen."""

    shift_id: str
    station_id: str
    region_code: str
    shift_date: date
    starts_at: str = Field(description="local time HH:MM")
    ends_at: str = Field(description="local time HH:MM")
    duty: str


# --------------------------------------------------------------------------- points


class Bonus(EventPart):
    when: Literal["backbone", "elder_volunteer", "weekend"]
    extra_percent: int = Field(ge=0, le=200)


@REGISTRY.register
class PointsRulesPublished(Event, type="volunteers.PointsRulesPublished.v1", topic=POINTS):
    """A new version of a province's points rules, in force from `effective_from`."""

    rules_id: str
    region_code: str
    version: int = Field(ge=1)
    effective_from: date
    points_per_hour: int = Field(ge=0, le=1000)
    bonuses: list[Bonus] = Field(default_factory=list)


@REGISTRY.register
class PointsAwarded(VolunteerAtStation, type="volunteers.PointsAwarded.v1", topic=POINTS):
    """Points for approved (or corrected) minutes; negative when a correction takes
    minutes back, limited so the balance never goes below zero."""

    attendance_id: str
    rules_version: int | None
    points: int
    balance: int = Field(ge=0)


@REGISTRY.register
class PointsRedeemed(VolunteerAtStation, type="volunteers.PointsRedeemed.v1", topic=POINTS):
    redemption_id: str
    points: int = Field(gt=0)
    balance: int = Field(ge=0)
    redeemed_on: date
