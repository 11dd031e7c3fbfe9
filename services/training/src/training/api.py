"""Thin REST routers: parse, authorise (region scope from the token), call the domain, save."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from training import domain
from training.domain import Session, SupervisionVisit
from training.store import TrainingStore
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts.events import training as ev
from wushe.errors import DomainError
from wushe.store import ConcurrencyError
from wushe.validators import check_region_code
from wushe.web import IsoDate, Strict, domain_error, duplicate, today

router = APIRouter()


async def get_store(request: Request) -> TrainingStore:
    store: TrainingStore = request.app.state.training
    return store


Store = Annotated[TrainingStore, Depends(get_store)]


def in_scope(who: Principal, region_code: str, field: str = "region_code") -> str:
    try:
        code = check_region_code(region_code)
    except ValueError as exc:
        raise domain_error(DomainError(field, str(exc))) from None
    if not who.can_see(code):
        raise HTTPException(
            403,
            detail=[
                {
                    "loc": ["body", field],
                    "type": "scope",
                    "msg": f"{code} is outside your region scope {who.region_scope}",
                }
            ],
        )
    return code


async def visible_station(
    store: TrainingStore, who: Principal, station_id: str, field: str = "station_id"
) -> dict[str, Any]:
    station = await store.registry.station(station_id)
    if station is None or not who.can_see(station["region_code"]):
        raise domain_error(
            DomainError(
                field, f"unknown station {station_id} (not known from the registry's events)"
            )
        )
    return station


# --------------------------------------------------------------------------- courses


class CourseIn(Strict):
    course_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,60}$")
    region_code: str
    title: str = Field(min_length=1, max_length=200)
    series: str | None = Field(None, max_length=100)
    topics: list[str] = Field(default_factory=list, max_length=30)


@router.post("/courses", response_model=ev.CourseCreated, status_code=201, tags=["courses"])
async def create_course(body: CourseIn, store: Store, who: CurrentPrincipal) -> ev.CourseCreated:
    event = ev.CourseCreated(
        **{**body.model_dump(), "region_code": in_scope(who, body.region_code)}
    )
    try:
        await store.courses.append(body.course_id, 0, [event], event.model_dump(mode="json"))
    except ConcurrencyError:
        raise duplicate("course_id", f"{body.course_id} exists") from None
    return event


@router.get("/courses/{course_id}", response_model=ev.CourseCreated, tags=["courses"])
async def get_course(course_id: str, store: Store, who: CurrentPrincipal) -> ev.CourseCreated:
    loaded = await store.courses.load(course_id)
    if loaded.state is None or not who.can_see(loaded.state["region_code"]):
        raise HTTPException(404, f"course {course_id} not found")
    return ev.CourseCreated.model_validate(loaded.state)


# --------------------------------------------------------------------------- sessions


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


class AttendanceIn(Strict):
    attendances: list[CheckIn] = Field(min_length=1, max_length=1000)


class SessionOut(BaseModel):
    facts: ev.TrainingSessionScheduled
    attendances: list[ev.Attendance]
    person_times: int
    attendee_hours: float
    version: int


def session_out(s: Session, version: int) -> SessionOut:
    return SessionOut(
        facts=s.facts,
        attendances=s.attendances,
        person_times=len(s.attendances),
        attendee_hours=sum(a.hours for a in s.attendances),
        version=version,
    )


@router.post("/sessions", response_model=SessionOut, status_code=201, tags=["sessions"])
async def schedule_session(body: SessionIn, store: Store, who: CurrentPrincipal) -> SessionOut:
    region = in_scope(who, body.region_code)
    if body.course_id is not None:
        course = await store.courses.load(body.course_id)
        if course.state is None:
            raise domain_error(DomainError("course_id", f"unknown course {body.course_id}"))
    session_id = body.session_id or f"ts-{uuid.uuid4().hex[:20]}"
    facts = ev.TrainingSessionScheduled(
        **{**body.model_dump(), "session_id": session_id, "region_code": region}
    )
    session, event = domain.schedule_session(facts)
    try:
        version = await store.sessions.save_model(session_id, 0, session, [event])
    except ConcurrencyError:
        raise duplicate("session_id", f"{session_id} exists") from None
    return session_out(session, version)


async def visible_session(
    store: TrainingStore, who: Principal, session_id: str
) -> tuple[Session, int]:
    session, version = await store.sessions.load_model(session_id, Session)
    if session is None or not who.can_see(session.facts.region_code):
        raise HTTPException(404, f"session {session_id} not found")
    return session, version


@router.get("/sessions/{session_id}", response_model=SessionOut, tags=["sessions"])
async def get_session(session_id: str, store: Store, who: CurrentPrincipal) -> SessionOut:
    return session_out(*await visible_session(store, who, session_id))


@router.post("/sessions/{session_id}/attendance", response_model=SessionOut, tags=["sessions"])
async def record_attendance(
    session_id: str, body: AttendanceIn, store: Store, who: CurrentPrincipal
) -> SessionOut:
    """Attendance (签到) of social workers (by their registry id) and volunteers."""
    session, version = await visible_session(store, who, session_id)
    attendances = []
    stations: set[str] = set()  # each station looked up once (a city's training names many)
    for i, a in enumerate(body.attendances):
        try:
            hours = domain.attended_hours(
                session, a.hours, a.checked_in_at, a.checked_out_at, field=f"attendances[{i}]"
            )
        except DomainError as exc:
            raise domain_error(exc) from None
        attendances.append(
            ev.Attendance(
                attendee_kind=a.attendee_kind,
                attendee_id=a.attendee_id,
                station_id=a.station_id,
                hours=hours,
                credits=a.credits,
            )
        )
        if a.station_id is not None and a.station_id not in stations:
            await visible_station(store, who, a.station_id, f"attendances[{i}].station_id")
            stations.add(a.station_id)
        if a.attendee_kind == "social_worker":
            worker = await store.registry.social_worker(a.attendee_id)
            # another province's social worker is refused as an unknown one
            if worker is None or not who.can_see(worker.get("region_code")):
                raise domain_error(
                    DomainError(
                        f"attendances[{i}].attendee_id", f"unknown social worker {a.attendee_id}"
                    )
                )
    try:
        new, events = domain.record_attendance(session, attendances, today=today())
    except DomainError as exc:
        raise domain_error(exc) from None
    return session_out(new, await store.sessions.save_model(session_id, version, new, events))


# --------------------------------------------------------------------------- supervision


class VisitIn(Strict):
    station_id: str = Field(max_length=40)
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    supervisor_id: str = Field(min_length=1, max_length=64)


class ItemIn(Strict):
    category: Literal["materials", "service_quality", "safety", "finance", "staffing", "other"]
    description: str = Field(min_length=1, max_length=1000)
    deadline: date


class CompletionIn(Strict):
    visited_on: date
    checklist: ev.Checklist
    findings: list[Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=list, max_length=50
    )
    items: list[ItemIn] = Field(default_factory=list, max_length=50)


class ItemClosureIn(Strict):
    closed_on: date
    note: str = Field(min_length=1, max_length=1000)


class VisitOut(SupervisionVisit):
    version: int


class OverdueItem(BaseModel):
    station_id: str
    item: domain.Item
    days_overdue: int


@router.post("/supervision-visits", response_model=VisitOut, status_code=201, tags=["supervision"])
async def plan_visit(body: VisitIn, store: Store, who: CurrentPrincipal) -> VisitOut:
    """One supervision visit (督导) per station and month."""
    station = await visible_station(store, who, body.station_id)
    visit_id = f"sv-{body.station_id}-{body.month}"
    visit, event = domain.plan_visit(
        visit_id=visit_id,
        station_id=body.station_id,
        region_code=station["region_code"],
        month=body.month,
        supervisor_id=body.supervisor_id,
    )
    try:
        commit = await store.visits.append(visit_id, 0, [event], visit.model_dump(mode="json"))
    except ConcurrencyError:
        raise HTTPException(
            409,
            detail=[
                {
                    "loc": ["body", "month"],
                    "type": "duplicate",
                    "msg": f"{body.station_id} already has a visit in {body.month}",
                }
            ],
        ) from None
    return VisitOut(**visit.model_dump(), version=commit.version)


async def visible_visit(
    store: TrainingStore, who: Principal, visit_id: str
) -> tuple[SupervisionVisit, int]:
    visit, version = await store.visits.load_model(visit_id, SupervisionVisit)
    if visit is None or not who.can_see(visit.region_code):
        raise HTTPException(404, f"supervision visit {visit_id} not found")
    return visit, version


@router.post(
    "/supervision-visits/{visit_id}/completion", response_model=VisitOut, tags=["supervision"]
)
async def complete_visit(
    visit_id: str, body: CompletionIn, store: Store, who: CurrentPrincipal
) -> VisitOut:
    visit, version = await visible_visit(store, who, visit_id)
    try:
        new, events = domain.complete_visit(
            visit,
            visited_on=body.visited_on,
            checklist=body.checklist,
            findings=body.findings,
            items=[i.model_dump() for i in body.items],
            today=today(),
        )
    except DomainError as exc:
        raise domain_error(exc) from None
    return VisitOut(
        **new.model_dump(), version=await store.visits.save_model(visit_id, version, new, events)
    )


@router.post(
    "/supervision-visits/{visit_id}/items/{item_id}/closure",
    response_model=VisitOut,
    tags=["supervision"],
)
async def close_item(
    visit_id: str, item_id: str, body: ItemClosureIn, store: Store, who: CurrentPrincipal
) -> VisitOut:
    visit, version = await visible_visit(store, who, visit_id)
    try:
        new, event = domain.close_item(
            visit, item_id, closed_on=body.closed_on, note=body.note, today=today()
        )
    except DomainError as exc:
        raise domain_error(exc) from None
    return VisitOut(
        **new.model_dump(), version=await store.visits.save_model(visit_id, version, new, [event])
    )


@router.get("/supervision/overdue", response_model=list[OverdueItem], tags=["supervision"])
async def overdue(
    store: Store, who: CurrentPrincipal, as_of: IsoDate | None = None
) -> list[OverdueItem]:
    """Rectification items still open past their deadline, in the caller's region."""
    day = as_of or today()
    visits = await store.visits_in(who.region_scope, SupervisionVisit)
    return [
        OverdueItem(station_id=sid, item=item, days_overdue=(day - item.deadline).days)
        for sid, item in domain.overdue_items(visits, day)
    ]


