"""The registry's only door to the database: event stores per aggregate and their queries."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel

from registry.domain import BoundaryChange, RegionTree, Station, station_id_for
from wushe.service import ServiceContext
from wushe.store import EventStore, Loaded

M = TypeVar("M", bound=BaseModel)
BOUNDARY_STREAM = "boundary-changes"  # one stream: changes are rare and strictly ordered


class RegistryStore:
    def __init__(self, ctx: ServiceContext) -> None:
        self.stations: EventStore = ctx.store("stations")
        self.boundaries: EventStore = ctx.store("boundaries")
        self.organisations: EventStore = ctx.store("organisations")
        self.social_workers: EventStore = ctx.store("social_workers")
        self.programmes: EventStore = ctx.store("programmes")

    # -- stations
    async def load_station(self, station_id: str) -> tuple[Station | None, int]:
        loaded = await self.stations.load(station_id)
        return (Station.model_validate(loaded.state) if loaded.state else None), loaded.version

    async def station_on_township(self, code: str) -> str | None:
        """The station registered on township `code`, if any.

        A station's id is derived from the township it was registered on, so the usual
        answer is one lookup by _id. Only a township created by a boundary change can hold
        a station registered elsewhere (moved there): only then is the collection scanned.
        """
        doc = await self.stations.current.find_one(
            {"_id": station_id_for(code)}, {"region_code": 1}
        )
        if doc is not None and doc.get("region_code") == code:
            return str(doc["_id"])
        _, changes = await self.boundary_changes()
        if not any(code in {n.code for n in c.new} for c in changes):
            return None
        moved = await self.stations.current.find_one({"region_code": code}, {"_id": 1})
        return str(moved["_id"]) if moved else None

    async def list_stations(
        self,
        *,
        within: str,
        status: str | None,
        kind: str | None,
        name: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[Station, int]], int]:
        query: dict[str, Any] = {"region_code": {"$regex": f"^{re.escape(within)}"}}
        if status:
            query["status"] = status
        if kind:
            query["kind"] = kind
        if name:
            query["name"] = {"$regex": re.escape(name)}
        total = await self.stations.current.count_documents(query)
        cursor = self.stations.current.find(query).sort("_id", 1).skip(offset).limit(limit)
        return [(Station.model_validate(_state(d)), int(d["_v"])) async for d in cursor], total

    async def stations_by_township(self, within: str) -> dict[str, tuple[Station, int]]:
        """Every station in a region, keyed by its current township code, with its version:
        one query, so a ledger import compares rows in memory instead of a lookup per row."""
        cursor = self.stations.current.find({"region_code": {"$regex": f"^{re.escape(within)}"}})
        out: dict[str, tuple[Station, int]] = {}
        async for doc in cursor:
            station = Station.model_validate(_state(doc))
            out[station.region_code] = (station, int(doc["_v"]))
        return out

    async def stations_in(self, codes: list[str]) -> list[Station]:
        cursor = self.stations.current.find({"region_code": {"$in": codes}})
        return [Station.model_validate(_state(d)) async for d in cursor]

    # -- organisations, social workers, programmes
    async def list_in(
        self,
        store: EventStore,
        model: type[M],
        *,
        within: str,
        filters: dict[str, Any],
        limit: int,
        offset: int,
    ) -> tuple[list[M], int]:
        query: dict[str, Any] = {"region_code": {"$regex": f"^{re.escape(within)}"}, **filters}
        total = await store.current.count_documents(query)
        cursor = store.current.find(query).sort("_id", 1).skip(offset).limit(limit)
        return [model.model_validate(_state(d)) async for d in cursor], total

    # -- boundary changes
    async def boundary_changes(self) -> tuple[int, list[BoundaryChange]]:
        loaded: Loaded = await self.boundaries.load(BOUNDARY_STREAM)
        changes = (loaded.state or {}).get("changes", [])
        return loaded.version, [BoundaryChange.model_validate(c) for c in changes]


def _state(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("_id", "_v")}


class RegionIndex:
    """The region tree as of any date: the base data with the recorded boundary changes
    applied, cached per (changes version, date) so a lookup replays nothing."""

    def __init__(self, base: RegionTree, store: RegistryStore, *, cache_size: int = 16) -> None:
        self.base = base
        self.store = store
        self._cache: dict[tuple[int, date], RegionTree] = {}
        self._cache_size = cache_size

    async def tree(self, as_of: date) -> RegionTree:
        version, changes = await self.store.boundary_changes()
        key = (version, as_of)
        tree = self._cache.get(key)
        if tree is None:
            tree = self.base.with_changes(changes, as_of) if changes else self.base
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = tree
        return tree
