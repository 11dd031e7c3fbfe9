"""The attendance ledger (hours): one per volunteer, holding their attendances and points,
so the anti-padding rules (no overlap, a daily maximum) and the never-negative balance are
checked against one document under optimistic concurrency.

Hours come from attendance, never from self-report: the organiser records (check-in and
check-out, or a held activity listing who served) and the organising station approves
(志愿服务记录办法: whoever organises records, whoever records certifies).
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from volunteers.domain.points import PointsRules, Redemption, points_for
from volunteers.domain.shifts import ServiceWindow
from volunteers.domain.volunteers import Volunteer, active
from wushe.clock import today as china_today
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.errors import Conflict, DomainError, DutiesSeparated

DAILY_MAXIMUM_MINUTES = 10 * 60


def aware(at: datetime, field: str) -> datetime:
    """A moment with its offset: a bare local time is ambiguous across the country."""
    if at.tzinfo is None:
        raise DomainError(field, "needs a UTC offset (e.g. +08:00)")
    return at


class Correction(BaseModel):
    correction_no: int
    previous_minutes: int
    minutes: int
    reason_code: ev.CorrectionReason
    note: str
    on: date


class Attendance(BaseModel):
    attendance_id: str
    service: ev.ServiceRef
    service_date: date
    status: Literal["open", "recorded", "approved", "rejected"]
    check_in: datetime | None = None
    check_out: datetime | None = None
    minutes: int = 0
    recorded_via: Literal["check_in", "activity_listing"]
    approved_by: str | None = None
    approved_on: date | None = None
    rejection: str | None = None
    rules_version: int | None = None
    points: int = 0
    corrections: list[Correction] = []
    activity_corrections: list[int] = []  # activity correction numbers already applied
    # Token subjects: who checked the volunteer in (or recorded them), who checked them out,
    # who rejected the minutes. None on attendances stored before they were kept, and on
    # those a held activity listed (that activity's verification certifies them).
    recorded_by: str | None = None
    checked_out_by: str | None = None
    rejected_by: str | None = None


class Ledger(BaseModel):
    """One volunteer's attendances and points (积分): the unit of consistency."""

    volunteer_id: str
    attendances: dict[str, Attendance] = {}
    balance: int = 0
    awarded: int = 0
    redeemed: int = 0
    redemptions: dict[str, Redemption] = {}


def attendance_id_for(volunteer_id: str, window: ServiceWindow) -> str:
    """One attendance per volunteer and activity or shift: checking in and being listed by
    the held activity are one record (one path, not two ledgers)."""
    digest = hashlib.sha256(
        f"{volunteer_id}|{window.source}|{window.source_id}".encode()
    ).hexdigest()
    return "att-" + digest[:20]


def _minutes_on(ledger: Ledger, day: date, *, besides: str) -> int:
    return sum(
        a.minutes
        for a in ledger.attendances.values()
        if a.service_date == day and a.status != "rejected" and a.attendance_id != besides
    )


def _counted_for(v: Volunteer) -> dict[str, Any]:
    """Whose counted attendance an event is: the volunteer and their own station."""
    return {
        "volunteer_id": v.volunteer_id,
        "volunteer_station_id": v.station_id,
        "volunteer_region_code": v.region_code,
    }


def _attendance(ledger: Ledger, attendance_id: str) -> Attendance:
    a = ledger.attendances.get(attendance_id)
    if a is None:
        raise DomainError("attendance_id", f"unknown attendance {attendance_id}")
    return a


def _with(ledger: Ledger, a: Attendance, **changes: Any) -> Ledger:
    return ledger.model_copy(
        update={"attendances": {**ledger.attendances, a.attendance_id: a}, **changes}
    )


