"""Activities: plan, hold, verify, cancel, correct (into a closed month: approve the
correction); read one or a page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from activities.api.deps import Activities, Svc
from activities.domain import activities as domain
from activities.domain import corrections, funding
from activities.domain.activities import Activity, Evidence
from wushe import commands
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.errors import DomainError
from wushe.refcopy import closed_month_of
from wushe.store import ConcurrencyError
from wushe.web import Page, Paging, StationPaging, Strict, WaitingPage, station_filter, today

router = APIRouter(tags=["activities"])


class ActivityIn(Strict):
    station_id: str = Field(max_length=40)
    room_id: str | None = Field(None, max_length=40)
    programme_ids: list[str] = Field(default_factory=list, max_length=10)
    service_area: ev.ServiceArea
    kind: ev.ActivityKind
    themes: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)
    activity_date: date
    place: str = Field("", max_length=200, description="where (kept in this service only)")
    planned_sessions: int = Field(1, ge=0, le=10_000)
    external_ref: str | None = Field(
        None,
        max_length=100,
        description=("the caller's own id for this activity: the same ref creates nothing new"),
    )


class ParticipantIn(Strict):
    ref: str = Field(
        min_length=4,
        max_length=64,
        description=(
            "the person's own reference (e.g. an ID number): only its province's pseudonym is "
            "kept and published, to count distinct persons (人数)"
        ),
    )
    group: ev.BeneficiaryGroup


class HeldIn(Strict):
    held_on: date
    counts: ev.Counts
    linkage: ev.Linkage = ev.Linkage()
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)
    participants: list[ParticipantIn] = Field(
        default_factory=list,
        max_length=10_000,
        description="who was served, optional: at most the group's person-times (人次)",
    )


def pseudonyms_by_group(
    svc: Activities, region_code: str, participants: list[ParticipantIn]
) -> dict[str, list[str]]:
    """Each participant's reference as its province's pseudonym (`pn-`), by group."""
    out: dict[str, list[str]] = {}
    for p in participants:
        out.setdefault(p.group, []).append("pn-" + svc.pseudonym(region_code, "person", p.ref))
    return out


class VerifyIn(Strict):
    """No fields: who verifies, and as which office, is the caller's token (an old client
    still sending `verified_by` or `role` is refused, 422, naming the field)."""


class CancelIn(Strict):
    reason_code: Literal["weather", "no_participants", "duplicate", "rescheduled", "other"]
    note: str = Field("", max_length=500)


class CorrectionIn(Strict):
    counts: ev.Counts
    linkage: ev.Linkage | None = None
    reason_code: Literal["count_error", "wrong_group", "duplicate_entry", "late_evidence", "other"]
    note: str = Field(min_length=1, max_length=1000, description="更正说明")


class ActivityOut(BaseModel):
    activity_id: str
    status: str
    facts: ev.ActivityFacts
    place: str
    planned_sessions: int
    held_on: date | None
    counts: ev.Counts | None
    linkage: ev.Linkage
    evidence: list[Evidence]
    verified: dict[str, Any] | None
    corrections: list[dict[str, Any]]
    pending_corrections: list[dict[str, Any]] = Field(
        default_factory=list, description="corrections into a closed month awaiting approval"
    )
    recorded_by: str | None = None
    held_by: str | None = None
    participants: dict[str, list[str]] = Field(
        default_factory=dict, description="who was served, by group, as pseudonyms"
    )
    version: int


class ActivityPage(Page):
    items: list[ActivityOut]


class WaitingActivities(WaitingPage):
    items: list[ActivityOut]


def activity_out(saved: commands.Saved[Activity]) -> ActivityOut:
    a = saved.state
    return ActivityOut(
        activity_id=a.facts.activity_id, version=saved.version, **a.model_dump(exclude={"cancel"})
    )


async def plan(svc: Activities, who: Principal, body: ActivityIn) -> commands.Saved[Activity]:
    """Plan an activity; with an `external_ref` already used, return the existing one."""
    station = await svc.store.registry.visible_station(who, body.station_id)
    activity_id = domain.activity_id_for(station.station_id, body.external_ref)
    programmes = {
        pid: await svc.store.registry.visible_programme(who, pid) for pid in body.programme_ids
    }
    facts = domain.facts_at(station, activity_id, body)
    await svc.store.registry.check_open(station.region_code, ("activity_date", body.activity_date))
    # With an external_ref the id is known in advance: insert first, and look the activity up
    # only when that id is taken (the usual case is then one call, not a miss and a write).
    try:
        return await svc.activities.create(
            who,
            activity_id,
            lambda: domain.plan_at(
                station,
                programmes,
                facts,
                planned_sessions=body.planned_sessions,
                place=body.place,
                recorded_by=who.subject,
            ),
        )
    except (DomainError, ConcurrencyError):
        if not body.external_ref:
            raise
        existing, version = await svc.store.activity(activity_id)
        if existing is None:
            raise
        return commands.Saved(existing, version)


@router.post("/activities", response_model=ActivityOut, status_code=201)
async def plan_activity(body: ActivityIn, svc: Svc, who: CurrentPrincipal) -> ActivityOut:
    return activity_out(await plan(svc, who, body))


@router.get("/activities/{activity_id}", response_model=ActivityOut)
async def get_activity(activity_id: str, svc: Svc, who: CurrentPrincipal) -> ActivityOut:
    return activity_out(commands.Saved(*await svc.activities.load(who, activity_id)))


@router.get("/activities", response_model=ActivityPage)
async def list_activities(
    svc: Svc,
    who: CurrentPrincipal,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
    status: domain.Status | None = None,
    *,
    page: Paging,
) -> ActivityPage:
    rows, total = await svc.store.list_activities(
        within=who.region_scope, station_id=station_id, status=status, **page.bounds
    )
    return page.of(ActivityPage, [activity_out(commands.Saved(a, v)) for a, v in rows], total)


@router.get("/corrections/pending", response_model=ActivityPage)
async def pending_corrections(svc: Svc, who: CurrentPrincipal, page: StationPaging) -> ActivityPage:
    """Activities with a correction into a closed month (数据已锁定) awaiting a city or
    province official's approval, each listing it under `pending_corrections`: the work
    queue of `POST /activities/{id}/corrections/{correction_id}/approval`. In the caller's
    region; station staff see their own stations'."""
    rows, total = await page.listed(who, svc.store.pending_corrections)
    return page.of(ActivityPage, [activity_out(commands.Saved(a, v)) for a, v in rows], total)


