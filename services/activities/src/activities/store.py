"""The activities service's only door to the database."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from activities.domain import KnownProgramme, KnownStation
from wushe.service import ServiceContext
from wushe.store import EventStore

M = TypeVar("M", bound=BaseModel)


class ActivitiesStore:
    def __init__(self, ctx: ServiceContext) -> None:
        self.activities: EventStore = ctx.store("activities")
        self.visits: EventStore = ctx.store("household_visits")
        self.client_files: EventStore = ctx.store("client_files")
        self.known_stations = ctx.db["known_stations"]
        self.known_programmes = ctx.db["known_programmes"]

    async def load_as(
        self, store: EventStore, model: type[M], stream_id: str
    ) -> tuple[M | None, int]:
        loaded = await store.load(stream_id)
        return (model.model_validate(loaded.state) if loaded.state else None), loaded.version

    async def list_activities(
        self, *, within: str, filters: dict[str, Any], limit: int, offset: int
    ) -> tuple[list[tuple[dict[str, Any], int]], int]:
        query = {"facts.region_code": {"$regex": f"^{within}"}, **filters}
        total = await self.activities.current.count_documents(query)
        cursor = self.activities.current.find(query).sort("_id", 1).skip(offset).limit(limit)
        return [(d, int(d["_v"])) async for d in cursor], total

    # -- the local copy of the registry (written only by handlers.py's consumer)
    async def station(self, station_id: str) -> KnownStation | None:
        doc = await self.known_stations.find_one({"_id": station_id})
        return KnownStation.model_validate(doc) if doc else None

    async def programme(self, programme_id: str) -> KnownProgramme | None:
        doc = await self.known_programmes.find_one({"_id": programme_id})
        return KnownProgramme.model_validate(doc) if doc else None

    async def position(self, collection: Any, key: str) -> tuple[dict[str, Any] | None, int]:
        doc = await collection.find_one({"_id": key})
        return doc, int(doc["offset"]) if doc else -1

    async def save_copy(self, collection: Any, key: str, doc: dict[str, Any]) -> None:
        await collection.replace_one({"_id": key}, doc, upsert=True)
