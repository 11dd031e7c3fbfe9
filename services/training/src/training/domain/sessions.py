"""Courses and their sessions (培训): a session scheduled in a region, the attendance of
social workers and volunteers after it, with the hours each attended."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from wushe.contracts import Event
from wushe.contracts.events import training as ev
from wushe.errors import Conflict, DomainError


def create_course(course: ev.CourseCreated) -> tuple[ev.CourseCreated, Event]:
    """A course is what its event says (its state is the event itself)."""
    return course, course


class Session(BaseModel):
    facts: ev.TrainingSessionScheduled
    attendances: list[ev.Attendance] = []


def schedule_session(
    facts: ev.TrainingSessionScheduled, *, course_known: bool = True
) -> tuple[Session, Event]:
    """`course_known`: the course the session names (if any) exists."""
    if not course_known:
        raise DomainError("course_id", f"unknown course {facts.course_id}")
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
    hour), never more than the session lasted. `field`: the prefix of the fields at fault
    ("" when the attendee's fields are a row's own)."""
    at = f"{field}." if field else ""
    if checked_in is None and checked_out is None:
        if hours is None:
            raise DomainError(f"{at}hours", "give hours, or check-in and check-out times")
        return hours
    if checked_in is None or checked_out is None:
        raise DomainError(f"{at}checked_out_at", "check-in and check-out go together")
    if checked_out <= checked_in:
        raise DomainError(f"{at}checked_out_at", "must be after the check-in")
    if checked_in.date() != session.facts.session_date:
        raise DomainError(f"{at}checked_in_at", "must be on the session's day")
    derived = round((checked_out - checked_in).total_seconds() / 3600 * 4) / 4
    if hours is not None and abs(hours - derived) > 0.25:
        raise DomainError(f"{at}hours", f"the check-in times give {derived} hours")
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
    return updated, [ev.AttendanceRecorded.of(session.facts, attendances=new)]
