"""Pure rules of training and supervision: commands in, events and new state out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from wushe.contracts import Event
from wushe.contracts.events import training as ev
from wushe.errors import Conflict, DomainError

# --------------------------------------------------------------------------- sessions


class Session(BaseModel):
    facts: ev.TrainingSessionScheduled
    attendances: list[ev.Attendance] = []


def schedule_session(facts: ev.TrainingSessionScheduled) -> tuple[Session, Event]:
    return Session(facts=facts), facts


def attended_hours(
    session: Session,
    hours: float | None,
    checked_in: datetime | None,
    checked_out: datetime | None,
    *,
    field: str,
) -> float:
    """Hours as given, or from check-in and check-out on the session's day (to the quarter
    hour), never more than the session lasted."""
    if checked_in is None and checked_out is None:
        if hours is None:
            raise DomainError(f"{field}.hours", "give hours, or check-in and check-out times")
        return hours
    if checked_in is None or checked_out is None:
        raise DomainError(f"{field}.checked_out_at", "check-in and check-out go together")
    if checked_out <= checked_in:
        raise DomainError(f"{field}.checked_out_at", "must be after the check-in")
    if checked_in.date() != session.facts.session_date:
        raise DomainError(f"{field}.checked_in_at", "must be on the session's day")
    derived = round((checked_out - checked_in).total_seconds() / 3600 * 4) / 4
    if hours is not None and abs(hours - derived) > 0.25:
        raise DomainError(f"{field}.hours", f"the check-in times give {derived} hours")
    return min(derived, session.facts.hours)


def record_attendance(
    session: Session, attendances: list[ev.Attendance], *, today: date
) -> tuple[Session, list[Event]]:
    """Attendance after the session, each attendee once, hours within the session's."""
    if session.facts.session_date > today:
        raise DomainError("attendances", "the session has not taken place yet")
    seen = {(a.attendee_kind, a.attendee_id) for a in session.attendances}
    new: list[ev.Attendance] = []
    for i, a in enumerate(attendances):
        key = (a.attendee_kind, a.attendee_id)
        if key in seen:
            raise Conflict(f"attendances[{i}].attendee_id", f"{a.attendee_id} is already recorded")
        if a.hours > session.facts.hours:
            raise DomainError(
                f"attendances[{i}].hours", f"more than the session's {session.facts.hours} hours"
            )
        seen.add(key)
        new.append(a)
    if not new:
        raise DomainError("attendances", "name at least one attendee")
    updated = session.model_copy(update={"attendances": [*session.attendances, *new]})
    f = session.facts
    return updated, [
        ev.AttendanceRecorded(
            session_id=f.session_id,
            region_code=f.region_code,
            session_date=f.session_date,
            attendances=new,
        )
    ]


# --------------------------------------------------------------------------- supervision


class Item(BaseModel):
    item_id: str
    category: str
    description: str
    deadline: date
    closed_on: date | None = None
    closing_note: str = ""

    def overdue(self, as_of: date) -> bool:
        """Open past its deadline, or closed after it."""
        if self.closed_on is None:
            return as_of > self.deadline
        return self.closed_on > self.deadline


class SupervisionVisit(BaseModel):
    visit_id: str
    station_id: str
    region_code: str
    month: str
    supervisor_id: str
    status: str = "planned"  # planned -> completed
    visited_on: date | None = None
    checklist: ev.Checklist = ev.Checklist()
    findings: list[str] = []
    items: list[Item] = []


def plan_visit(
    *, visit_id: str, station_id: str, region_code: str, month: str, supervisor_id: str
) -> tuple[SupervisionVisit, Event]:
    visit = SupervisionVisit(
        visit_id=visit_id,
        station_id=station_id,
        region_code=region_code,
        month=month,
        supervisor_id=supervisor_id,
    )
    return visit, ev.SupervisionVisitPlanned(
        visit_id=visit_id,
        station_id=station_id,
        region_code=region_code,
        month=month,
        supervisor_id=supervisor_id,
    )


