"""Activities: plan, hold, verify, cancel, correct; read one or a page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from activities.api.deps import Activities, Svc
from activities.domain import activities as domain
from activities.domain.activities import Activity, Evidence
from wushe import commands
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.errors import DomainError
from wushe.store import ConcurrencyError
from wushe.web import Limit, Offset, Strict, today

router = APIRouter(tags=["activities"])


def region(a: Activity) -> str:
    return a.facts.region_code


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


class HeldIn(Strict):
    held_on: date
    counts: ev.Counts
    linkage: ev.Linkage = ev.Linkage()
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)


class VerifyIn(Strict):
    verified_by: str = Field(min_length=1, max_length=100)
    role: Literal["station_lead", "supervisor"]


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
    version: int


class ActivityPage(BaseModel):
    items: list[ActivityOut]
    total: int
    limit: int
    offset: int


def activity_out(a: Activity, version: int) -> ActivityOut:
    return ActivityOut(
        activity_id=a.facts.activity_id, version=version, **a.model_dump(exclude={"cancel"})
    )


async def plan(svc: Activities, who: Principal, body: ActivityIn) -> commands.Saved[Activity]:
    """Plan an activity; with an `external_ref` already used, return the existing one."""
    station = await svc.store.registry.visible_station(who, body.station_id)
    activity_id = domain.activity_id_for(station.station_id, body.external_ref)
    programmes = {
        pid: await svc.store.registry.visible_programme(who, pid) for pid in body.programme_ids
    }
    facts = domain.facts_at(
        station,
        activity_id,
        room_id=body.room_id,
        programme_ids=body.programme_ids,
        service_area=body.service_area,
        kind=body.kind,
        themes=body.themes,
        activity_date=body.activity_date,
    )
    # With an external_ref the id is known in advance: insert first, and look the activity up
    # only when that id is taken (the usual case is then one call, not a miss and a write).
    try:
        return await commands.create(
            svc.store.activities,
            activity_id,
            who,
            lambda: domain.plan_at(
                station, programmes, facts, planned_sessions=body.planned_sessions, place=body.place
            ),
            region=region,
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
    saved = await plan(svc, who, body)
    return activity_out(saved.state, saved.version)


async def change(
    svc: Activities,
    who: Principal,
    activity_id: str,
    decide: Callable[[Activity], tuple[Activity, Event]],
) -> ActivityOut:
    saved = await commands.change(
        svc.store.activities, activity_id, Activity, who, decide, region=region, missing="activity"
    )
    return activity_out(saved.state, saved.version)


@router.get("/activities/{activity_id}", response_model=ActivityOut)
async def get_activity(activity_id: str, svc: Svc, who: CurrentPrincipal) -> ActivityOut:
    return activity_out(
        *await commands.load_visible(
            svc.store.activities, activity_id, Activity, who, region=region, missing="activity"
        )
    )


@router.get("/activities", response_model=ActivityPage)
async def list_activities(
    svc: Svc,
    who: CurrentPrincipal,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
    status: domain.Status | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ActivityPage:
    rows, total = await svc.store.list_activities(
        within=who.region_scope, station_id=station_id, status=status, limit=limit, offset=offset
    )
    items = [activity_out(a, v) for a, v in rows]
    return ActivityPage(items=items, total=total, limit=limit, offset=offset)


@router.post("/activities/{activity_id}/held", response_model=ActivityOut)
async def hold_activity(
    activity_id: str, body: HeldIn, svc: Svc, who: CurrentPrincipal
) -> ActivityOut:
    return await change(
        svc,
        who,
        activity_id,
        lambda a: domain.hold_activity(
            a,
            held_on=body.held_on,
            counts=body.counts,
            linkage=body.linkage,
            evidence=body.evidence,
            today=today(),
        ),
    )


@router.post("/activities/{activity_id}/verification", response_model=ActivityOut)
async def verify_activity(
    activity_id: str, body: VerifyIn, svc: Svc, who: CurrentPrincipal
) -> ActivityOut:
    return await change(
        svc,
        who,
        activity_id,
        lambda a: domain.verify_activity(
            a, verified_by=body.verified_by, role=body.role, today=today()
        ),
    )


@router.post("/activities/{activity_id}/cancellation", response_model=ActivityOut)
async def cancel_activity(
    activity_id: str, body: CancelIn, svc: Svc, who: CurrentPrincipal
) -> ActivityOut:
    return await change(
        svc,
        who,
        activity_id,
        lambda a: domain.cancel_activity(a, reason_code=body.reason_code, note=body.note),
    )


@router.post("/activities/{activity_id}/corrections", response_model=ActivityOut)
async def correct_activity(
    activity_id: str, body: CorrectionIn, svc: Svc, who: CurrentPrincipal
) -> ActivityOut:
    return await change(
        svc,
        who,
        activity_id,
        lambda a: domain.correct_activity(
            a,
            counts=body.counts,
            linkage=body.linkage,
            reason_code=body.reason_code,
            note=body.note,
        ),
    )
