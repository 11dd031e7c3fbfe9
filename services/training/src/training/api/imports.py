"""Bulk import of training attendance (培训签到): one row per attendee of a session, CSV,
NDJSON or XLSX, one report row per refused line; and the template workbook of its columns.

A row's reference is its session and attendee: each attendee is recorded once per session
(as `POST /sessions/{id}/attendance` records them), so a row whose attendee a session has
already is left as it is, and the same file imported twice records nothing new. Each
session's new attendances are recorded together, as one `AttendanceRecorded`."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from pydantic import Field

from training.api.deps import Svc, Training
from training.api.sessions import Attendees, CheckIn
from training.domain import sessions as domain
from training.domain.sessions import Session
from wushe import imports
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts import Event
from wushe.contracts.events import training as ev
from wushe.errors import DomainError, NotFound
from wushe.imports_help import Column, applied, import_route, in_chinese, normaliser, template_route
from wushe.web import today

router = APIRouter(tags=["imports"])

TIME = "YYYY-MM-DD HH:MM，须为培训当天"


class AttendanceRow(CheckIn):
    """One attendee of one session."""

    session_id: str = Field(min_length=1, max_length=64)


COLUMNS = (
    Column(
        "session_id",
        "培训场次编号",
        "已排期的培训场次编号 (the session's id)",
        "ts-2026-03-01",
        True,
    ),
    Column(
        "attendee_kind",
        "参训人类别",
        "取值 social_worker 社工 或 volunteer 志愿者 (a social worker or a volunteer)",
        "social_worker",
        True,
    ),
    Column(
        "attendee_id",
        "参训人编号",
        "社工的登记编号或志愿者编号；同一场次每人只记一次 (the registry id of the social worker, "
        "or the volunteer's id: once per session)",
        "sw-0001",
        True,
    ),
    Column(
        "station_id",
        "所属社工站",
        "参训人所在的社工站编号 (the attendee's station)",
        "st-360104002-01",
    ),
    Column(
        "hours",
        "学时",
        "参训小时数，不超过本场时长；或填写签到、签退时间 (hours attended, at most the session's; "
        "or give the check-in and check-out times)",
        "3",
    ),
    Column(
        "checked_in_at", "签到时间", f"{TIME} (check-in, on the session's day)", "2026-03-01 09:00"
    ),
    Column("checked_out_at", "签退时间", f"{TIME} (check-out)", "2026-03-01 12:00"),
    Column("credits", "学分", "继续教育学分，0 至 100 (continuing-education credits)", "0"),
)
template_route(
    router, "training-attendance", "培训签到导入模板 (training attendance import)", COLUMNS
)
_normalise = normaliser(
    COLUMNS, numbers=("hours", "credits"), times=("checked_in_at", "checked_out_at")
)


@dataclass
class Planned:
    """A session's attendances the import adds, and the rows that name them."""

    session: Session
    new: list[ev.Attendance] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


@import_route(router, "training-attendance")
async def import_attendance(
    request: Request, svc: Svc, who: CurrentPrincipal
) -> imports.ImportReport:
    """Import attendance of scheduled sessions (the template at
    `/imports/training-attendance/template.xlsx`), checked as the single POST checks it.
    `ids` names each row's session; a row whose attendee the session has already (recorded
    before, or an earlier row of the file) is `unchanged`."""
    plans = Plans(svc, who)

    async def handle(row: imports.Row) -> tuple[str, str]:
        return await plans.add(row.row, row.value), row.value.session_id

    settings = request.app.state.ctx.settings
    report = await applied(
        request, AttendanceRow, _normalise, handle, max_bytes=settings.import_max_bytes
    )
    for session_id, planned in plans.sessions.items():
        try:
            await plans.record(session_id, planned)
        except DomainError as exc:  # the session changed under the import: its rows refused
            for n in planned.rows:
                report.errors.append(imports.RowError(row=n, field=exc.field, reason=exc.reason))
                report.ids.pop(n, None)
            report.created -= len(planned.rows)
    report.errors.sort(key=lambda e: e.row)
    return in_chinese(report)


class Plans:
    """The sessions an import's rows name, each loaded once, with what the rows add."""

    def __init__(self, svc: Training, who: Principal) -> None:
        self.svc, self.who = svc, who
        self.attendees = Attendees(svc.store, who)
        self.sessions: dict[str, Planned] = {}
        self.unknown: set[str] = set()

    async def session(self, session_id: str) -> Planned:
        if session_id not in self.sessions and session_id not in self.unknown:
            try:
                found, _ = await self.svc.sessions.load(self.who, session_id)
            except NotFound:
                self.unknown.add(session_id)
            else:
                self.sessions[session_id] = Planned(found)
        if session_id in self.unknown:  # another province's is refused alike
            raise DomainError("session_id", f"未知的培训场次 (unknown session {session_id})")
        return self.sessions[session_id]

    async def add(self, n: int, row: AttendanceRow) -> str:
        """Row `n`'s outcome: its attendance checked and planned ("created"), or found."""
        planned = await self.session(row.session_id)
        if any(
            (a.attendee_kind, a.attendee_id) == (row.attendee_kind, row.attendee_id)
            for a in planned.session.attendances
        ):
            return "unchanged"
        attendance = await self.attendees.check(planned.session, row, "")
        try:
            planned.session, _ = domain.record_attendance(
                planned.session, [attendance], today=today()
            )
        except DomainError as exc:  # named as the single POST's body names it
            named = exc.field.removeprefix("attendances").removeprefix("[0]").removeprefix(".")
            raise DomainError(named or "session_id", exc.reason) from None  # not held yet
        planned.new.append(attendance)
        planned.rows.append(n)
        return "created"

    async def record(self, session_id: str, planned: Planned) -> None:
        """The session's new attendances, recorded together (those another request recorded
        meanwhile left out)."""
        if not planned.new:
            return

        def decide(current: Session) -> tuple[Session, list[Event]]:
            had = {(a.attendee_kind, a.attendee_id) for a in current.attendances}
            new = [a for a in planned.new if (a.attendee_kind, a.attendee_id) not in had]
            if not new:
                return current, []
            return domain.record_attendance(current, new, today=today())

        await self.svc.sessions.change(self.who, session_id, decide, retries=3)
