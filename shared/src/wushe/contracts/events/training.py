"""Events of the training service: courses, sessions, attendance, supervision, evaluations.
Attendees appear by their registry or volunteer ids only."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from wushe.contracts.envelope import Event, EventPart
from wushe.contracts.registry import REGISTRY

COURSES = "training.courses"
SESSIONS = "training.sessions"
SUPERVISION = "training.supervision"
EVALUATIONS = "training.evaluations"

SessionKind = Literal["expert_training", "routine_study"]
Dimension = Literal[
    "administration", "service_results", "project_management", "finance", "social_impact"
]


@REGISTRY.register
class CourseCreated(Event, type="training.CourseCreated.v1", topic=COURSES):
    course_id: str
    region_code: str
    title: str
    series: str | None = None
    topics: list[str] = Field(default_factory=list)


@REGISTRY.register
class TrainingSessionScheduled(Event, type="training.TrainingSessionScheduled.v1", topic=SESSIONS):
    session_id: str
    region_code: str
    course_id: str | None = None
    kind: SessionKind
    mode: Literal["online", "on_site"]
    organiser_org_id: str | None = None
    session_date: date
    hours: float = Field(gt=0, le=12)


class Attendance(EventPart):
    attendee_kind: Literal["social_worker", "volunteer"]
    attendee_id: str
    station_id: str | None = None
    hours: float = Field(ge=0, le=12)
    credits: float = Field(0, ge=0, le=100)


@REGISTRY.register
class AttendanceRecorded(Event, type="training.AttendanceRecorded.v1", topic=SESSIONS):
    session_id: str
    region_code: str
    session_date: date
    attendances: list[Attendance]


class Checklist(EventPart):
    """The three-step method (三步法): materials, talks with staff, a site visit."""

    plans_checked: bool = False
    briefings_checked: bool = False
    photos_checked: bool = False
    staff_talk: bool = False
    site_visit: bool = False


class SupervisionVisitEvent(Event):
    """A station's monthly supervision visit (督导)."""

    visit_id: str
    station_id: str
    region_code: str


@REGISTRY.register
class SupervisionVisitPlanned(
    SupervisionVisitEvent, type="training.SupervisionVisitPlanned.v1", topic=SUPERVISION
):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    supervisor_id: str


@REGISTRY.register
class SupervisionVisitCompleted(
    SupervisionVisitEvent, type="training.SupervisionVisitCompleted.v1", topic=SUPERVISION
):
    month: str
    visited_on: date
    checklist: Checklist
    findings: int = Field(ge=0)
    rectification_items: int = Field(ge=0)


class RectificationEvent(Event):
    """A rectification item a supervision visit opened."""

    visit_id: str
    item_id: str
    station_id: str
    region_code: str


@REGISTRY.register
class RectificationItemOpened(
    RectificationEvent, type="training.RectificationItemOpened.v1", topic=SUPERVISION
):
    category: Literal["materials", "service_quality", "safety", "finance", "staffing", "other"]
    deadline: date


@REGISTRY.register
class RectificationItemClosed(
    RectificationEvent, type="training.RectificationItemClosed.v1", topic=SUPERVISION
):
    closed_on: date
    overdue: bool
    # Added after v1 (optional, so old events stay valid): who closed the item, the closing
    # official's token subject.
    closed_by: str | None = None


@REGISTRY.register
class EvaluationCompleted(Event, type="training.EvaluationCompleted.v1", topic=EVALUATIONS):
    """A third-party evaluation (第三方评估): weighted scores and the star rating it supports.
    The registry owns the rating and follows this event."""

    evaluation_id: str
    station_id: str
    region_code: str
    evaluator_org_id: str
    evaluated_on: date
    weights: dict[Dimension, int]
    scores: dict[Dimension, float]
    total: float = Field(ge=0, le=100)
    stars: int = Field(ge=1, le=5)
    # Added after v1 (optional, so old events stay valid): who recorded the evaluation, the
    # recording official's token subject (the evaluator is the organisation above).
    recorded_by: str | None = None
