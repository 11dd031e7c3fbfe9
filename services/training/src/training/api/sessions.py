"""Training sessions: schedule one, record its attendance (签到), read it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from training.api.deps import Svc
from training.domain import sessions as domain
from training.domain.sessions import Session
from training.store import TrainingStore
from wushe import commands
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts import Event
from wushe.contracts.events import training as ev
from wushe.errors import Conflict, DomainError
from wushe.web import Page, StationPaging, Strict, today

router = APIRouter(tags=["sessions"])


class SessionIn(Strict):
    session_id: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9-]{2,63}$",
        description="a stable id chosen by the caller, so that a retried request cannot "
        "schedule the session twice (409 if it exists); a new one when not given",
    )
    region_code: str = Field(
        description="where the session is held for: a province, city, county or township code"
    )
    course_id: str | None = Field(None, max_length=60)
    kind: ev.SessionKind
    mode: Literal["online", "on_site"]
    organiser_org_id: str | None = Field(None, max_length=64)
    session_date: date
    hours: float = Field(gt=0, le=12)


class CheckIn(Strict):
    """One attendee: hours given, or derived from check-in and check-out (签到/签退)."""

    attendee_kind: Literal["social_worker", "volunteer"]
    attendee_id: str = Field(min_length=1, max_length=64)
    station_id: str | None = Field(None, max_length=40)
    hours: float | None = Field(None, ge=0, le=12)
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    credits: float = Field(0, ge=0, le=100)


# What an attendance keeps of its check-in as given (the hours are worked out).
ATTENDEE = {"attendee_kind", "attendee_id", "station_id", "credits"}


class AttendanceIn(Strict):
    attendances: list[CheckIn] = Field(min_length=1, max_length=1000)


class SessionOut(BaseModel):
    facts: ev.TrainingSessionScheduled
    attendances: list[ev.Attendance]
    person_times: int
    attendee_hours: float
    version: int


class SessionPage(Page):
    items: list[SessionOut]


def session_out(s: Session, version: int, station_id: str | None = None) -> SessionOut:
    """`station_id`: only that station's attendances (and their person-times and hours)."""
    attendances = [a for a in s.attendances if station_id is None or a.station_id == station_id]
    return SessionOut(
        facts=s.facts,
        attendances=attendances,
        person_times=len(attendances),
        attendee_hours=sum(a.hours for a in attendances),
        version=version,
    )


@router.post("/sessions", response_model=SessionOut, status_code=201)
async def schedule_session(body: SessionIn, svc: Svc, who: CurrentPrincipal) -> SessionOut:
    where = commands.in_scope(who, body.region_code)
    course_known = body.course_id is None or await svc.store.course_exists(body.course_id)
    session_id = body.session_id or f"ts-{uuid.uuid4().hex[:20]}"
    facts = ev.TrainingSessionScheduled(
        **{**body.model_dump(), "session_id": session_id, "region_code": where}
    )
    saved = await svc.sessions.create(
        who,
        session_id,
        lambda: domain.schedule_session(facts, course_known=course_known),
        exists=Conflict("session_id", f"{session_id} exists"),
    )
    return session_out(saved.state, saved.version)


@router.get("/sessions", response_model=SessionPage)
async def list_sessions(svc: Svc, who: CurrentPrincipal, page: StationPaging) -> SessionPage:
    """Training sessions held in the caller's region; with `station_id`, the sessions that
    station's people attended (a city's expert training too), with that station's
    attendances only, when the station is the caller's to see. The latest first."""
    station_id = page.station_id
    if station_id is None:
        rows, total = await svc.store.list_sessions(
            within=who.region_scope, station_id=None, **page.bounds
        )
        return page.of(SessionPage, [session_out(s, v) for s, v in rows], total)
    station = await svc.store.registry.known_station(station_id)
    if station is None or not who.can_see(station.region_code) or not who.at_station(station_id):
        return page.of(SessionPage, [], 0)
    rows, total = await svc.store.list_sessions(within=None, station_id=station_id, **page.bounds)
    return page.of(SessionPage, [session_out(s, v, station_id) for s, v in rows], total)


@router.get("/sessions/{session_id}", response_model=SessionOut)
async def get_session(session_id: str, svc: Svc, who: CurrentPrincipal) -> SessionOut:
    return session_out(*await svc.sessions.load(who, session_id))


@router.post("/sessions/{session_id}/attendance", response_model=SessionOut)
async def record_attendance(
    session_id: str, body: AttendanceIn, svc: Svc, who: CurrentPrincipal
) -> SessionOut:
    """Attendance (签到) of social workers (by their registry id) and volunteers."""

    async def decide(session: Session) -> tuple[Session, list[Event]]:
        # The attendees are checked once the session is known to be the caller's: another
        # province's session is a 404 whatever its body names.
        attendances = await attendances_of(svc.store, who, session, body.attendances)
        return domain.record_attendance(session, attendances, today=today())

    saved = await svc.sessions.change(who, session_id, decide)
    return session_out(saved.state, saved.version)


async def attendances_of(
    store: TrainingStore, who: Principal, session: Session, checks: list[CheckIn]
) -> list[ev.Attendance]:
    """Each attendee's hours, station and registry id checked in turn."""
    attendees = Attendees(store, who)
    return [await attendees.check(session, a, f"attendances[{i}]") for i, a in enumerate(checks)]


class Attendees:
    """Attendees checked against the registry copy, each station and social worker looked
    up once (a city's training names many, an import thousands)."""

    def __init__(self, store: TrainingStore, who: Principal) -> None:
        self.store, self.who = store, who
        self.stations: set[str] = set()
        self.workers: set[str] = set()

    async def check(self, session: Session, a: CheckIn, field: str) -> ev.Attendance:
        """One attendee's attendance (`field`: where the request names them, the prefix
        of the fields at fault; "" for a row of its own)."""
        at = f"{field}." if field else ""
        hours = domain.attended_hours(
            session, a.hours, a.checked_in_at, a.checked_out_at, field=field
        )
        if a.station_id is not None and a.station_id not in self.stations:
            await self.store.registry.visible_station(
                self.who, a.station_id, f"{at}station_id", open_only=False
            )
            self.stations.add(a.station_id)
        if a.attendee_kind == "social_worker" and a.attendee_id not in self.workers:
            where = await self.store.known_worker_region(a.attendee_id)
            # another province's social worker is refused as an unknown one
            if where is None or not self.who.can_see(where):
                raise DomainError(f"{at}attendee_id", f"unknown social worker {a.attendee_id}")
            self.workers.add(a.attendee_id)
        return ev.Attendance(**a.model_dump(include=ATTENDEE), hours=hours)
