"""A service's local copy of registry stations, programmes, organisations, social workers and
closed months, kept from the registry's events: references are checked against it, a
write dated inside a closed month refused, and the public names of stations, programmes and
organisations shown (donations' disclosure), never by calling the registry.

Each copy document remembers the partition and offset of the last event applied. The events
of one station (programme, worker) share a partition (keyed by its id) and one consumer owns
a partition, so "skip what is at or below that offset" makes redelivery and replay harmless.
An event for something the copy has never seen raises, so the consumer retries and then
dead-letters it with that reason: never silently counted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from wushe import bus
from wushe.auth import Principal
from wushe.commands import at_station
from wushe.contracts import Envelope, Event
from wushe.contracts.events import registry as reg
from wushe.contracts.known import KnownProgramme, KnownStation, check_station
from wushe.errors import PeriodClosed

if TYPE_CHECKING:
    from wushe.service import ServiceContext

Doc = dict[str, Any]
COPIED_TOPICS = (
    reg.STATIONS,
    reg.PROGRAMMES,
    reg.SOCIAL_WORKERS,
    reg.ORGANISATIONS,
    reg.CLOSED_MONTHS,
)


class RegistryCopy:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.stations: AsyncCollection[Doc] = db["known_stations"]
        self.programmes: AsyncCollection[Doc] = db["known_programmes"]
        self.social_workers: AsyncCollection[Doc] = db["known_social_workers"]
        self.organisations: AsyncCollection[Doc] = db["known_organisations"]
        self.closed_months: AsyncCollection[Doc] = db["known_closed_months"]

    def subscribe(self, ctx: ServiceContext[Any], *, group_id: str) -> None:
        """Keep this copy from the registry's topics, as the consumer group `group_id`."""
        ctx.subscribe(*COPIED_TOPICS, group_id=group_id, handler=self.on_event)

    async def on_event(self, event: Event, _: Envelope, at: bus.Delivery) -> None:
        if isinstance(
            event,
            reg.StationRegistered
            | reg.StationDetailsChanged
            | reg.StationStatusChanged
            | reg.RoomAdded
            | reg.StationRegionChanged,
        ):
            await apply_once(self.stations, event.station_id, at, lambda d: station_doc(d, event))
        elif isinstance(
            event,
            reg.ProgrammeCreated
            | reg.ProgrammeUpdated
            | reg.StationEnrolled
            | reg.StationWithdrawn,
        ):
            await apply_once(
                self.programmes, event.programme_id, at, lambda d: programme_doc(d, event)
            )
        elif isinstance(event, reg.OrganisationRegistered | reg.OrganisationUpdated):
            await apply_once(
                self.organisations, event.org_id, at, lambda d: organisation_doc(d, event)
            )
        elif isinstance(event, reg.SocialWorkerRegistered | reg.SocialWorkerAssigned):
            await apply_once(
                self.social_workers, event.worker_id, at, lambda d: worker_doc(d, event)
            )
        elif isinstance(event, reg.MonthClosed | reg.MonthReopened):
            through = event.month if isinstance(event, reg.MonthClosed) else event.closed_through
            await apply_once(
                self.closed_months,
                event.region_code,
                at,
                lambda d: {**d, "region_code": event.region_code, "closed_through": through},
            )

    async def station(self, station_id: str) -> Doc | None:
        return await self.stations.find_one({"_id": station_id})

    async def programme(self, programme_id: str) -> Doc | None:
        return await self.programmes.find_one({"_id": programme_id})

    async def organisation(self, org_id: str) -> Doc | None:
        return await self.organisations.find_one({"_id": org_id})

    async def social_worker(self, worker_id: str) -> Doc | None:
        return await self.social_workers.find_one({"_id": worker_id})

    async def known_station(self, station_id: str) -> KnownStation | None:
        doc = await self.station(station_id)
        return KnownStation.model_validate(doc) if doc else None

    async def known_programme(self, programme_id: str) -> KnownProgramme | None:
        doc = await self.programme(programme_id)
        return KnownProgramme.model_validate(doc) if doc else None

    async def visible_station(
        self, who: Principal, station_id: str, field: str = "station_id", *, open_only: bool = True
    ) -> KnownStation:
        """A station the caller may name: known, inside the caller's scope, and open unless
        `open_only=False` (a record about a station's past: its supervision, its rating).
        Another province's station is refused exactly as an unknown one (422): a 404 or 403
        would tell the caller that a station of that id exists."""
        station = await self.known_station(station_id)
        if station is not None and not who.can_see(station.region_code):
            station = None
        if station is not None:
            at_station(who, station_id, field)  # station staff name only their own
        if station is None or open_only:
            return check_station(station, station_id, field)
        return station

    async def closed_through(self, region_code: str) -> str | None:
        """The month the county of `region_code` (a county or a place in it) is approved
        through (数据已锁定): it and every month before it are closed. None: none closed."""
        doc = await self.closed_months.find_one({"_id": region_code[:6]})
        return str(doc["closed_through"]) if doc and doc.get("closed_through") else None

    async def closed_month(self, region_code: str, day: date) -> str | None:
        """The closed month (YYYY-MM) `day` lies in at `region_code`, or None when open."""
        through = await self.closed_through(region_code)
        return closed_month_of(through, day)

    async def check_open(self, region_code: str, *dated: tuple[str, date | None]) -> None:
        """Refuse (409, `PeriodClosed`) a write dated inside a closed month of the county
        `region_code` lies in: `dated` are the write's days, each with the request field (or
        the record's) that names it; a None day is not checked."""
        through = await self.closed_through(region_code)
        if through is None:
            return
        for field, day in dated:
            if day is not None and (month := closed_month_of(through, day)) is not None:
                raise period_closed(field, month, region_code[:6], through)

    async def visible_programme(self, who: Principal, programme_id: str) -> KnownProgramme | None:
        """A programme whose scope concerns the caller, or None (unknown): saying "not
        enrolled" would tell another province that the programme exists."""
        programme = await self.known_programme(programme_id)
        return programme if programme and who.shares_scope(programme.scope_regions) else None


