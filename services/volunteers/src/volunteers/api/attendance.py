"""The attendance ledger (hours): check-in and check-out (签到, 签退) at an activity or
shift, recorded by its organiser; approval, rejection and correction (更正) by the
organising station; and the volunteers a held activity named whom this service does not
know."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from volunteers.api.deps import Svc, Volunteers, change_ledger
from volunteers.domain import ledger as rules
from volunteers.domain.ledger import Correction, Ledger
from volunteers.domain.shifts import ServiceWindow
from volunteers.domain.volunteers import Volunteer
from wushe.auth import CurrentPrincipal, Principal
from wushe.commands import at_station
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.errors import DomainError, NotFound
from wushe.web import TOTAL_HEADERS, Limit, Strict, counted, station_filter, today

router = APIRouter(tags=["attendance"])


class CheckInIn(Strict):
    source: ev.AttendanceSource
    source_id: str = Field(max_length=40, description="the activity or shift id")
    at: datetime = Field(description="with a UTC offset, e.g. 2026-11-02T09:00:00+08:00")


class CheckOutIn(Strict):
    at: datetime


class RejectIn(Strict):
    reason_code: ev.RejectionReason
    note: str = Field("", max_length=500)


class CorrectIn(Strict):
    minutes: int = Field(ge=0, le=24 * 60)
    reason_code: ev.CorrectionReason
    note: str = Field(min_length=1, max_length=1000, description="更正说明")


class AttendanceOut(BaseModel):
    attendance_id: str
    service: ev.ServiceRef
    service_date: date
    status: str
    check_in: datetime | None
    check_out: datetime | None
    minutes: int
    recorded_via: str
    recorded_by: str | None = None
    checked_out_by: str | None = None
    approved_by: str | None
    approved_on: date | None
    rejection: str | None
    rejected_by: str | None = None
    rules_version: int | None
    points: int
    corrections: list[Correction]


class LedgerOut(BaseModel):
    volunteer_id: str
    attendances: list[AttendanceOut]
    approved_minutes: int
    balance: int
    awarded: int
    redeemed: int


class UnmatchedOut(BaseModel):
    activity_id: str
    volunteer_id: str
    station_id: str
    service_date: date
    minutes: int


class WaitingOut(BaseModel):
    """Hours recorded and waiting for the organising station's approval."""

    volunteer_id: str
    volunteer_name: str | None = Field(description="masked")
    volunteer_station_id: str | None = Field(description="the volunteer's own station")
    attendance_id: str
    service: ev.ServiceRef
    service_date: date
    check_in: datetime | None
    check_out: datetime | None
    minutes: int
    recorded_via: str
    recorded_by: str | None


def ledger_out(ledger: Ledger) -> LedgerOut:
    rows = sorted(ledger.attendances.values(), key=lambda a: (a.service_date, a.attendance_id))
    return LedgerOut(
        volunteer_id=ledger.volunteer_id,
        attendances=[AttendanceOut(**a.model_dump(exclude={"activity_corrections"})) for a in rows],
        approved_minutes=sum(a.minutes for a in rows if a.status == "approved"),
        balance=ledger.balance,
        awarded=ledger.awarded,
        redeemed=ledger.redeemed,
    )


async def _window(svc: Volunteers, who: Principal, source: str, source_id: str) -> ServiceWindow:
    """The activity's or shift's window; one outside the caller's scope is unknown (422)."""
    window = await svc.store.window(source, source_id)
    if window is None or not who.can_see(window.region_code):
        raise DomainError("source_id", f"unknown {source} {source_id}")
    return window


async def _volunteer(svc: Volunteers, who: Principal, volunteer_id: str) -> Volunteer:
    """The volunteer, seen by region only: the organising station records and approves the
    hours of a volunteer of another station who served at its activity or shift."""
    v, _ = await svc.store.volunteer(volunteer_id)
    if v is None or not who.can_see(v.region_code):
        raise NotFound("volunteer_id", f"volunteer {volunteer_id} not found")
    return v


async def _attendance_window(
    svc: Volunteers, who: Principal, volunteer_id: str, attendance_id: str
) -> tuple[Volunteer, ServiceWindow]:
    """The organiser acts: the attendance's organising station must be in the caller's scope,
    and one of theirs when they are station staff. Returns the volunteer (loaded once here)
    and the activity's or shift's window."""
    v = await _volunteer(svc, who, volunteer_id)
    ledger, _ = await svc.store.ledger(volunteer_id)
    a = ledger.attendances.get(attendance_id)
    if a is None or not who.can_see(a.service.region_code):
        raise NotFound("attendance_id", f"attendance {attendance_id} not found")
    window = await _window(svc, who, a.service.source, a.service.source_id)
    at_station(who, window.station_id, "attendance_id")  # the organising station's staff
    return v, window


@router.get("/volunteers/{volunteer_id}/attendances", response_model=LedgerOut)
async def get_ledger(volunteer_id: str, svc: Svc, who: CurrentPrincipal) -> LedgerOut:
    await svc.volunteers.load(who, volunteer_id)
    ledger, _ = await svc.store.ledger(volunteer_id)
    return ledger_out(ledger)


@router.post("/volunteers/{volunteer_id}/attendances", response_model=LedgerOut, status_code=201)
async def check_in(
    volunteer_id: str, body: CheckInIn, svc: Svc, who: CurrentPrincipal
) -> LedgerOut:
    """Check in (签到) at an activity or shift, recorded by its organising station."""
    v = await _volunteer(svc, who, volunteer_id)
    window = await _window(svc, who, body.source, body.source_id)
    at_station(who, window.station_id, "source_id")  # the organising station records
    await svc.store.registry.check_open(window.region_code, ("at", window.day))
    at = rules.aware(body.at, "at")
    decide = partial(
        rules.check_in, v=v, window=window, at=at, now=datetime.now(UTC), recorded_by=who.subject
    )
    return ledger_out(await change_ledger(svc, who, v, decide))


