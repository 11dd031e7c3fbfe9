"""The volunteers service's only door to the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from volunteers.domain import (
    Attendance,
    Certificate,
    Ledger,
    PointsRules,
    ServiceWindow,
    Shift,
    Team,
    Volunteer,
    activity_window,
    rules_id,
    shift_window,
)
from wushe import bus
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.idempotency import IdempotencyKeys
from wushe.refcopy import RegistryCopy, apply_once
from wushe.rekey import Sealed
from wushe.service import ServiceContext
from wushe.store import Doc, in_region, page, versioned
from wushe.store.notes import station_notes
from wushe.store.waiting import Waiting, scope

AGGREGATES = ("volunteers", "teams", "shifts", "ledgers", "points_rules", "certificates")
# Personal data sealed by the vault, and what each value is bound to (`wushe.rekey`: re-sealed
# under the current key after a rotation). The contexts are `api.deps.Volunteers.context`'s.
SEALED = tuple(
    Sealed("volunteers", f"{name}_enc", f"volunteer:{{volunteer_id}}:{name}")
    for name in ("name", "id_number", "phone")
)
M = TypeVar("M", bound=BaseModel)
# Hours recorded and waiting for the organising station's approval (`wushe.store.waiting`).
WAITING_HOURS = "ledgers_waiting"
# A station's volunteers (`wushe.store.notes`): a filter on `station_id` parses every state.
VOLUNTEERS_BY_STATION = "volunteers_by_station"


def _waiting_hours(state: Doc) -> list[Doc]:
    """A ledger's attendances recorded and not yet approved nor rejected: by the organising
    station's township and station, waiting since their service day."""
    return [
        {
            "key": aid,
            "region_code": a["service"]["region_code"],
            "station_id": a["service"]["station_id"],
            "since": a["service_date"],
        }
        for aid, a in (state.get("attendances") or {}).items()
        if a.get("status") == "recorded"
    ]


def _hours_ended(events: Sequence[Event]) -> list[str]:
    return [
        e.attendance_id
        for e in events
        if isinstance(e, ev.AttendanceApproved | ev.AttendanceRejected)
    ]