def closed_month_of(through: str | None, day: date) -> str | None:
    """The month of `day` when a county approved through `through` has it closed."""
    month = f"{day.year:04d}-{day.month:02d}"
    return month if through is not None and month <= through else None


def period_closed(field: str, month: str, county: str, through: str | None) -> PeriodClosed:
    return PeriodClosed(
        field,
        f"{month} is closed for {county} (数据已锁定, approved through {through}): a closed "
        "month changes only by a correction with a reason, or once a city or province "
        "official reopens it",
    )


async def apply_once(
    collection: AsyncCollection[Doc],
    key: str,
    at: bus.Delivery,
    change: Callable[[Doc], Doc | None],
) -> bool:
    """Apply `change` to the copy document `key` unless this delivery's offset is already
    in it (False). `change` returning None means "an event before its creation": raise."""
    doc = await collection.find_one({"_id": key})
    if (
        doc is not None
        and doc.get("partition") == at.partition
        and at.offset <= int(doc.get("offset", -1))
    ):
        return False  # already applied (redelivery or replay)
    new = change(dict(doc or {"_id": key}))
    if new is None:
        raise ValueError(f"an event for {key} arrived before the one that creates it")
    new.update(partition=at.partition, offset=at.offset)
    await collection.replace_one({"_id": key}, new, upsert=True)
    return True


def station_doc(doc: Doc, event: Event) -> Doc | None:
    if isinstance(event, reg.StationRegistered):
        kept = _fields(event, "station_id", "region_code", "status", "name", "operator_org_id")
        return {**doc, **kept, "rooms": doc.get("rooms", [])}
    if "station_id" not in doc:
        return None
    if isinstance(event, reg.StationDetailsChanged):  # its public name and operator only
        kept = _fields(event, *({"name", "operator_org_id"} & set(event.changed)))
        return {**doc, **kept}
    if isinstance(event, reg.StationStatusChanged):
        return {**doc, "status": event.to_status}
    if isinstance(event, reg.RoomAdded):
        return {**doc, "rooms": sorted({*doc.get("rooms", []), event.room_id})}
    if isinstance(event, reg.StationRegionChanged):
        return {**doc, "region_code": event.region_code}
    return doc


def programme_doc(doc: Doc, event: Event) -> Doc | None:
    if isinstance(event, reg.ProgrammeCreated):
        return {
            **doc,
            "programme_id": event.programme_id,
            "name": event.name,
            "scope_regions": event.scope_regions,
            "start_date": event.start_date.isoformat(),
            "end_date": event.end_date.isoformat(),
            "enrolled": doc.get("enrolled", []),
            "counts_backbones": counts_backbones(event.total_targets, event.station_targets),
        }
    if "programme_id" not in doc:
        return None
    if isinstance(event, reg.ProgrammeUpdated):
        if event.name is not None:
            doc = {**doc, "name": event.name}
        if event.end_date is not None:
            doc = {**doc, "end_date": event.end_date.isoformat()}
        if event.total_targets is not None or event.station_targets is not None:
            doc = {
                **doc,
                "counts_backbones": counts_backbones(event.total_targets, event.station_targets),
            }
        return doc
    if isinstance(event, reg.StationEnrolled):
        return {**doc, "enrolled": sorted({*doc.get("enrolled", []), event.station_id})}
    if isinstance(event, reg.StationWithdrawn):
        return {**doc, "enrolled": sorted(set(doc.get("enrolled", [])) - {event.station_id})}
    return doc


def organisation_doc(doc: Doc, event: Event) -> Doc | None:
    if isinstance(event, reg.OrganisationRegistered):
        return {**doc, **_fields(event, "org_id", "region_code", "name", "kind", "credit_code")}
    if "org_id" not in doc:
        return None
    if isinstance(event, reg.OrganisationUpdated):
        changes = {"name": event.name, "kind": event.kind, "region_code": event.region_code}
        return {**doc, **{k: v for k, v in changes.items() if v is not None}}
    return doc


def _fields(event: Event, *names: str) -> Doc:
    """The named fields of `event` as the copy keeps them (JSON values)."""
    return event.model_dump(mode="json", include=set(names))


def counts_backbones(*targets: reg.Targets | None) -> bool:
    return any(t is not None and t.backbone_volunteers is not None for t in targets)


def worker_doc(doc: Doc, event: Event) -> Doc | None:
    if isinstance(event, reg.SocialWorkerRegistered):
        kept = _fields(event, "worker_id", "region_code")
        return {**doc, **kept, "station_id": doc.get("station_id")}
    if "worker_id" not in doc:
        return None
    if isinstance(event, reg.SocialWorkerAssigned):
        return {**doc, "station_id": event.station_id}
    return doc
