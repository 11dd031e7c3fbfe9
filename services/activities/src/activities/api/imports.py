"""Bulk import of activities (CSV, NDJSON or XLSX): one report row per refused line,
re-imports harmless; and the template workbook of its columns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from activities.api.activities import ParticipantIn, pseudonyms_by_group
from activities.api.deps import Activities, Svc
from activities.domain import activities as domain
from activities.domain.activities import Activity
from activities.domain.funding import KnownAllocation, check_funding
from wushe import imports
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.contracts.known import KnownProgramme, KnownStation
from wushe.errors import DomainError
from wushe.imports_help import Column, import_route, in_chinese, normaliser, template_route
from wushe.refcopy import closed_month_of, period_closed
from wushe.web import Strict, today

router = APIRouter(tags=["activities"])

GROUPS = ("elders", "children", "assistance_clients", "disabled", "residents", "other")
LABELS = {
    "elders": "老年人",
    "children": "儿童",
    "assistance_clients": "救助对象",
    "disabled": "残疾人",
    "residents": "居民",
    "other": "其他",
}
EXAMPLES = {"elders": "40", "residents": "3"}
SERVED = {f"{group}_served": group for group in GROUPS}  # who came, by group


class ActivityRow(Strict):
    """One held (or planned) activity per row; `external_ref` makes re-imports harmless."""

    station_id: str = Field(max_length=40)
    external_ref: str = Field(min_length=1, max_length=100)
    room_id: str | None = Field(None, max_length=40)
    programme_ids: list[str] = Field(default_factory=list, max_length=10)
    service_area: ev.ServiceArea
    kind: ev.ActivityKind
    themes: list[str] = Field(default_factory=list, max_length=20)
    activity_date: date
    held_on: date | None = None
    counts: ev.Counts | None = None
    societies: list[ev.Society] = Field(default_factory=list)
    donation_ids: list[str] = Field(default_factory=list, max_length=10)
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=10_000)


LISTED = "；多个用英文分号 ; 隔开 (several: separated by ';')"
AREAS = "social_assistance, elder_services, child_care, community_governance, local_speciality"
# The columns of the import (a flat row: the counts one column per group), as its template
# shows them.
COLUMNS = (
    Column("station_id", "社工站编号", "社工站的编号 (the station's id)", "st-360104002-01", True),
    Column(
        "external_ref",
        "外部编号",
        "贵方系统中这条活动的编号，同一社工站内唯一；再次导入同一编号不会重复记录 "
        "(your own id of the activity, unique at the station: importing it again records "
        "nothing new)",
        "2026-act-0001",
        True,
    ),
    Column("room_id", "社工室编号", "活动所在的社工室 (the room, if any)", ""),
    Column("programme_ids", "项目编号", "活动所属的项目" + LISTED, "blue-vest"),
    Column("service_area", "服务领域", f"取值 (one of): {AREAS}", "elder_services", True),
    Column(
        "kind",
        "活动类型",
        "取值 (one of): community_event, group_work, casework, home_visit, hotline_call, "
        "resident_training",
        "community_event",
        True,
    ),
    Column("themes", "主题", "活动主题" + LISTED, "anti_fraud;smart_devices"),
    Column(
        "activity_date", "活动日期", "计划或举办的日期 YYYY-MM-DD (the day)", "2026-03-05", True
    ),
    Column(
        "held_on",
        "举办日期",
        "已举办的填写举办日期，并填写场次与人次 (held: the day, with sessions and counts)",
        "2026-03-05",
    ),
    Column("sessions", "场次", "举办的场次数 (sessions held)", "1"),
    *(
        Column(group, label, f"{label}人次 (person-times)", EXAMPLES.get(group, "0"))
        for group, label in LABELS.items()
    ),
    *(
        Column(
            column,
            f"{LABELS[group]}名单",
            f"到场的{LABELS[group]}的身份证号等编号，可不填，不多于人次；仅保存其省内化名，"
            "用于统计人数" + LISTED + " (who came, by their own references: only their "
            "pseudonyms are kept, to count distinct persons 人数)",
            "",
        )
        for column, group in SERVED.items()
    ),
    Column(
        "societies",
        "五社联动",
        "参与的“五社”，取值 community, social_workers, community_organisations, volunteers, "
        "charity_resources" + LISTED,
        "community;volunteers",
    ),
    Column(
        "donation_ids",
        "资助拨付编号",
        "资助这次活动的慈善资金拨付编号（须是拨给本社工站、且早于举办日期的拨付），并在“五社联动”"
        "中填写 charity_resources；多笔拨付共同资助时成效平均分摊" + LISTED + " (the donation "
        "allocations that funded it: made to this station before it was held; list "
        "'charity_resources'; several share its outcome equally)",
        "",
    ),
)
template_route(router, "activities", "社区活动导入模板 (activities import)", COLUMNS)


_flat = normaliser(
    COLUMNS,
    lists=("programme_ids", "themes", "societies", "donation_ids", *SERVED),
    numbers=("sessions", *GROUPS),
)


def normalise_row(rec: dict[str, Any]) -> dict[str, Any]:
    """Flat CSV columns (sessions, elders, ...; lists split on ';') -> the nested row."""
    out = _flat(rec)
    if "sessions" in out and "counts" not in out:
        person_times = {g: out.pop(g) for g in GROUPS if g in out}
        out["counts"] = {"sessions": out.pop("sessions"), "person_times": person_times}
    served = [(group, out.pop(column, [])) for column, group in SERVED.items()]
    if any(refs for _, refs in served) and "participants" not in out:
        out["participants"] = [{"ref": r, "group": g} for g, refs in served for r in refs]
    return out


@import_route(router, "activities")
async def import_activities(
    request: Request, svc: Svc, who: CurrentPrincipal
) -> imports.ImportReport:
    """Import activities (CSV, NDJSON or XLSX: the template at
    `/imports/activities/template.xlsx`). A row with `held_on` and counts is recorded as
    planned and held in one step. Rows already imported (same station and external_ref)
    are left as they are: re-importing a file changes nothing and emits nothing."""
    rows = await imports.upload(
        request,
        model=ActivityRow,
        max_bytes=request.app.state.ctx.settings.import_max_bytes,
        max_rows=50_000,
        normalise=normalise_row,
    )
    refs = ImportRefs(svc, who)
    planned: list[tuple[str, Activity, Sequence[Event]]] = []
    ids: dict[int, str] = {}

    async def handle(row: imports.Row) -> str:
        outcome, ids[row.row] = await plan_row(svc, refs, row.value, planned)
        return outcome

    report = await imports.apply(rows, handle)
    report.ids = ids
    # Written together at the end: a row whose id turns out to be taken was imported before
    # (or twice in this file, or by a request beside this one) and stays as it is.
    taken = await svc.store.plan_many(planned)
    report.created -= taken
    report.unchanged += taken
    return in_chinese(report)


class ImportRefs:
    """The stations, programmes and closed months an import's rows name, each read from the
    registry copy once per request (a ledger names the same few again and again)."""

    def __init__(self, svc: Activities, who: Principal) -> None:
        self.svc, self.who = svc, who
        self.stations: dict[str, KnownStation] = {}
        self.programmes: dict[str, KnownProgramme | None] = {}
        self.closed: dict[str, str | None] = {}  # county -> approved through
        self.allocations: dict[str, KnownAllocation] = {}

    async def check_funding(self, station_id: str, row: ActivityRow) -> None:
        """The row's allocations may fund it (each read from the copy once per request)."""
        if not row.donation_ids or row.held_on is None:
            return
        missing = [a for a in row.donation_ids if a not in self.allocations]
        if missing:
            self.allocations.update(await self.svc.store.known_allocations(self.who, missing))
        check_funding(station_id, row.held_on, row.donation_ids, self.allocations)

    async def station(self, station_id: str) -> KnownStation:
        if station_id not in self.stations:  # an unknown one raises, and is asked again
            self.stations[station_id] = await self.svc.store.registry.visible_station(
                self.who, station_id
            )
        return self.stations[station_id]

    async def programme(self, programme_id: str) -> KnownProgramme | None:
        if programme_id not in self.programmes:
            self.programmes[programme_id] = await self.svc.store.registry.visible_programme(
                self.who, programme_id
            )
        return self.programmes[programme_id]

    async def check_open(self, station: KnownStation, *dated: tuple[str, date | None]) -> None:
        """A row dated inside a closed month of its county is refused (数据已锁定), as the
        single POST refuses it: `dated` are the row's days, each with its column."""
        county = station.region_code[:6]
        if county not in self.closed:
            self.closed[county] = await self.svc.store.registry.closed_through(county)
        through = self.closed[county]
        for field, day in dated:
            if day is not None and (month := closed_month_of(through, day)):
                raise period_closed(field, month, county, through)