def check_in(
    ledger: Ledger,
    v: Volunteer,
    window: ServiceWindow,
    *,
    at: datetime,
    now: datetime,
    recorded_by: str | None = None,
) -> tuple[Ledger, Event]:
    active(v)
    if not window.open:
        raise Conflict("source_id", f"{window.source_id} was cancelled")
    if at > now + timedelta(minutes=5):
        raise DomainError("at", "check-in must not be in the future")
    if not window.starts - timedelta(hours=1) <= at < window.ends:
        raise DomainError("at", f"outside the {window.source}'s time")
    aid = attendance_id_for(v.volunteer_id, window)
    if aid in ledger.attendances:
        raise Conflict("source_id", "already checked in to this activity or shift")
    if any(a.status == "open" for a in ledger.attendances.values()):
        raise Conflict("volunteer_id", "still checked in elsewhere: check out first")
    a = Attendance(
        attendance_id=aid,
        service=window.ref(),
        service_date=window.day,
        status="open",
        check_in=at,
        recorded_via="check_in",
        recorded_by=recorded_by,
    )
    return _with(ledger, a), ev.AttendanceCheckedIn.of(a, volunteer_id=v.volunteer_id)


def _overlaps(ledger: Ledger, aid: str, start: datetime, end: datetime) -> bool:
    for other in ledger.attendances.values():
        if other.attendance_id == aid or other.status == "rejected":
            continue
        if other.check_in and other.check_out and other.check_in < end and start < other.check_out:
            return True
    return False


