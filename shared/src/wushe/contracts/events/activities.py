"""Events of the activities service: activities, household visits, client files.

Counts and pseudonymous ids only (people and households by a per-province pseudonym,
`wushe.pii.Vault.pseudonym`). No names, ID numbers, phones, addresses, household
categories (low-income, disability, minors...), needs or free text ever travel here: those
stay encrypted in the activities service (PIPL Art. 28: 特定身份 and minors are sensitive).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from wushe.contracts.envelope import Event, EventPart
from wushe.contracts.registry import REGISTRY

ACTIVITIES = "activities.activities"
VISITS = "activities.household-visits"
CLIENT_FILES = "activities.client-files"

ServiceArea = Literal[
    "social_assistance", "elder_services", "child_care", "community_governance", "local_speciality"
]
ActivityKind = Literal[
    "community_event", "group_work", "casework", "home_visit", "hotline_call", "resident_training"
]
BeneficiaryGroup = Literal[
    "elders", "children", "assistance_clients", "disabled", "residents", "other"
]
# The groups' names as people read them (服务对象): reports, disclosures.
GROUP_NAMES: dict[str, str] = {
    "elders": "老年人",
    "children": "儿童",
    "assistance_clients": "救助对象",
    "disabled": "残疾人",
    "residents": "社区居民",
    "other": "其他",
}
Society = Literal[
    "community", "social_workers", "community_organisations", "volunteers", "charity_resources"
]


class VolunteerService(EventPart):
    volunteer_id: str
    hours: float = Field(ge=0, le=24)


class Counts(EventPart):
    """What an activity delivered: sessions and person-times (人次) by beneficiary group."""

    sessions: int = Field(ge=0, le=10_000)
    person_times: dict[BeneficiaryGroup, int] = Field(default_factory=dict)


class Linkage(EventPart):
    """Which of the five societies took part, with references (ids only)."""

    societies: list[Society] = Field(default_factory=list)
    volunteers: list[VolunteerService] = Field(default_factory=list)
    organisation_ids: list[str] = Field(default_factory=list)
    donation_ids: list[str] = Field(
        default_factory=list,
        description="allocation ids of the donations service that funded the activity",
    )


class ActivityFacts(EventPart):
    activity_id: str
    station_id: str
    region_code: str
    room_id: str | None = None
    programme_ids: list[str] = Field(default_factory=list)
    service_area: ServiceArea
    kind: ActivityKind
    themes: list[str] = Field(default_factory=list)
    activity_date: date


@REGISTRY.register
class ActivityPlanned(Event, type="activities.ActivityPlanned.v1", topic=ACTIVITIES):
    activity: ActivityFacts
    planned_sessions: int = Field(ge=0)


@REGISTRY.register
class ActivityHeld(Event, type="activities.ActivityHeld.v1", topic=ACTIVITIES):
    activity: ActivityFacts
    held_on: date
    counts: Counts
    linkage: Linkage
    # Added after v1 (optional: old events stay valid): who was served, by group, as
    # per-province pseudonyms (never a name or ID number), so distinct persons (人数) can be
    # counted beside person-times (人次). At most the group's person-times; often none.
    participants: dict[BeneficiaryGroup, list[str]] = Field(
        default_factory=dict,
        description="pseudonymous person ids by beneficiary group (stable within a province)",
    )


class ActivityAtStation(Event):
    """An activity's later event, with its station and township."""

    activity_id: str
    station_id: str
    region_code: str


@REGISTRY.register
class ActivityVerified(ActivityAtStation, type="activities.ActivityVerified.v1", topic=ACTIVITIES):
    verified_by: str  # the verifier's token subject (never a name typed into a body)
    verifier_role: Literal["station_lead", "supervisor"]
    verified_on: date
    # Added after v1 (optional, so old events stay valid): the office of the official who
    # verified, from their token's roles. `verifier_role` is not widened to carry it: readers
    # still on the old contract would refuse every new event with a value they do not know,
    # while an extra field they simply ignore. Officials verify as "supervisor" (上级审核).
    verifier_office: Literal["county_officer", "city_officer", "province_officer"] | None = None


@REGISTRY.register
class ActivityCancelled(
    ActivityAtStation, type="activities.ActivityCancelled.v1", topic=ACTIVITIES
):
    reason_code: Literal["weather", "no_participants", "duplicate", "rescheduled", "other"]


@REGISTRY.register
class ActivityCorrected(
    ActivityAtStation, type="activities.ActivityCorrected.v1", topic=ACTIVITIES
):
    """A verified activity's figures, corrected: the new totals replace the old ones.
    The correction note (更正说明) stays in the service; here only its category."""

    correction_no: int = Field(ge=1)
    previous: Counts
    counts: Counts
    linkage: Linkage
    reason_code: Literal["count_error", "wrong_group", "duplicate_entry", "late_evidence", "other"]
    # Added after v1 was first published (optional, so old events stay valid): where the
    # corrected figures belong, so views put the correction on the activity's own day.
    activity_date: date | None = None
    service_area: ServiceArea | None = None
    programme_ids: list[str] | None = None
    # Added later (optional): a correction into a closed month counts only once a city or
    # province official approved it; then it names the proposal and its approver.
    correction_id: str | None = None
    approved_by: str | None = None
    # Added later (optional): the allocations that funded the figures replaced, so a
    # correction that changes the funding moves its outcome between them (None: the same as
    # `linkage.donation_ids`).
    previous_donation_ids: list[str] | None = None


CorrectionReason = Literal[
    "count_error", "wrong_group", "duplicate_entry", "late_evidence", "other"
]


@REGISTRY.register
class ActivityCorrectionProposed(
    ActivityAtStation, type="activities.ActivityCorrectionProposed.v1", topic=ACTIVITIES
):
    """A correction of figures in a closed month (数据已锁定), waiting for a city or province
    official's approval: nothing counts it. Once approved it is an `ActivityCorrected`."""

    correction_id: str
    counts: Counts
    linkage: Linkage
    reason_code: CorrectionReason
    closed_month: str = Field(description="the closed month (YYYY-MM) the figures lie in")
    proposed_by: str = Field(description="the proposer's token subject")
    proposed_on: date


@REGISTRY.register
class HouseholdVisited(Event, type="activities.HouseholdVisited.v1", topic=VISITS):
    """A home visit (入户走访): a pseudonymous household id and a date, nothing else about
    the household (its categories and needs are sensitive and stay in the service)."""

    visit_id: str
    household_id: str
    station_id: str
    region_code: str
    visited_on: date
    follow_up_due: date | None = None


class ClientFileEvent(Event):
    """A client file's event: its pseudonymous id, station and township, nothing personal."""

    file_id: str
    station_id: str
    region_code: str


@REGISTRY.register
class ClientFileOpened(ClientFileEvent, type="activities.ClientFileOpened.v1", topic=CLIENT_FILES):
    opened_on: date


@REGISTRY.register
class ClientServiceRecorded(
    ClientFileEvent, type="activities.ClientServiceRecorded.v1", topic=CLIENT_FILES
):
    served_on: date
    service_area: ServiceArea
    activity_id: str | None = None


@REGISTRY.register
class ClientFileClosed(ClientFileEvent, type="activities.ClientFileClosed.v1", topic=CLIENT_FILES):
    closed_on: date
    reason_code: Literal["goals_met", "moved_away", "deceased", "declined", "transferred", "other"]
