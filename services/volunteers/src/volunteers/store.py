"""The volunteers service's only door to the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from volunteers.domain import (
    KnownProgramme,
    KnownStation,
    Ledger,
    PointsRules,
    ServiceWindow,
    Shift,
    Volunteer,
    activity_window,
    shift_window,
)
from wushe.contracts import Event
from wushe.idempotency import IdempotencyKeys
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext
from wushe.store import EventStore

AGGREGATES = ("volunteers", "teams", "shifts", "ledgers", "points_rules", "certificates")


class VolunteersStore:
    def __init__(self, ctx: ServiceContext) -> None:
        self.volunteers: EventStore = ctx.store("volunteers")
        self.teams: EventStore = ctx.store("teams")
        self.shifts: EventStore = ctx.store("shifts")
        self.ledgers: EventStore = ctx.store("ledgers")
        self.rules: EventStore = ctx.store("points_rules")
        self.certificates: EventStore = ctx.store("certificates")
        self.registry = RegistryCopy(ctx.db)
        # Activities as this service knows them from the activities service's events.
        self.known_activities = ctx.db["known_activities"]
        # Volunteers named by a held activity whom this service does not know: kept, shown.
        self.unmatched = ctx.db["unmatched_activity_volunteers"]
        self.idempotency = IdempotencyKeys(ctx.db, "redemption_keys")

    async def volunteer(self, volunteer_id: str) -> tuple[Volunteer | None, int]:
        return await self.volunteers.load_model(volunteer_id, Volunteer)

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
        """Decide on the volunteer's ledger under optimistic concurrency (retried)."""
        return await self.ledgers.update_model(
            volunteer_id,
            Ledger,
            lambda ledger: decide(ledger or Ledger(volunteer_id=volunteer_id)),
            causation_id=causation_id,
        )

    async def rules_for(self, region_code: str) -> PointsRules | None:
        rules, _ = await self.rules.load_model(rules_id(region_code), PointsRules)
        return rules

    async def window(self, source: str, source_id: str) -> ServiceWindow | None:
        if source == "shift":
            shift, _ = await self.shifts.load_model(source_id, Shift)
            return shift_window(shift) if shift else None
        doc = await self.known_activities.find_one({"_id": source_id})
        if doc is None:
            return None
        return activity_window(
            source_id,
            doc["station_id"],
            doc["region_code"],
            date.fromisoformat(doc["activity_date"]),
            cancelled=doc.get("status") == "cancelled",
        )

    async def list_volunteers(
        self, *, within: str, filters: dict[str, Any], limit: int, offset: int
    ) -> tuple[list[tuple[Volunteer, int]], int]:
        query = {"region_code": {"$regex": f"^{within}"}, **filters}
        total = await self.volunteers.current.count_documents(query)
        cursor = self.volunteers.current.find(query).sort("_id", 1).skip(offset).limit(limit)
        return [(Volunteer.model_validate(d), int(d["_v"])) async for d in cursor], total

    async def volunteers_of(
        self, *, within: str, station_id: str | None
    ) -> AsyncIterator[Volunteer]:
        query: dict[str, Any] = {"region_code": {"$regex": f"^{within}"}}
        if station_id:
            query["station_id"] = station_id
        async for d in self.volunteers.current.find(query).sort("_id", 1):
            yield Volunteer.model_validate(d)

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

    # -- the local copy of the registry (written by wushe.refcopy's consumer)
    async def station(self, station_id: str) -> KnownStation | None:
        doc = await self.registry.station(station_id)
        return KnownStation.model_validate(doc) if doc else None

    async def programme(self, programme_id: str) -> KnownProgramme | None:
        doc = await self.registry.programme(programme_id)
        return KnownProgramme.model_validate(doc) if doc else None


def rules_id(region_code: str) -> str:
    """Points rules are per province (the first two digits of the region code)."""
    return f"rules-{region_code[:2]}"