def check_out(
    ledger: Ledger,
    window: ServiceWindow,
    attendance_id: str,
    *,
    at: datetime,
    now: datetime,
    daily_maximum: int = DAILY_MAXIMUM_MINUTES,
    checked_out_by: str | None = None,
) -> tuple[Ledger, Event]:
    """Close an attendance: the minutes counted are the part inside the activity's or
    shift's time; overlapping another attendance or passing the daily maximum is refused."""
    a = ledger.attendances.get(attendance_id)
    if a is None or a.check_in is None:
        raise DomainError("attendance_id", f"unknown attendance {attendance_id}")
    if a.status != "open":
        raise Conflict("attendance_id", f"already {a.status}")
    if at > now + timedelta(minutes=5):
        raise DomainError("at", "check-out must not be in the future")
    if at <= a.check_in:
        raise DomainError("at", "must be after the check-in")
    if china_today(at) != china_today(a.check_in):
        raise DomainError("at", "an attendance ends on the day it began (China time)")
    start, end = max(a.check_in, window.starts), min(at, window.ends)
    if end <= start:
        raise DomainError("at", f"no time inside the {window.source}'s hours")
    minutes = int((end - start).total_seconds() // 60)
    if _overlaps(ledger, attendance_id, start, end):
        raise DomainError("at", "overlaps another attendance of this volunteer")
    if _minutes_on(ledger, a.service_date, besides=attendance_id) + minutes > daily_maximum:
        raise DomainError("at", f"more than {daily_maximum // 60} hours of service in one day")
    closed = a.model_copy(
        update={
            "status": "recorded",
            "check_in": start,
            "check_out": end,
            "minutes": minutes,
            "checked_out_by": checked_out_by,
        }
    )
    return _with(ledger, closed), ev.AttendanceRecorded.of(closed, volunteer_id=ledger.volunteer_id)


def record_listed(
    ledger: Ledger,
    v: Volunteer,
    window: ServiceWindow,
    minutes: int,
    *,
    daily_maximum: int = DAILY_MAXIMUM_MINUTES,
) -> tuple[Ledger, list[Event]]:
    """A held activity lists the volunteer with their hours. A check-in at that activity
    already counts (one record); an open one is closed with the listed minutes. Listed
    minutes that would pass the daily maximum are recorded and rejected, visibly."""
    aid = attendance_id_for(v.volunteer_id, window)
    existing = ledger.attendances.get(aid)
    if existing is not None and existing.status != "open":
        return ledger, []
    a = existing or Attendance(
        attendance_id=aid,
        service=window.ref(),
        service_date=window.day,
        status="open",
        recorded_via="activity_listing",
    )
    a = a.model_copy(update={"status": "recorded", "minutes": minutes})
    recorded = ev.AttendanceRecorded.of(a, volunteer_id=v.volunteer_id)
    if _minutes_on(ledger, a.service_date, besides=aid) + minutes > daily_maximum:
        a = a.model_copy(update={"status": "rejected", "rejection": "daily_maximum"})
        rejected = ev.AttendanceRejected.of(
            a, volunteer_id=v.volunteer_id, reason_code="daily_maximum"
        )
        return _with(ledger, a), [recorded, rejected]
    return _with(ledger, a), [recorded]


def _award(
    ledger: Ledger, v: Volunteer, aid: str, version: int | None, points: int
) -> tuple[Ledger, Event | None]:
    """Points in or out; a take-back stops at zero (already redeemed points stay spent)."""
    points = max(points, -ledger.balance)
    if points == 0:
        return ledger, None
    balance = ledger.balance + points
    new = ledger.model_copy(update={"balance": balance, "awarded": ledger.awarded + points})
    return new, ev.PointsAwarded.of(
        v, attendance_id=aid, rules_version=version, points=points, balance=balance
    )


def check_decider(
    a: Attendance, v: Volunteer, subject: str, *, leaders: frozenset[str], field: str
) -> None:
    """Separation of duties on hours (志愿服务记录办法: the organiser records, the organising
    station certifies): whoever recorded the attendance, the volunteer themself, and a leader
    of one of the volunteer's teams may not approve or reject it. A subject is matched to a
    volunteer by the volunteer's id (volunteer records hold no sign-in account), so a team
    leader is refused when they act under their volunteer id; station staff acting under
    their own account are told apart only by having recorded the attendance."""
    if subject in {s for s in (a.recorded_by, a.checked_out_by) if s}:
        raise DutiesSeparated(
            field,
            f"{subject} recorded attendance {a.attendance_id}: "
            "whoever records hours may not approve or reject them",
        )
    if subject == v.volunteer_id:
        raise DutiesSeparated(field, "a volunteer may not approve or reject their own hours")
    if subject in leaders:
        raise DutiesSeparated(
            field,
            f"{subject} leads a team of {v.volunteer_id}: "
            "a team leader may not approve or reject their members' hours",
        )


def approve(
    ledger: Ledger,
    v: Volunteer,
    attendance_id: str,
    *,
    approved_by: str,
    on: date,
    rules: PointsRules | None,
    leaders: frozenset[str] = frozenset(),
) -> tuple[Ledger, list[Event]]:
    """Certify recorded minutes; `approved_by` is the caller's token subject (or, for hours a
    verified activity listed, that verification), `leaders` the leaders of the volunteer's
    teams (`check_decider`)."""
    a = _attendance(ledger, attendance_id)
    if a.status != "recorded":
        raise Conflict("attendance_id", f"only a recorded attendance can be approved ({a.status})")
    check_decider(a, v, approved_by, leaders=leaders, field="approved_by")
    version = rules.in_force(a.service_date) if rules else None
    points = points_for(a.minutes, version, v=v, day=a.service_date)
    number = version.version if version else None
    a = a.model_copy(
        update={
            "status": "approved",
            "approved_by": approved_by,
            "approved_on": on,
            "rules_version": number,
            "points": points,
        }
    )
    approved = ev.AttendanceApproved.of(a, **_counted_for(v))
    ledger, awarded = _award(_with(ledger, a), v, attendance_id, number, points)
    return ledger, [approved, *([awarded] if awarded else [])]


def reject(
    ledger: Ledger,
    attendance_id: str,
    *,
    reason_code: ev.RejectionReason,
    note: str,
    rejected_by: str,
    v: Volunteer,
    leaders: frozenset[str] = frozenset(),
) -> tuple[Ledger, Event]:
    """Refuse recorded (or open) minutes; who may is as for approval (`check_decider`)."""
    a = _attendance(ledger, attendance_id)
    if a.status not in ("open", "recorded"):
        raise Conflict("attendance_id", f"a {a.status} attendance cannot be rejected; correct it")
    check_decider(a, v, rejected_by, leaders=leaders, field="rejected_by")
    a = a.model_copy(
        update={
            "status": "rejected",
            "rejection": f"{reason_code}: {note}".strip(),
            "rejected_by": rejected_by,
        }
    )
    return _with(ledger, a), ev.AttendanceRejected.of(
        a, volunteer_id=ledger.volunteer_id, reason_code=reason_code
    )


def correct(
    ledger: Ledger,
    v: Volunteer,
    attendance_id: str,
    *,
    minutes: int,
    reason_code: ev.CorrectionReason,
    note: str,
    on: date,
    rules: PointsRules | None,
    daily_maximum: int = DAILY_MAXIMUM_MINUTES,
) -> tuple[Ledger, list[Event]]:
    """Approved minutes corrected with a reason (更正): the new minutes replace the old, the
    points follow under the rules version of the original award."""
    a = _attendance(ledger, attendance_id)
    if a.status != "approved":
        raise Conflict("attendance_id", f"only an approved attendance is corrected ({a.status})")
    if not note.strip():
        raise DomainError("note", "a correction needs its reason written down (更正说明)")
    if minutes == a.minutes:
        raise Conflict("minutes", "unchanged")
    if _minutes_on(ledger, a.service_date, besides=attendance_id) + minutes > daily_maximum:
        raise DomainError("minutes", f"more than {daily_maximum // 60} hours in one day")
    number = len(a.corrections) + 1
    version = rules.version(a.rules_version) if rules else None
    points = points_for(minutes, version, v=v, day=a.service_date)
    fix = Correction(
        correction_no=number,
        previous_minutes=a.minutes,
        minutes=minutes,
        reason_code=reason_code,
        note=note.strip(),
        on=on,
    )
    delta = points - a.points
    a = a.model_copy(
        update={"minutes": minutes, "points": points, "corrections": [*a.corrections, fix]}
    )
    corrected = ev.AttendanceCorrected.of(
        a,
        **_counted_for(v),
        correction_no=number,
        previous_minutes=fix.previous_minutes,
        reason_code=reason_code,
    )
    ledger, awarded = _award(_with(ledger, a), v, attendance_id, a.rules_version, delta)
    return ledger, [corrected, *([awarded] if awarded else [])]


def follow_activity_correction(
    ledger: Ledger,
    v: Volunteer,
    window: ServiceWindow,
    *,
    minutes: int,
    correction_no: int,
    on: date,
    rules: PointsRules | None,
    daily_maximum: int = DAILY_MAXIMUM_MINUTES,
) -> tuple[Ledger, list[Event]]:
    """A verified activity's correction names the volunteers and minutes anew: the ledger
    follows (a new listing is recorded and approved, a changed one corrected, a dropped one
    corrected to zero), once per correction number."""
    aid = attendance_id_for(v.volunteer_id, window)
    a = ledger.attendances.get(aid)
    if a is not None and correction_no in a.activity_corrections:
        return ledger, []
    events: list[Event] = []
    if a is None or a.status == "open":
        if minutes == 0:
            return ledger, []
        ledger, events = record_listed(ledger, v, window, minutes, daily_maximum=daily_maximum)
        if ledger.attendances[aid].status == "recorded":
            ledger, approved = approve(
                ledger, v, aid, approved_by=f"activity:{window.source_id}", on=on, rules=rules
            )
            events += approved
    elif a.status == "approved" and a.minutes != minutes:
        with contextlib.suppress(DomainError):  # past the daily maximum: minutes stand
            ledger, events = correct(
                ledger,
                v,
                aid,
                minutes=minutes,
                reason_code="activity_corrected",
                note=f"activity {window.source_id} correction {correction_no}",
                on=on,
                rules=rules,
                daily_maximum=daily_maximum,
            )
    a = ledger.attendances[aid]
    a = a.model_copy(update={"activity_corrections": [*a.activity_corrections, correction_no]})
    return _with(ledger, a), events