@router.post(
    "/volunteers/{volunteer_id}/attendances/{attendance_id}/check-out", response_model=LedgerOut
)
async def check_out(
    volunteer_id: str, attendance_id: str, body: CheckOutIn, svc: Svc, who: CurrentPrincipal
) -> LedgerOut:
    v, window = await _attendance_window(svc, who, volunteer_id, attendance_id)
    await svc.store.registry.check_open(window.region_code, ("at", window.day))
    at, now = rules.aware(body.at, "at"), datetime.now(UTC)

    def decide(ledger: Ledger) -> tuple[Ledger, Event]:
        return rules.check_out(
            ledger,
            window,
            attendance_id,
            at=at,
            now=now,
            daily_maximum=svc.daily_maximum,
            checked_out_by=who.subject,
        )

    return ledger_out(await change_ledger(svc, who, v, decide))


@router.post(
    "/volunteers/{volunteer_id}/attendances/{attendance_id}/approve", response_model=LedgerOut
)
async def approve(
    volunteer_id: str, attendance_id: str, svc: Svc, who: CurrentPrincipal
) -> LedgerOut:
    """The organising station's staff certify the recorded minutes; points follow the rules
    in force on the service day. Whoever recorded them, the volunteer and their team leader
    may not (403, separation of duties). Not inside a closed month (409): approved minutes
    are the month's figures."""
    v, window = await _attendance_window(svc, who, volunteer_id, attendance_id)
    await svc.store.registry.check_open(window.region_code, ("attendance_id", window.day))
    points = await svc.store.rules_for(v.region_code)
    decide = partial(
        rules.approve,
        v=v,
        attendance_id=attendance_id,
        approved_by=who.subject,
        on=today(),
        rules=points,
        leaders=await svc.store.leaders_of(v.volunteer_id),
    )
    return ledger_out(await change_ledger(svc, who, v, decide))


@router.post(
    "/volunteers/{volunteer_id}/attendances/{attendance_id}/reject", response_model=LedgerOut
)
async def reject(
    volunteer_id: str, attendance_id: str, body: RejectIn, svc: Svc, who: CurrentPrincipal
) -> LedgerOut:
    """The organising station's staff refuse the minutes; who may is as for approval."""
    v, _ = await _attendance_window(svc, who, volunteer_id, attendance_id)
    decide = partial(
        rules.reject,
        attendance_id=attendance_id,
        **dict(body),
        rejected_by=who.subject,
        v=v,
        leaders=await svc.store.leaders_of(v.volunteer_id),
    )
    return ledger_out(await change_ledger(svc, who, v, decide))


@router.post(
    "/volunteers/{volunteer_id}/attendances/{attendance_id}/corrections",
    response_model=LedgerOut,
)
async def correct(
    volunteer_id: str, attendance_id: str, body: CorrectIn, svc: Svc, who: CurrentPrincipal
) -> LedgerOut:
    """Approved minutes corrected with a reason (更正). Not yet inside a closed month (409):
    until a correction there can wait for approval, as an activity's does, the month is
    reopened for it."""
    v, window = await _attendance_window(svc, who, volunteer_id, attendance_id)
    await svc.store.registry.check_open(window.region_code, ("attendance_id", window.day))
    points = await svc.store.rules_for(v.region_code)
    decide = partial(
        rules.correct,
        v=v,
        attendance_id=attendance_id,
        **dict(body),
        on=today(),
        rules=points,
        daily_maximum=svc.daily_maximum,
    )
    return ledger_out(await change_ledger(svc, who, v, decide))


@router.get(
    "/attendances/pending",
    response_model=list[WaitingOut],
    responses={200: {"headers": TOTAL_HEADERS}},
)
async def waiting(
    response: Response,
    svc: Svc,
    who: CurrentPrincipal,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 100,
) -> list[WaitingOut]:
    """Hours recorded (checked out) and waiting for approval (待审批的服务时长), oldest
    service day first: the work queue of `.../attendances/{attendance_id}/approve`. By the
    organising station, in the caller's region; station staff see their own stations'.
    Headers: `X-Total-Count`, how many wait; `X-Total-Complete`, `false` when the queue
    read only the first 500 to begin waiting (then at least that many wait)."""
    where = station_filter(who, station_id)
    rows, total, complete = (
        ([], 0, True)
        if where is None
        else await svc.store.waiting_attendances(**where, limit=limit)
    )
    counted(response, total, complete)
    # A visiting volunteer of another region is named by id only.
    return [
        WaitingOut(
            volunteer_id=vid,
            volunteer_name=v.name_masked if v and who.can_see(v.region_code) else None,
            volunteer_station_id=v.station_id if v and who.can_see(v.region_code) else None,
            **a.model_dump(
                include={
                    "attendance_id",
                    "service",
                    "service_date",
                    "check_in",
                    "check_out",
                    "minutes",
                    "recorded_via",
                    "recorded_by",
                }
            ),
        )
        for vid, v, a in rows
    ]


@router.get("/attendances/unmatched", response_model=list[UnmatchedOut])
async def unmatched(
    svc: Svc,
    who: CurrentPrincipal,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 100,
) -> list[UnmatchedOut]:
    """Volunteers named by held activities whom this service does not know (a typo, or a
    volunteer never registered): kept here until the station registers or corrects them."""
    docs = await svc.store.unmatched_of(within=who.region_scope, station_id=station_id, limit=limit)
    return [UnmatchedOut.model_validate(d) for d in docs]
