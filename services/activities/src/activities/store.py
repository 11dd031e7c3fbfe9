"""The activities service's only door to the database."""

from __future__ import annotations

from typing import Any

from activities.domain import KnownProgramme, KnownStation
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext
from wushe.store import EventStore


class ActivitiesStore:
    def __init__(self, ctx: ServiceContext) -> None:
        self.activities: EventStore = ctx.store("activities")
        self.visits: EventStore = ctx.store("household_visits")
        self.client_files: EventStore = ctx.store("client_files")
        self.registry = RegistryCopy(ctx.db)

    async def list_activities(
        self, *, within: str, filters: dict[str, Any], limit: int, offset: int
    ) -> tuple[list[tuple[dict[str, Any], int]], int]:
        query = {"facts.region_code": {"$regex": f"^{within}"}, **filters}
        total = await self.activities.current.count_documents(query)
        cursor = self.activities.current.find(query).sort("_id", 1).skip(offset).limit(limit)
        return [(d, int(d["_v"])) async for d in cursor], total

    # -- the local copy of the registry (written by wushe.refcopy's consumer)
    async def station(self, station_id: str) -> KnownStation | None:
        doc = await self.registry.station(station_id)
        return KnownStation.model_validate(doc) if doc else None

    async def programme(self, programme_id: str) -> KnownProgramme | None:
        doc = await self.registry.programme(programme_id)
        return KnownProgramme.model_validate(doc) if doc else None