class VolunteersStore:
    def __init__(self, ctx: ServiceContext[Any]) -> None:
        stores = map(ctx.store, AGGREGATES)
        self.volunteers, self.teams, self.shifts, self.ledgers, self.rules, self.certificates = (
            stores
        )
        self.registry = RegistryCopy(ctx.db)
        # Activities as this service knows them from the activities service's events.
        self.known_activities = ctx.db["known_activities"]
        # Volunteers named by a held activity whom this service does not know: kept, shown.
        self.unmatched = ctx.db["unmatched_activity_volunteers"]
        self.idempotency = IdempotencyKeys(ctx.db, "redemption_keys")
        self.by_station = station_notes(
            ctx.db[VOLUNTEERS_BY_STATION], self.volunteers, "station_id"
        )
        self.waiting_hours = self.ledgers.keep(
            Waiting(ctx.db[WAITING_HOURS], _waiting_hours, _hours_ended)
        )

    # -- volunteers

    async def volunteer(self, volunteer_id: str) -> tuple[Volunteer | None, int]:
        return await self.volunteers.load_model(volunteer_id, Volunteer)

    async def list_volunteers(
        self,
        *,
        within: str,
        station_id: str | None,
        status: str | None,
        backbone_for: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[Volunteer, int]], int]:
        query = in_region(within, station_id=station_id, status=status)
        if backbone_for:  # checked by the route: letters, digits, '-' and '_' only
            query[f"backbone.{backbone_for}"] = {"$exists": True}
        among = await self.by_station.of(station_id) if station_id else None
        return await page(
            self.volunteers, Volunteer, query, limit=limit, offset=offset, among=among
        )

    async def volunteers_of(
        self, *, within: str, station_id: str | None
    ) -> AsyncIterator[Volunteer]:
        query = in_region(within, station_id=station_id)
        async for d in self.volunteers.current.find(query).sort("_id", 1):
            yield Volunteer.model_validate(d)

    # -- teams

    async def list_teams(
        self, *, within: str, station_id: str | None, limit: int, offset: int
    ) -> tuple[list[tuple[Team, int]], int]:
        query = in_region(within, station_id=station_id)
        return await page(self.teams, Team, query, limit=limit, offset=offset)

    async def leaders_of(self, volunteer_id: str) -> frozenset[str]:
        """The leaders of the teams the volunteer belongs to (themself, when they lead one)."""
        query = {f"members.{volunteer_id}": {"$exists": True}}
        docs = self.teams.current.find(query, {"leader": 1})
        return frozenset([str(d["leader"]) async for d in docs if d.get("leader")])

    # -- attendance

    async def ledger(self, volunteer_id: str) -> tuple[Ledger, int]:
        ledger, version = await self.ledgers.load_model(volunteer_id, Ledger)
        return ledger or Ledger(volunteer_id=volunteer_id), version

    async def change_ledger(
        self,
        volunteer_id: str,
        decide: Callable[[Ledger], tuple[Ledger, Event | Sequence[Event]]],
        *,
        causation_id: str | None = None,
    ) -> Ledger:
        """Decide on the volunteer's ledger under optimistic concurrency (retried): the
        consumers' path; routes take `wushe.commands.Aggregate.retrying`."""
        return await self.ledgers.update_model(
            volunteer_id,
            Ledger,
            lambda ledger: decide(ledger or Ledger(volunteer_id=volunteer_id)),
            causation_id=causation_id,
        )

    async def waiting_attendances(
        self,
        *,
        within: str,
        station_id: str | None,
        stations: frozenset[str] | None,
        limit: int,
    ) -> tuple[list[tuple[str, Volunteer | None, Attendance]], int, bool]:
        """Hours recorded and not yet approved nor rejected, at organising stations of a
        region (one station, or `stations` when the caller is bound to theirs): oldest
        service day first, each with its volunteer; and how many wait, and whether that
        count is complete (`Found`). Read from the waiting entries, never by a scan of the
        ledgers: an attendance is keyed inside its volunteer's ledger."""
        found = await self.waiting_hours.page(
            scope(within, station_id, stations), order="since", limit=limit, offset=0
        )
        waiting = await self.waiting_hours.read(found.entries)
        if not waiting:  # (an empty `$in` is no filter the store can narrow: it reads them all)
            return [], found.less_stale(waiting), found.complete
        ids = sorted({str(e["s"]) for e, _, _ in waiting})
        people = {
            v.volunteer_id: v
            async for v, _ in versioned(self.volunteers, Volunteer, {"_id": {"$in": ids}})
        }
        rows = [
            (str(e["s"]), people.get(e["s"]), Ledger.model_validate(state).attendances[e["key"]])
            for e, state, _ in waiting
        ]
        return rows, found.less_stale(waiting), found.complete

    async def window(self, source: str, source_id: str) -> ServiceWindow | None:
        if source == "shift":
            shift, _ = await self.shifts.load_model(source_id, Shift)
            return shift_window(shift) if shift else None
        doc = await self.known_activity(source_id)
        if doc is None:
            return None
        return activity_window(
            source_id,
            doc["station_id"],
            doc["region_code"],
            date.fromisoformat(doc["activity_date"]),
            cancelled=doc.get("status") == "cancelled",
        )

    async def known_activity(self, activity_id: str) -> Doc | None:
        return await self.known_activities.find_one({"_id": activity_id})

    async def keep_activity(
        self, activity_id: str, at: bus.Delivery, change: Callable[[Doc], Doc | None]
    ) -> None:
        """Apply an activity event to the local copy, once per delivery offset."""
        await apply_once(self.known_activities, activity_id, at, change)

    async def note_unmatched(self, window: ServiceWindow, volunteer_id: str, minutes: int) -> None:
        await self.unmatched.replace_one(
            {"_id": f"{window.source_id}|{volunteer_id}"},
            {
                "activity_id": window.source_id,
                "station_id": window.station_id,
                "region_code": window.region_code,
                "service_date": window.day.isoformat(),
                "volunteer_id": volunteer_id,
                "minutes": minutes,
                "at": datetime.now(UTC),
            },
            upsert=True,
        )

    async def unmatched_of(self, *, within: str, station_id: str | None, limit: int) -> list[Doc]:
        query = in_region(within, station_id=station_id)
        cursor = self.unmatched.find(query).sort("_id", 1).limit(limit)
        return [d async for d in cursor]

    # -- points and certificates

    async def rules_for(self, region_code: str) -> PointsRules | None:
        rules, _ = await self.rules.load_model(rules_id(region_code), PointsRules)
        return rules

    async def certificate(self, certificate_id: str) -> Certificate | None:
        cert, _ = await self.certificates.load_model(certificate_id, Certificate)
        return cert
