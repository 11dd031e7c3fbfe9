"""Events of the registry: regions, stations, rooms, social workers, organisations,
programmes. No personal data: social workers appear by id and certification only."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from wushe.contracts.envelope import Event, EventPart
from wushe.contracts.registry import REGISTRY

STATIONS = "registry.stations"
SOCIAL_WORKERS = "registry.social-workers"
ORGANISATIONS = "registry.organisations"
PROGRAMMES = "registry.programmes"
REGIONS = "registry.regions"
CLOSED_MONTHS = "registry.closed-months"

StationStatus = Literal["planned", "operating", "suspended", "closed"]
# A township station (乡镇社工站), a street station (街道社工站), or a county's centre
# (区/县级社工总站, 社会工作服务指导中心: the "1" of "1+23+263"), registered on the county's code.
StationKind = Literal["township", "street", "centre"]
StationFunction = Literal["minors_protection", "elder_service"]
Certification = Literal["none", "assistant_social_worker", "social_worker", "senior"]
OrganisationKind = Literal[
    "social_work_org", "community_social_org", "foundation", "company", "government"
]


# --------------------------------------------------------------------------- stations


@REGISTRY.register
class StationRegistered(Event, type="registry.StationRegistered.v1", topic=STATIONS):
    station_id: str
    region_code: str = Field(
        description="the township/street's 9-digit statistical code; a centre's 6-digit county"
    )
    name: str
    kind: StationKind
    status: StationStatus
    operator_org_id: str | None = None
    contract_start: date | None = None
    contract_end: date | None = None
    functions: list[StationFunction] = Field(default_factory=list)
    hotline: str | None = None
    # Added after v1 (optional): the day the station opened, when it is registered after
    # (backfill); views count it from then. None: the day it was registered.
    opened_on: date | None = None


def is_centre(region_code: str) -> bool:
    """Whether a site's region is a county: a county's centre (区/县级社工总站), never a
    township station (its code has six digits, a township's nine)."""
    return len(region_code) == 6


class StationEvent(Event):
    """A registered station's event, with the station's township."""

    station_id: str
    region_code: str


@REGISTRY.register
class StationDetailsChanged(StationEvent, type="registry.StationDetailsChanged.v1", topic=STATIONS):
    """Only the fields that changed are set; `changed` names them."""

    changed: list[str]
    name: str | None = None
    operator_org_id: str | None = None
    contract_start: date | None = None
    contract_end: date | None = None
    functions: list[StationFunction] | None = None
    hotline: str | None = None
    # Added after v1 (optional): the functions these replace when `functions` is set, so
    # views can move the station between function counts.
    previous_functions: list[StationFunction] | None = None


@REGISTRY.register
class StationStatusChanged(StationEvent, type="registry.StationStatusChanged.v1", topic=STATIONS):
    from_status: StationStatus
    to_status: StationStatus
    effective_date: date
    reason: str


@REGISTRY.register
class StationRated(StationEvent, type="registry.StationRated.v1", topic=STATIONS):
    stars: int = Field(ge=1, le=5)
    rated_by: str
    rated_on: date
    reason: str
    # Added after v1 (optional): the rating this one replaces, so views can move the
    # station between star counts.
    previous_stars: int | None = Field(None, ge=1, le=5)


@REGISTRY.register
class RoomAdded(Event, type="registry.RoomAdded.v1", topic=STATIONS):
    station_id: str
    region_code: str = Field(description="the station's township code")
    room_id: str
    room_region_code: str = Field(description="the village/community's 12-digit code")
    name: str
    # Added after v1 (optional): the day the room opened when added after (backfill).
    opened_on: date | None = None


@REGISTRY.register
class StationRegionChanged(Event, type="registry.StationRegionChanged.v1", topic=STATIONS):
    """A boundary change moved the station's township to a new code (merge, split, move)."""

    station_id: str
    region_code: str = Field(description="the new code")
    previous_region_code: str
    effective_date: date
    boundary_change_id: str


# --------------------------------------------------------------------------- social workers


@REGISTRY.register
class SocialWorkerRegistered(
    Event, type="registry.SocialWorkerRegistered.v1", topic=SOCIAL_WORKERS
):
    worker_id: str
    region_code: str = Field(description="the region the worker is registered in")
    certification: Certification
    general_practice: bool


class SocialWorkerEvent(Event):
    """A registered worker's event, with the region the worker is registered in."""

    worker_id: str
    region_code: str


@REGISTRY.register
class SocialWorkerCertified(
    SocialWorkerEvent, type="registry.SocialWorkerCertified.v1", topic=SOCIAL_WORKERS
):
    certification: Certification
    general_practice: bool
    # Added after v1 (optional): what changed from, for views that count by certification.
    previous_certification: Certification | None = None
    previous_general_practice: bool | None = None


@REGISTRY.register
class SocialWorkerDetailsChanged(
    SocialWorkerEvent, type="registry.SocialWorkerDetailsChanged.v1", topic=SOCIAL_WORKERS
):
    """Personal details changed; which ones, never their values."""

    changed: list[str]


@REGISTRY.register
class SocialWorkerAssigned(Event, type="registry.SocialWorkerAssigned.v1", topic=SOCIAL_WORKERS):
    worker_id: str
    region_code: str = Field(description="the station's region")
    station_id: str
    from_date: date
    previous_station_id: str | None = None
    # Added after v1 (optional): the previous station's region, so views can move the worker
    # out of it.
    previous_region_code: str | None = None


# --------------------------------------------------------------------------- organisations


class OrganisationEvent(Event):
    """An organisation's event, with its registered region."""

    org_id: str
    region_code: str


@REGISTRY.register
class OrganisationRegistered(
    OrganisationEvent, type="registry.OrganisationRegistered.v1", topic=ORGANISATIONS
):
    name: str
    kind: OrganisationKind
    credit_code: str | None = None


@REGISTRY.register
class OrganisationUpdated(
    OrganisationEvent, type="registry.OrganisationUpdated.v1", topic=ORGANISATIONS
):
    changed: list[str]
    name: str | None = None
    kind: OrganisationKind | None = None


# --------------------------------------------------------------------------- programmes


class Targets(EventPart):
    """Targets of a programme; absent means 'not counted by this programme'."""

    backbone_volunteers: int | None = Field(None, ge=0)
    service_sessions: int | None = Field(None, ge=0)
    person_times: dict[str, int] = Field(
        default_factory=dict, description="by beneficiary group, e.g. elders"
    )


@REGISTRY.register
class ProgrammeCreated(Event, type="registry.ProgrammeCreated.v1", topic=PROGRAMMES):
    programme_id: str
    region_code: str = Field(description="the scope's common prefix, e.g. 36")
    name: str
    funder_org_id: str | None = None
    scope_regions: list[str]
    start_date: date
    end_date: date
    total_targets: Targets
    station_targets: Targets = Field(description="default targets for each enrolled station")


@REGISTRY.register
class ProgrammeUpdated(Event, type="registry.ProgrammeUpdated.v1", topic=PROGRAMMES):
    programme_id: str
    region_code: str
    changed: list[str]
    name: str | None = None
    end_date: date | None = None
    total_targets: Targets | None = None
    station_targets: Targets | None = None


class EnrolmentEvent(Event):
    """A station's enrolment in a programme, with the station's region."""

    programme_id: str
    station_id: str
    region_code: str = Field(description="the station's region")


@REGISTRY.register
class StationEnrolled(EnrolmentEvent, type="registry.StationEnrolled.v1", topic=PROGRAMMES):
    enrolled_on: date
    targets: Targets


@REGISTRY.register
class StationWithdrawn(EnrolmentEvent, type="registry.StationWithdrawn.v1", topic=PROGRAMMES):
    withdrawn_on: date
    reason: str


# --------------------------------------------------------------------------- regions


class RegionRef(EventPart):
    code: str
    name: str


@REGISTRY.register
class BoundaryChanged(Event, type="registry.BoundaryChanged.v1", topic=REGIONS):
    """A township-level boundary change (民政 区划调整), effective on a date.

    kind: rename (one code keeps its code, new name), merge (several old codes become one
    new or surviving code), split (one code becomes several), move (a township goes to
    another county and gets a code there).
    """

    change_id: str
    region_code: str = Field(description="the county (or province) the change concerns")
    kind: Literal["rename", "merge", "split", "move"]
    effective_date: date
    old: list[RegionRef]
    new: list[RegionRef]
    reason: str = ""


# --------------------------------------------------------------------------- closed months


class MonthEvent(Event):
    """A county's closed months (数据审核/锁定): every month up to and including the one it
    is "approved through" is closed; a write dated inside one is refused by every service."""

    region_code: str = Field(description="the county's 6-digit code")
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")


@REGISTRY.register
class MonthClosed(MonthEvent, type="registry.MonthClosed.v1", topic=CLOSED_MONTHS):
    """`month` and every month before it are closed for the county's stations: the county is
    now approved through `month` (it was through `previous_through`, or nothing)."""

    previous_through: str | None = None
    closed_on: date
    closed_by: str = Field(description="the closing official's token subject")


@REGISTRY.register
class MonthReopened(MonthEvent, type="registry.MonthReopened.v1", topic=CLOSED_MONTHS):
    """`month` and every later closed month are open again: the county is now approved
    through `closed_through` (the month before `month`)."""

    closed_through: str
    previous_through: str
    reason: str
    reopened_on: date
    reopened_by: str = Field(description="the reopening official's token subject")