@router.get("/verifications/pending", response_model=WaitingActivities)
async def waiting_verification(
    svc: Svc, who: CurrentPrincipal, page: StationPaging
) -> WaitingActivities:
    """Held activities waiting for an official's verification (待审核), the earliest held
    first: the work queue of `POST /activities/{id}/verification`. In the caller's region;
    station staff see their own stations'. It reads the first 500 to be held; `complete`
    false says more wait than `total` counts."""
    where = station_filter(who, page.station_id)
    if where is None:
        return page.of(WaitingActivities, [], 0)
    rows, total, complete = await svc.store.waiting_verification(
        **where, limit=page.limit, offset=page.offset
    )
    items = [activity_out(commands.Saved(a, v)) for a, v in rows]
    return page.of(WaitingActivities, items, total, complete=complete)


Rule = Callable[..., tuple[Activity, Event]]


def office_of(who: Principal) -> domain.Office:
    """The office an official verifies as, from their token's roles: the nearest one they
    hold (the county verifies); a province's `admin` as the province."""
    offices: tuple[domain.Office, ...] = ("county_officer", "city_officer", "province_officer")
    return next((o for o in offices if o in who.roles), "province_officer")


# What a transition's rule learns from the caller's token, never from the body: who acts.
FROM_TOKEN: dict[str, Callable[[Principal], dict[str, Any]]] = {
    "hold_activity": lambda who: {"held_by": who.subject},
    "verify_activity": lambda who: {"verified_by": who.subject, "office": office_of(who)},
}

# Body fields a rule takes in another form: the people served, as pseudonyms only.
FROM_BODY: dict[str, Callable[[Activities, Activity, Any], dict[str, Any]]] = {
    "hold_activity": lambda svc, a, body: {
        "participants": pseudonyms_by_group(svc, a.facts.region_code, body.participants)
    },
}


async def check_funding(
    svc: Activities, who: Principal, a: Activity, held_on: date | None, linkage: ev.Linkage
) -> None:
    """The allocations an activity names (`linkage.donation_ids`) may fund it (422 if not)."""
    if linkage.donation_ids and held_on is not None:
        known = await svc.store.known_allocations(who, linkage.donation_ids)
        funding.check_funding(a.facts.station_id, held_on, linkage.donation_ids, known)


