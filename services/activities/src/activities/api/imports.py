"""Bulk import of activities (CSV or NDJSON): one report row per refused line, re-imports
harmless."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from activities.api.deps import Activities, Svc
from activities.domain import activities as domain
from activities.domain.activities import Activity
from wushe import imports
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.contracts.known import KnownProgramme, KnownStation
from wushe.errors import DomainError
from wushe.refcopy import closed_month_of, period_closed
from wushe.web import Strict, today

router = APIRouter(tags=["activities"])

GROUPS = ("elders", "children", "assistance_clients", "disabled", "residents", "other")


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


def normalise_row(rec: dict[str, Any]) -> dict[str, Any]:
    """Flat CSV columns (sessions, elders, ...; lists split on ';') -> the nested row."""
    out = imports.clean(rec)
    for name in ("programme_ids", "themes", "societies"):
        if isinstance(out.get(name), str):
            out[name] = [p.strip() for p in out[name].split(";") if p.strip()]
    if "sessions" in out and "counts" not in out:
        person_times = {g: out.pop(g) for g in GROUPS if g in out}
        out["counts"] = {"sessions": out.pop("sessions"), "person_times": person_times}
    return out


@router.post(
    "/imports/activities",
    response_model=imports.ImportReport,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_activities(
    request: Request, svc: Svc, who: CurrentPrincipal
) -> imports.ImportReport:
    """Import activities (CSV or NDJSON). A row with `held_on` and counts is recorded as
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
    return report


class ImportRefs:
    """The stations, programmes and closed months an import's rows name, each read from the
    registry copy once per request (a ledger names the same few again and again)."""

    def __init__(self, svc: Activities, who: Principal) -> None:
        self.svc, self.who = svc, who
        self.stations: dict[str, KnownStation] = {}
        self.programmes: dict[str, KnownProgramme | None] = {}
        self.closed: dict[str, str | None] = {}  # county -> approved through

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

    async def check_open(self, station: KnownStation, row: ActivityRow) -> None:
        """A row dated inside a closed month of its county is refused (数据已锁定)."""
        county = station.region_code[:6]
        if county not in self.closed:
            self.closed[county] = await self.svc.store.registry.closed_through(county)
        through = self.closed[county]
        for field, day in (("activity_date", row.activity_date), ("held_on", row.held_on)):
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
    try:
        await refs.check_open(station, row)
        activity, events = domain.import_activity(
            station,
            programmes,
            facts,
            held_on=row.held_on,
            counts=row.counts,
            societies=row.societies,
            today=today(),
            recorded_by=refs.who.subject,
        )
    except DomainError:
        # A row imported before, when its references were valid, stays as it is.
        existing, _ = await svc.store.activity(activity_id)
        if existing is not None:
            return "unchanged", activity_id
        raise
    planned.append((activity_id, activity, events))
    return "created", activity_id  # unless its id turns out to be taken when written
