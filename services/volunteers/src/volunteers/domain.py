"""Pure rules of the volunteers service: commands in, events and new state out, no I/O.

Hours come from attendance, never from self-report: the organiser records (check-in and
check-out, or a held activity listing who served) and the organising station approves
(志愿服务记录办法: whoever organises records, whoever records certifies). A volunteer's
attendances and points live in one *ledger* per volunteer, so the anti-padding rules (no
overlap, a daily maximum) and the never-negative balance are checked against one document
under optimistic concurrency: two concurrent writers cannot both pass a check.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from wushe import clock
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.errors import Conflict, DomainError
from wushe.validators import age_on, check_mobile, check_resident_id, resident_id_birth_date

ELDER_AGE = 60
MIN_AGE = 8  # younger children serve only alongside a guardian, not as registered volunteers
ADULT_AGE = 18
DAILY_MAXIMUM_MINUTES = 10 * 60
Skill = Literal[
    "elder_care",
    "child_care",
    "medical",
    "psychological",
    "legal",
    "digital",
    "anti_fraud",
    "cooking",
    "repair",
    "culture",
    "other",
]

# --------------------------------------------------------------------------- references


class KnownStation(BaseModel):
    """What this service knows of a station, from registry events (never a remote call)."""

    station_id: str
    region_code: str
    status: str


class KnownProgramme(BaseModel):
    programme_id: str
    scope_regions: list[str] = []
    start_date: date
    end_date: date
    enrolled: list[str] = []
    counts_backbones: bool = False


def check_station(station: KnownStation | None, station_id: str, field: str) -> KnownStation:
    if station is None:
        raise DomainError(field, f"unknown station {station_id} (not known from registry events)")
    if station.status == "closed":
        raise Conflict(field, f"{station_id} is closed")
    return station


# --------------------------------------------------------------------------- volunteers


class BackboneStatus(BaseModel):
    programme_id: str | None
    since: date
    reason_code: str


class Volunteer(BaseModel):
    volunteer_id: str
    station_id: str
    region_code: str
    status: Literal["active", "deregistered"] = "active"
    registered_on: date
    age_band: ev.AgeBand
    elder_volunteer: bool
    guardian_consent: bool = False
    skills: list[str] = []
    # Personal data: encrypted (wushe.pii.Vault) and masked copies; never in events or logs.
    name_enc: str
    name_masked: str
    id_number_enc: str
    id_number_masked: str
    phone_enc: str | None = None
    phone_masked: str | None = None
    backbone: dict[str, BackboneStatus] = {}  # by programme id, "general" for none
    history: list[dict[str, Any]] = []


def age_band(age: int) -> ev.AgeBand:
    if age < ADULT_AGE:
        return "under_18"
    if age < 35:
        return "18_34"
    if age < ELDER_AGE:
        return "35_59"
    return "60_plus"


class Identity(BaseModel):
    name: str
    id_number: str
    phone: str | None
    birth_date: date
    age: int


def check_identity(
    *, name: str, id_number: str, phone: str | None, guardian_consent: bool, on: date
) -> Identity:
    """Real-name registration (实名注册): a valid ID number, an age the rules allow."""
    name = name.strip()
    if not name or len(name) > 40:
        raise DomainError("name", "1 to 40 characters")
    try:
        id_number = check_resident_id(id_number, today=on)
    except ValueError as exc:
        raise DomainError("id_number", str(exc)) from None
    birth = resident_id_birth_date(id_number)
    age = age_on(birth, on)
    if age < MIN_AGE:
        raise DomainError("id_number", f"volunteers must be at least {MIN_AGE} years old")
    if age < ADULT_AGE and not guardian_consent:
        raise DomainError(
            "guardian_consent", "a volunteer under 18 needs a guardian's consent (监护人同意)"
        )
    if phone is not None:
        try:
            phone = check_mobile(phone)
        except ValueError as exc:
            raise DomainError("phone", str(exc)) from None
    return Identity(name=name, id_number=id_number, phone=phone, birth_date=birth, age=age)


def register_event(v: Volunteer) -> ev.VolunteerRegistered:
    return ev.VolunteerRegistered(
        volunteer_id=v.volunteer_id,
        station_id=v.station_id,
        region_code=v.region_code,
        registered_on=v.registered_on,
        age_band=v.age_band,
        elder_volunteer=v.elder_volunteer,
        skills=v.skills,
    )


def _active(v: Volunteer) -> None:
    if v.status != "active":
        raise Conflict("volunteer_id", f"{v.volunteer_id} is deregistered")


def _check_day(on: date, today: date, field: str) -> None:
    if on > today:
        raise DomainError(field, "must not be in the future")


def backbone_key(programme_id: str | None) -> str:
    return programme_id or "general"


def promote(
    v: Volunteer,
    programme: KnownProgramme | None,
    *,
    programme_id: str | None,
    on: date,
    reason_code: ev.BackboneReason,
    note: str,
    today: date,
) -> tuple[Volunteer, Event]:
    _active(v)
    _check_day(on, today, "promoted_on")
    if on < v.registered_on:
        raise DomainError("promoted_on", "before the volunteer registered")
    if programme_id is not None:
        if programme is None:
            raise DomainError("programme_id", f"unknown programme {programme_id}")
        if not programme.counts_backbones:
            raise DomainError("programme_id", f"{programme_id} does not count backbones")
        if v.station_id not in programme.enrolled:
            raise DomainError("programme_id", f"{v.station_id} is not enrolled in {programme_id}")
        if not programme.start_date <= on <= programme.end_date:
            raise DomainError("promoted_on", f"outside the period of {programme_id}")
    key = backbone_key(programme_id)
    if key in v.backbone:
        raise Conflict("programme_id", "already a backbone volunteer (骨干) for this programme")
    status = BackboneStatus(programme_id=programme_id, since=on, reason_code=reason_code)
    new = v.model_copy(
        update={
            "backbone": {**v.backbone, key: status},
            "history": [*v.history, _change("promoted", programme_id, on, reason_code, note)],
        }
    )
    return new, ev.BackbonePromoted(
        volunteer_id=v.volunteer_id,
        station_id=v.station_id,
        region_code=v.region_code,
        programme_id=programme_id,
        promoted_on=on,
        reason_code=reason_code,
    )


def _change(action: str, programme_id: str | None, on: date, reason: str, note: str) -> Any:
    return {
        "action": action,
        "programme_id": programme_id,
        "on": on.isoformat(),
        "reason_code": reason,
        "note": note.strip(),
    }


def demote(
    v: Volunteer,
    *,
    programme_id: str | None,
    on: date,
    reason_code: ev.DemotionReason,
    note: str,
    today: date,
) -> tuple[Volunteer, Event]:
    _check_day(on, today, "demoted_on")
    status = v.backbone.get(backbone_key(programme_id))
    if status is None:
        raise Conflict("programme_id", "not a backbone volunteer for this programme")
    if on < status.since:
        raise DomainError("demoted_on", "before the promotion")
    backbone = {k: s for k, s in v.backbone.items() if k != backbone_key(programme_id)}
    new = v.model_copy(
        update={
            "backbone": backbone,
            "history": [*v.history, _change("demoted", programme_id, on, reason_code, note)],
        }
    )
    return new, ev.BackboneDemoted(
        volunteer_id=v.volunteer_id,
        station_id=v.station_id,
        region_code=v.region_code,
        programme_id=programme_id,
        demoted_on=on,
        reason_code=reason_code,
    )


def _demote_all(
    v: Volunteer, on: date, reason: ev.DemotionReason, today: date
) -> tuple[Volunteer, list[Event]]:
    events: list[Event] = []
    for status in list(v.backbone.values()):
        v, e = demote(
            v,
            programme_id=status.programme_id,
            on=max(on, status.since),
            reason_code=reason,
            note="",
            today=max(today, status.since),
        )
        events.append(e)
    return v, events


def move(
    v: Volunteer, station: KnownStation, *, on: date, today: date
) -> tuple[Volunteer, list[Event]]:
    """A new station affiliation; backbone status belongs to the old station and ends."""
    _active(v)
    _check_day(on, today, "moved_on")
    if station.station_id == v.station_id:
        raise Conflict("station_id", "already affiliated with this station")
    v, events = _demote_all(v, on, "moved_away", today)
    moved = ev.VolunteerMoved(
        volunteer_id=v.volunteer_id,
        from_station_id=v.station_id,
        from_region_code=v.region_code,
        station_id=station.station_id,
        region_code=station.region_code,
        moved_on=on,
        elder_volunteer=v.elder_volunteer,
    )
    v = v.model_copy(update={"station_id": station.station_id, "region_code": station.region_code})
    return v, [*events, moved]


def deregister(
    v: Volunteer, *, on: date, reason_code: Any, today: date
) -> tuple[Volunteer, list[Event]]:
    _active(v)
    _check_day(on, today, "deregistered_on")
    v, events = _demote_all(
        v, on, "own_request" if reason_code == "own_request" else "other", today
    )
    gone = ev.VolunteerDeregistered(
        volunteer_id=v.volunteer_id,
        station_id=v.station_id,
        region_code=v.region_code,
        deregistered_on=on,
        reason_code=reason_code,
        elder_volunteer=v.elder_volunteer,
    )
    return v.model_copy(update={"status": "deregistered"}), [*events, gone]


# --------------------------------------------------------------------------- teams


class Team(BaseModel):
    team_id: str
    station_id: str
    region_code: str
    name: str
    service_area: str | None = None
    formed_on: date
    members: dict[str, date] = {}
    leader: str | None = None


def _team_event(team: Team, cls: type[Event], volunteer_id: str, **dates: date) -> Event:
    return cls(
        team_id=team.team_id,
        station_id=team.station_id,
        region_code=team.region_code,
        volunteer_id=volunteer_id,
        **dates,
    )


def join_team(team: Team, v: Volunteer, *, on: date, today: date) -> tuple[Team, Event]:
    _active(v)
    _check_day(on, today, "joined_on")
    if v.station_id != team.station_id:
        raise DomainError("volunteer_id", "a team takes volunteers of its own station")
    if v.volunteer_id in team.members:
        raise Conflict("volunteer_id", "already a member")
    if on < team.formed_on:
        raise DomainError("joined_on", "before the team was formed")
    new = team.model_copy(update={"members": {**team.members, v.volunteer_id: on}})
    return new, _team_event(team, ev.TeamMemberJoined, v.volunteer_id, joined_on=on)


def leave_team(team: Team, volunteer_id: str, *, on: date, today: date) -> tuple[Team, Event]:
    _check_day(on, today, "left_on")
    joined = team.members.get(volunteer_id)
    if joined is None:
        raise Conflict("volunteer_id", "not a member")
    if on < joined:
        raise DomainError("left_on", "before joining")
    members = {k: d for k, d in team.members.items() if k != volunteer_id}
    leader = None if team.leader == volunteer_id else team.leader
    new = team.model_copy(update={"members": members, "leader": leader})
    return new, _team_event(team, ev.TeamMemberLeft, volunteer_id, left_on=on)


def appoint_leader(team: Team, volunteer_id: str, *, on: date, today: date) -> tuple[Team, Event]:
    _check_day(on, today, "appointed_on")
    if volunteer_id not in team.members:
        raise DomainError("volunteer_id", "the leader must be a member")
    if team.leader == volunteer_id:
        raise Conflict("volunteer_id", "already the leader")
    new = team.model_copy(update={"leader": volunteer_id})
    return new, _team_event(team, ev.TeamLeaderAppointed, volunteer_id, appointed_on=on)


# --------------------------------------------------------------------------- shifts and windows


class Shift(BaseModel):
    shift_id: str
    station_id: str
    region_code: str
    shift_date: date
    starts_at: time
    ends_at: time
    duty: str


def schedule_shift(shift: Shift) -> Event:
    if shift.ends_at <= shift.starts_at:
        raise DomainError("ends_at", "must be after starts_at (a shift stays within one day)")
    return ev.ShiftScheduled(
        shift_id=shift.shift_id,
        station_id=shift.station_id,
        region_code=shift.region_code,
        shift_date=shift.shift_date,
        starts_at=shift.starts_at.strftime("%H:%M"),
        ends_at=shift.ends_at.strftime("%H:%M"),
        duty=shift.duty,
    )


class ServiceWindow(BaseModel):
    """Where and when hours can be served: an activity's day or a shift's hours (China time)."""

    source: ev.AttendanceSource
    source_id: str
    station_id: str
    region_code: str
    day: date
    starts: datetime
    ends: datetime
    open: bool = True  # false: the activity was cancelled

    def ref(self) -> ev.ServiceRef:
        return ev.ServiceRef(
            source=self.source,
            source_id=self.source_id,
            station_id=self.station_id,
            region_code=self.region_code,
        )


def _local(day: date, t: time) -> datetime:
    return datetime.combine(day, t, tzinfo=clock.CHINA)


def shift_window(s: Shift) -> ServiceWindow:
    return ServiceWindow(
        source="shift",
        source_id=s.shift_id,
        station_id=s.station_id,
        region_code=s.region_code,
        day=s.shift_date,
        starts=_local(s.shift_date, s.starts_at),
        ends=_local(s.shift_date, s.ends_at),
    )


def activity_window(
    activity_id: str, station_id: str, region_code: str, day: date, *, cancelled: bool
) -> ServiceWindow:
    return ServiceWindow(
        source="activity",
        source_id=activity_id,
        station_id=station_id,
        region_code=region_code,
        day=day,
        starts=_local(day, time(0, 0)),
        ends=_local(day + timedelta(days=1), time(0, 0)),
        open=not cancelled,
    )


# --------------------------------------------------------------------------- points rules


class RulesVersion(BaseModel):
    version: int
    effective_from: date
    points_per_hour: int
    bonuses: list[ev.Bonus] = []


class PointsRules(BaseModel):
    """A province's points rules (积分规则), versioned; a version applies from its date on."""

    rules_id: str
    region_code: str
    versions: list[RulesVersion] = []

    def in_force(self, on: date) -> RulesVersion | None:
        fitting = [v for v in self.versions if v.effective_from <= on]
        return max(fitting, key=lambda v: (v.effective_from, v.version)) if fitting else None

    def version(self, n: int | None) -> RulesVersion | None:
        return next((v for v in self.versions if v.version == n), None)