def transition(
    name: str, body_type: type[Strict], rule: Rule, dated: bool
) -> Callable[..., Awaitable[ActivityOut]]:
    """The route of one transition: the rule takes the body's fields by name (and today's
    date when it checks one, and who acts: `FROM_TOKEN`); refused inside a closed month of
    the activity's county (`DAYS`)."""

    async def route(activity_id: str, body: Strict, svc: Svc, who: CurrentPrincipal) -> ActivityOut:
        dates = {"today": today()} if dated else {}
        by = FROM_TOKEN[name](who) if name in FROM_TOKEN else {}

        async def decide(a: Activity) -> tuple[Activity, Event]:
            if name in DAYS:
                await svc.store.registry.check_open(a.facts.region_code, *DAYS[name](a, body))
            if isinstance(body, HeldIn):
                await check_funding(svc, who, a, body.held_on, body.linkage)
            fields = dict(body) | (FROM_BODY[name](svc, a, body) if name in FROM_BODY else {})
            return rule(a, **fields, **dates, **by)

        return activity_out(await svc.activities.change(who, activity_id, decide))

    route.__name__ = name  # the route's name (and operation id), as if written out
    route.__annotations__ = {**route.__annotations__, "body": body_type}  # the body FastAPI reads
    return route


def figure_fields(a: Activity, _: Any = None) -> list[tuple[str, date | None]]:
    """The days the activity's figures are counted on, named as the activity names them."""
    return [("activity_date", a.facts.activity_date), ("held_on", a.held_on)]


# The days each transition writes into: one inside a closed month is refused (409).
DAYS: dict[str, Callable[[Activity, Any], list[tuple[str, date | None]]]] = {
    "hold_activity": lambda a, body: [("held_on", body.held_on), *figure_fields(a)[:1]],
    "verify_activity": figure_fields,  # it approves the hours of the volunteers it lists
    "cancel_activity": figure_fields,
}


# An activity's transitions, each a POST on the activity (in this order in the OpenAPI).
TRANSITIONS: list[tuple[str, str, type[Strict], Rule, bool]] = [
    ("hold_activity", "held", HeldIn, domain.hold_activity, True),
    ("verify_activity", "verification", VerifyIn, domain.verify_activity, True),
    ("cancel_activity", "cancellation", CancelIn, domain.cancel_activity, False),
]
for name, path, body_type, rule, dated in TRANSITIONS:
    router.post(f"/activities/{{activity_id}}/{path}", response_model=ActivityOut)(
        transition(name, body_type, rule, dated)
    )


@router.post("/activities/{activity_id}/corrections", response_model=ActivityOut)
async def correct_activity(
    activity_id: str, body: CorrectionIn, svc: Svc, who: CurrentPrincipal
) -> ActivityOut:
    """Correct a verified activity's figures (更正, with a reason). Into an open month it
    counts at once; into a month its county has closed (数据已锁定) it waits, listed under
    `pending_corrections`, until a city or province official approves it."""

    async def decide(a: Activity) -> tuple[Activity, Event]:
        if body.linkage is not None and body.linkage.donation_ids != a.linkage.donation_ids:
            await check_funding(svc, who, a, a.held_on, body.linkage)
        through = await svc.store.registry.closed_through(a.facts.region_code)
        closed = [m for d in corrections.figure_days(a) if (m := closed_month_of(through, d))]
        if not closed:
            return domain.correct_activity(a, **dict(body))
        proposed = corrections.propose_correction(
            a, **dict(body), closed_month=closed[0], proposed_by=who.subject, today=today()
        )
        # It waits: noted before the commit, for the work queue (`wushe.store.notes`).
        await svc.store.note_correction(a)
        return proposed

    return activity_out(await svc.activities.change(who, activity_id, decide))


@router.post(
    "/activities/{activity_id}/corrections/{correction_id}/approval", response_model=ActivityOut
)
async def approve_correction(
    activity_id: str, correction_id: str, svc: Svc, who: CurrentPrincipal
) -> ActivityOut:
    """Approve a correction into a closed month (a city or province official, never its
    proposer): from now on it counts."""
    saved = await svc.activities.change(
        who,
        activity_id,
        lambda a: corrections.approve_correction(
            a, correction_id=correction_id, approved_by=who.subject, today=today()
        ),
    )
    return activity_out(saved)