async def plan_row(
    svc: Activities,
    refs: ImportRefs,
    row: ActivityRow,
    planned: list[tuple[str, Activity, Sequence[Event]]],
) -> tuple[str, str]:
    """A row's outcome ("created" or "unchanged") and its activity's id (the station's and
    the row's `external_ref`: the same row imported again names the same activity)."""
    station = await refs.station(row.station_id)
    activity_id = domain.activity_id_for(station.station_id, row.external_ref)
    programmes = {pid: await refs.programme(pid) for pid in row.programme_ids}
    facts = domain.facts_at(station, activity_id, row)
    dated = (("activity_date", row.activity_date), ("held_on", row.held_on))
    try:
        await refs.check_open(station, *dated)
        await refs.check_funding(station.station_id, row)
        activity, events = domain.import_activity(
            station,
            programmes,
            facts,
            held_on=row.held_on,
            counts=row.counts,
            societies=row.societies,
            donation_ids=row.donation_ids,
            today=today(),
            recorded_by=refs.who.subject,
            participants=pseudonyms_by_group(svc, station.region_code, row.participants),
        )
    except DomainError:
        # A row imported before, when its references were valid, stays as it is.
        existing, _ = await svc.store.activity(activity_id)
        if existing is not None:
            return "unchanged", activity_id
        raise
    planned.append((activity_id, activity, events))
    return "created", activity_id  # unless its id turns out to be taken when written