def publish_rules(
    rules: PointsRules,
    *,
    effective_from: date,
    points_per_hour: int,
    bonuses: list[ev.Bonus],
    today: date,
) -> tuple[PointsRules, Event]:
    """A new version, never retroactive: approvals already given keep their points."""
    if effective_from < today:
        raise DomainError("effective_from", "rules apply from today or later, never backwards")
    kinds = [b.when for b in bonuses]
    if len(set(kinds)) != len(kinds):
        raise DomainError("bonuses", "one bonus per condition")
    version = RulesVersion(
        version=len(rules.versions) + 1,
        effective_from=effective_from,
        points_per_hour=points_per_hour,
        bonuses=bonuses,
    )
    new = rules.model_copy(update={"versions": [*rules.versions, version]})
    return new, ev.PointsRulesPublished(
        rules_id=rules.rules_id,
        region_code=rules.region_code,
        version=version.version,
        effective_from=effective_from,
        points_per_hour=points_per_hour,
        bonuses=bonuses,
    )


def points_for(minutes: int, rules: RulesVersion | None, *, v: Volunteer, day: date) -> int:
    """Whole points for approved minutes: per-hour rate plus the bonuses that apply."""
    if rules is None:
        return 0
    applies = {
        "backbone": bool(v.backbone),
        "elder_volunteer": v.elder_volunteer,
        "weekend": day.weekday() >= 5,
    }
    percent = 100 + sum(b.extra_percent for b in rules.bonuses if applies[b.when])
    return minutes * rules.points_per_hour * percent // (60 * 100)