# --------------------------------------------------------------------------- evaluations


class EvaluationIn(Strict):
    station_id: str = Field(max_length=40)
    evaluator_org_id: str = Field(
        min_length=1, max_length=64, description="the evaluating organisation's registry id"
    )
    evaluated_on: date
    weights: dict[ev.Dimension, int] = Field(default_factory=lambda: dict(domain.DEFAULT_WEIGHTS))
    scores: dict[ev.Dimension, float]


@router.post(
    "/evaluations", response_model=ev.EvaluationCompleted, status_code=201, tags=["evaluations"]
)
async def record_evaluation(
    body: EvaluationIn, store: Store, who: CurrentPrincipal
) -> ev.EvaluationCompleted:
    """A third-party evaluation; the registry follows it with the station's star rating."""
    station = await visible_station(store, who, body.station_id)
    if body.evaluated_on > today():
        raise domain_error(DomainError("evaluated_on", "must not be in the future"))
    try:
        total, stars = domain.score(body.weights, body.scores)
    except DomainError as exc:
        raise domain_error(exc) from None
    # The evaluator becomes the station's rating's author: an organisation the registry
    # knows, and one of the caller's (another province's looks unknown, decision 0026).
    evaluator = await store.registry.organisation(body.evaluator_org_id)
    if evaluator is None or not who.shares_scope([evaluator["region_code"]]):
        raise domain_error(
            DomainError(
                "evaluator_org_id",
                f"unknown organisation {body.evaluator_org_id} (not known from the registry's"
                " events)",
            )
        )
    evaluation_id = f"ev-{uuid.uuid4().hex[:20]}"
    event = ev.EvaluationCompleted(
        evaluation_id=evaluation_id,
        station_id=body.station_id,
        region_code=station["region_code"],
        evaluator_org_id=body.evaluator_org_id,
        evaluated_on=body.evaluated_on,
        weights=body.weights,
        scores=body.scores,
        total=total,
        stars=stars,
    )
    await store.evaluations.append(evaluation_id, 0, [event], event.model_dump(mode="json"))
    return event


@router.get(
    "/evaluations/{evaluation_id}", response_model=ev.EvaluationCompleted, tags=["evaluations"]
)
async def get_evaluation(
    evaluation_id: str, store: Store, who: CurrentPrincipal
) -> ev.EvaluationCompleted:
    loaded = await store.evaluations.load(evaluation_id)
    if loaded.state is None or not who.can_see(loaded.state["region_code"]):
        raise HTTPException(404, f"evaluation {evaluation_id} not found")
    return ev.EvaluationCompleted.model_validate(loaded.state)
