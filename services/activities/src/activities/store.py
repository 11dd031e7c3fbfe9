"""The activities service's only door to the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from activities.domain.activities import Activity, Status
from activities.domain.client_files import ClientFile
from activities.domain.funding import KnownAllocation
from activities.domain.visits import Visit
from wushe.auth import Principal
from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.contracts.known import KnownProgramme, KnownStation
from wushe.idempotency import IdempotencyKeys
from wushe.refcopy import RegistryCopy
from wushe.rekey import Sealed
from wushe.service import ServiceContext
from wushe.store import ConcurrencyError, Doc, NewCommit, in_region, page
from wushe.store.notes import Notes, station_notes
from wushe.store.waiting import Waiting, scope

AGGREGATES = ("activities", "household_visits", "client_files")
# Personal data sealed by the vault, and what each value is bound to (`wushe.rekey`: re-sealed
# under the current key after a rotation). The contexts are those of api.client_files and
# api.visits.
SEALED = (
    Sealed("client_files", "identity_enc", "client_file:{file_id}:identity"),
    Sealed("client_files", "services_enc", "client_file:{file_id}:service", many=True),
    Sealed("household_visits", "sensitive_enc", "visit:{visit_id}"),
)
# The copy of donation allocations (activities.handlers.AllocationCopy).
ALLOCATIONS = "known_allocations"
# Bulk writes: one round trip per this many activities instead of several per row.
BATCH = 500
# The activities that ever had a correction waiting (`wushe.store.notes`): `pending_corrections`
# is an array, so a filter on it makes the store decode every activity of the region.
CORRECTION_NOTES = "correction_activities"
MAX_NOTED = 1000  # ids the store answers from its `_id` index in one `$in` (decision 0021)
# A station's activities (`wushe.store.notes`): `facts.station_id` is read from every state.
ACTIVITIES_BY_STATION = "activities_by_station"


def _where(activity: Doc) -> Doc:
    facts = activity.get("facts") or {}
    return {"region_code": facts.get("region_code"), "station_id": facts.get("station_id")}


# Held activities waiting for their verification (`wushe.store.waiting`): the work queue.
HELD_WAITING = "activities_waiting"


def _held(activity: Doc) -> list[Doc]:
    """A held activity waits for its verification; its entry orders by the day it was held."""
    if activity.get("status") != "held":
        return []
    return [{"key": "held", **_where(activity), "since": str(activity.get("held_on") or "")}]


def _verified_or_cancelled(events: Sequence[Event]) -> list[str]:
    ends = (ev.ActivityVerified, ev.ActivityCancelled)
    return ["held"] if any(isinstance(e, ends) for e in events) else []


def _waiting(activity: Doc) -> list[Doc]:
    """The note an activity with a correction waiting calls for (the listing's fields)."""
    return [_where(activity)] if activity.get("pending_corrections") else []


class ActivitiesStore:
    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self.activities, self.visits, self.client_files = map(ctx.store, AGGREGATES)
        self.registry = RegistryCopy(ctx.db)
        self.allocations = ctx.db[ALLOCATIONS]
        # Keyed POSTs of visits and client files (`Idempotency-Key`): their first answers.
        self.idempotency = IdempotencyKeys(ctx.db, "record_keys")
        self.correction_notes = Notes(
            ctx.db[CORRECTION_NOTES],
            self.activities,
            _waiting,
            {"facts.region_code": 1, "facts.station_id": 1, "pending_corrections": 1},
        )
        self.by_station = station_notes(
            ctx.db[ACTIVITIES_BY_STATION], self.activities, "facts.station_id"
        )
        self.held = self.activities.keep(
            Waiting(ctx.db[HELD_WAITING], _held, _verified_or_cancelled)
        )

    async def note_correction(self, activity: Activity) -> None:
        """Before a correction waits on an activity (its commit): noted, so the work queue
        finds it among few."""
        where = {"region_code": activity.facts.region_code, "station_id": activity.facts.station_id}
        await self.correction_notes.note(activity.facts.activity_id, [where])

    async def visits_in(self, within: str, first: date, last: date) -> list[Visit]:
        """Every visit in the region from `first` through `last` (for tallies: all of them)."""
        query = in_region(within)
        query["visited_on"] = {"$gte": first.isoformat(), "$lte": last.isoformat()}
        rows, _ = await page(self.visits, Visit, query, limit=0, offset=0)
        return [visit for visit, _ in rows]

    async def list_activities(
        self,
        *,
        within: str,
        station_id: str | None,
        status: Status | None,
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[Activity, int]], int]:
        query = in_region(within, "facts.region_code", status=status)
        among = None
        if station_id:
            query["facts.station_id"] = station_id
            among = await self.by_station.of(station_id)
        return await page(self.activities, Activity, query, limit=limit, offset=offset, among=among)

    async def pending_corrections(
        self,
        *,
        within: str,
        station_id: str | None,
        stations: frozenset[str] | None,
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[Activity, int]], int]:
        """Activities with a correction into a closed month awaiting approval, in a region
        (of one station, or of `stations` when the caller is bound to theirs)."""
        query = in_region(within, "facts.region_code")
        query["pending_corrections.0"] = {"$exists": True}
        noted = in_region(within)
        if station_id:
            query["facts.station_id"] = noted["station_id"] = station_id
        elif stations is not None:
            query["facts.station_id"] = noted["station_id"] = {"$in": sorted(stations)}
        ids = await self.correction_notes.streams(noted)
        if not ids:
            return [], 0
        if len(ids) <= MAX_NOTED:  # else the filter alone, as before the notes
            query["_id"] = {"$in": ids}
        return await page(self.activities, Activity, query, limit=limit, offset=offset)

    async def waiting_verification(
        self,
        *,
        within: str,
        station_id: str | None,
        stations: frozenset[str] | None,
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[Activity, int]], int, bool]:
        """Held activities waiting for their verification, the earliest held first (of the
        first `wushe.store.waiting.BOUND` to be held), how many, and whether that is all."""
        found = await self.held.page(
            scope(within, station_id, stations), order="since", limit=limit, offset=offset
        )
        waiting = await self.held.read(found.entries)
        rows = [(Activity.model_validate(state), v) for _, state, v in waiting]
        return rows, found.less_stale(waiting), found.complete

    async def activity(self, activity_id: str) -> tuple[Activity | None, int]:
        """Whatever its region: the caller has named it by a reference of their own."""
        return await self.activities.load_model(activity_id, Activity)

    async def client_file(self, file_id: str) -> tuple[ClientFile | None, int]:
        return await self.client_files.load_model(file_id, ClientFile)

    async def plan_many(self, planned: Sequence[tuple[str, Activity, Sequence[Event]]]) -> int:
        """New activities written in bulk; how many ids were taken already (imported before,
        twice in one file, or by a request beside this one: those stay as they are)."""
        commits = [
            NewCommit(activity_id, 0, events, activity.model_dump(mode="json"))
            for activity_id, activity, events in planned
        ]
        taken = 0
        for start in range(0, len(commits), BATCH):
            results = await self.activities.append_many(commits[start : start + BATCH])
            taken += sum(isinstance(result, ConcurrencyError) for result in results)
        return taken

    # -- the local copy of the registry (written by wushe.refcopy's consumer)
    async def station(self, station_id: str) -> KnownStation | None:
        return await self.registry.known_station(station_id)

    async def programme(self, programme_id: str) -> KnownProgramme | None:
        return await self.registry.known_programme(programme_id)

    # -- the local copy of donation allocations (written by handlers.AllocationCopy)
    async def known_allocations(
        self, who: Principal, allocation_ids: Sequence[str]
    ) -> dict[str, KnownAllocation]:
        """The named allocations the caller may see (another province's read as unknown)."""
        if not allocation_ids:
            return {}
        found = self.allocations.find({"_id": {"$in": list(set(allocation_ids))}})
        known = [KnownAllocation.model_validate(d) async for d in found]
        return {a.allocation_id: a for a in known if who.can_see(a.region_code)}