# --------------------------------------------------------------------------- the ledger


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


class Redemption(BaseModel):
    redemption_id: str
    points: int
    item: str
    redeemed_on: date
    balance: int


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


def _about(volunteer_id: str, a: Attendance) -> dict[str, Any]:
    """The fields every attendance event starts with."""
    return {
        "attendance_id": a.attendance_id,
        "volunteer_id": volunteer_id,
        "service": a.service,
        "service_date": a.service_date,
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
    ledger: Ledger, v: Volunteer, window: ServiceWindow, *, at: datetime, now: datetime
) -> tuple[Ledger, Event]:
    _active(v)
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
    )
    return _with(ledger, a), ev.AttendanceCheckedIn(
        **_about(v.volunteer_id, a),
    )


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
    if clock.today(at) != clock.today(a.check_in):
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
        update={"status": "recorded", "check_in": start, "check_out": end, "minutes": minutes}
    )
    return _with(ledger, closed), ev.AttendanceRecorded(
        **_about(ledger.volunteer_id, a),
        minutes=minutes,
    )


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
    recorded = ev.AttendanceRecorded(
        **_about(v.volunteer_id, a),
        minutes=minutes,
    )
    if _minutes_on(ledger, a.service_date, besides=aid) + minutes > daily_maximum:
        a = a.model_copy(update={"status": "rejected", "rejection": "daily_maximum"})
        rejected = ev.AttendanceRejected(
            **_about(v.volunteer_id, a),
            reason_code="daily_maximum",
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
    return new, ev.PointsAwarded(
        volunteer_id=v.volunteer_id,
        station_id=v.station_id,
        region_code=v.region_code,
        attendance_id=aid,
        rules_version=version,
        points=points,
        balance=balance,
    )


def approve(
    ledger: Ledger,
    v: Volunteer,
    attendance_id: str,
    *,
    approved_by: str,
    on: date,
    rules: PointsRules | None,
) -> tuple[Ledger, list[Event]]:
    a = _attendance(ledger, attendance_id)
    if a.status != "recorded":
        raise Conflict("attendance_id", f"only a recorded attendance can be approved ({a.status})")
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
    approved = ev.AttendanceApproved(
        attendance_id=attendance_id,
        volunteer_id=v.volunteer_id,
        volunteer_station_id=v.station_id,
        volunteer_region_code=v.region_code,
        service=a.service,
        service_date=a.service_date,
        minutes=a.minutes,
        approved_on=on,
    )
    ledger, awarded = _award(_with(ledger, a), v, attendance_id, number, points)
    return ledger, [approved, *([awarded] if awarded else [])]


def reject(
    ledger: Ledger, attendance_id: str, *, reason_code: ev.RejectionReason, note: str
) -> tuple[Ledger, Event]:
    a = _attendance(ledger, attendance_id)
    if a.status not in ("open", "recorded"):
        raise Conflict("attendance_id", f"a {a.status} attendance cannot be rejected; correct it")
    a = a.model_copy(update={"status": "rejected", "rejection": f"{reason_code}: {note}".strip()})
    return _with(ledger, a), ev.AttendanceRejected(
        **_about(ledger.volunteer_id, a),
        reason_code=reason_code,
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
    corrected = ev.AttendanceCorrected(
        attendance_id=attendance_id,
        volunteer_id=v.volunteer_id,
        volunteer_station_id=v.station_id,
        volunteer_region_code=v.region_code,
        service=a.service,
        service_date=a.service_date,
        correction_no=number,
        previous_minutes=fix.previous_minutes,
        minutes=minutes,
        reason_code=reason_code,
    )
    ledger, awarded = _award(_with(ledger, a), v, attendance_id, a.rules_version, delta)
    return ledger, [corrected, *([awarded] if awarded else [])]


def redeem(
    ledger: Ledger,
    v: Volunteer,
    *,
    redemption_id: str,
    points: int,
    item: str,
    on: date,
) -> tuple[Ledger, Redemption, list[Event]]:
    """Spend points at the public-welfare supermarket (公益超市). The same redemption id
    returns the first outcome (no second effect); the balance never goes below zero."""
    done = ledger.redemptions.get(redemption_id)
    if done is not None:
        return ledger, done, []
    _active(v)
    if points <= 0:
        raise DomainError("points", "must be positive")
    if points > ledger.balance:
        raise Conflict("points", f"only {ledger.balance} points available")
    balance = ledger.balance - points
    r = Redemption(
        redemption_id=redemption_id,
        points=points,
        item=item.strip(),
        redeemed_on=on,
        balance=balance,
    )
    new = ledger.model_copy(
        update={
            "balance": balance,
            "redeemed": ledger.redeemed + points,
            "redemptions": {**ledger.redemptions, redemption_id: r},
        }
    )
    return (
        new,
        r,
        [
            ev.PointsRedeemed(
                volunteer_id=v.volunteer_id,
                station_id=v.station_id,
                region_code=v.region_code,
                redemption_id=redemption_id,
                points=points,
                balance=balance,
                redeemed_on=on,
            )
        ],
    )


# --------------------------------------------------------------------------- certificates


def certificate_record(
    v: Volunteer,
    ledger: Ledger,
    *,
    period_start: date,
    period_end: date,
    issued_on: date,
    issuer: str,
) -> dict[str, Any]:
    """The canonical service record a certificate (志愿服务记录证明) attests: approved
    attendances in the period, their minutes after corrections, and the total."""
    if period_end < period_start:
        raise DomainError("period_end", "before period_start")
    if period_end > issued_on:
        raise DomainError("period_end", "a certificate covers past service only")
    entries = sorted(
        (
            {
                "attendance_id": a.attendance_id,
                "service_date": a.service_date.isoformat(),
                "source": a.service.source,
                "source_id": a.service.source_id,
                "station_id": a.service.station_id,
                "minutes": a.minutes,
            }
            for a in ledger.attendances.values()
            if a.status == "approved" and period_start <= a.service_date <= period_end
        ),
        key=lambda e: (e["service_date"], e["attendance_id"]),
    )
    total = sum(
        a.minutes
        for a in ledger.attendances.values()
        if a.status == "approved" and period_start <= a.service_date <= period_end
    )
    return {
        "format": "wushe.volunteer-service-record.v1",
        "volunteer_id": v.volunteer_id,
        "name": v.name_masked,
        "id_number": v.id_number_masked,
        "station_id": v.station_id,
        "region_code": v.region_code,
        "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(),
        "entries": entries,
        "approved_minutes": total,
        "approved_hours": f"{total / 60:.2f}",
        "issued_on": issued_on.isoformat(),
        "issuer": issuer,
    }


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a certificate's signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def certificate_id(record: dict[str, Any]) -> str:
    return "cert-" + hashlib.sha256(canonical(record)).hexdigest()[:20]


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