def complete_visit(
    visit: SupervisionVisit,
    *,
    visited_on: date,
    checklist: ev.Checklist,
    findings: list[str],
    items: list[dict[str, Any]],
    today: date,
) -> tuple[SupervisionVisit, list[Event]]:
    """The three steps must all be done: materials (plans, briefings, photos), a talk with
    staff, a site visit. Each rectification item gets a deadline after the visit."""
    if visit.status != "planned":
        raise Conflict("status", "the visit is already completed")
    if visited_on > today:
        raise DomainError("visited_on", "must not be in the future")
    if visited_on.strftime("%Y-%m") != visit.month:
        raise DomainError("visited_on", f"the visit is planned for {visit.month}")
    missing = [name for name, done in checklist.model_dump().items() if not done]
    if missing:
        raise DomainError(
            f"checklist.{missing[0]}",
            "all three steps are required (materials, staff talk, site visit)",
        )
    new_items = []
    for i, raw in enumerate(items):
        if raw["deadline"] <= visited_on:
            raise DomainError(f"items[{i}].deadline", "must be after the visit")
        new_items.append(Item(item_id=f"{visit.visit_id}-{i + 1}", **raw))
    done = visit.model_copy(
        update={
            "status": "completed",
            "visited_on": visited_on,
            "checklist": checklist,
            "findings": findings,
            "items": new_items,
        }
    )
    events: list[Event] = [
        ev.SupervisionVisitCompleted(
            visit_id=visit.visit_id,
            station_id=visit.station_id,
            region_code=visit.region_code,
            month=visit.month,
            visited_on=visited_on,
            checklist=checklist,
            findings=len(findings),
            rectification_items=len(new_items),
        )
    ]
    events += [
        ev.RectificationItemOpened(
            visit_id=visit.visit_id,
            item_id=it.item_id,
            station_id=visit.station_id,
            region_code=visit.region_code,
            category=it.category,
            deadline=it.deadline,
        )
        for it in new_items
    ]
    return done, events


def close_item(
    visit: SupervisionVisit, item_id: str, *, closed_on: date, note: str, today: date
) -> tuple[SupervisionVisit, Event]:
    item = next((it for it in visit.items if it.item_id == item_id), None)
    if item is None:
        raise DomainError("item_id", f"no rectification item {item_id}")
    if item.closed_on is not None:
        raise Conflict("item_id", f"{item_id} is already closed")
    assert visit.visited_on is not None
    if not visit.visited_on <= closed_on <= today:
        raise DomainError("closed_on", "between the visit and today")
    if not note.strip():
        raise DomainError("note", "say how it was rectified")
    closed = item.model_copy(update={"closed_on": closed_on, "closing_note": note})
    items = [closed if it.item_id == item_id else it for it in visit.items]
    return visit.model_copy(update={"items": items}), ev.RectificationItemClosed(
        visit_id=visit.visit_id,
        item_id=item_id,
        station_id=visit.station_id,
        region_code=visit.region_code,
        closed_on=closed_on,
        overdue=closed.overdue(closed_on),
    )


def overdue_items(visits: list[SupervisionVisit], as_of: date) -> list[tuple[str, Item]]:
    """Open items past their deadline on `as_of` (closed late ones are history, not work)."""
    return [
        (v.station_id, it)
        for v in visits
        for it in v.items
        if it.closed_on is None and it.overdue(as_of)
    ]


# --------------------------------------------------------------------------- evaluations

DIMENSIONS: tuple[ev.Dimension, ...] = (
    "administration",
    "service_results",
    "project_management",
    "finance",
    "social_impact",
)
DEFAULT_WEIGHTS: dict[ev.Dimension, int] = {
    "administration": 15,
    "service_results": 35,
    "project_management": 20,
    "finance": 15,
    "social_impact": 15,
}
STAR_THRESHOLDS = ((90.0, 5), (80.0, 4), (70.0, 3), (60.0, 2))


def score(weights: dict[ev.Dimension, int], scores: dict[ev.Dimension, float]) -> tuple[float, int]:
    """The weighted total (0-100, one decimal) and the stars it supports."""
    if set(weights) != set(DIMENSIONS):
        raise DomainError("weights", f"weigh all five dimensions: {', '.join(DIMENSIONS)}")
    if any(w < 0 for w in weights.values()) or sum(weights.values()) != 100:
        raise DomainError("weights", "non-negative and summing to 100")
    if set(scores) != set(DIMENSIONS):
        raise DomainError("scores", f"score all five dimensions: {', '.join(DIMENSIONS)}")
    for d, s in scores.items():
        if not 0 <= s <= 100:
            raise DomainError(f"scores.{d}", "between 0 and 100")
    total = round(sum(weights[d] * scores[d] for d in DIMENSIONS) / 100, 1)
    stars = next((n for threshold, n in STAR_THRESHOLDS if total >= threshold), 1)
    return total, stars
