"""The registry's only door to the database: event stores per aggregate and their queries."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel

from registry.domain import (
    BoundaryChange,
    Organisation,
    PlannedCommit,
    Programme,
    RegionTree,
    SocialWorker,
    Station,
    station_id_for,
)
from wushe.store import ConcurrencyError, EventStore, Loaded, NewCommit

M = TypeVar("M", bound=BaseModel)
BOUNDARY_STREAM = "boundary-changes"  # one stream: changes are rare and strictly ordered


class RegistryStore:
    def __init__(self, stores: Mapping[str, EventStore]) -> None:
        """`stores`: the service's event stores by aggregate (`ServiceContext.stores`)."""
        self.stations = stores["stations"]
        self.boundaries = stores["boundaries"]
        self.organisations = stores["organisations"]
        self.social_workers = stores["social_workers"]
        self.programmes = stores["programmes"]

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

    async def save_planned(self, commits: Sequence[PlannedCommit]) -> list[PlannedCommit]:
        """Write an import's commits in bulk (one round trip per 500 instead of several per
        row); answer those a concurrent writer got to first (not written)."""
        lost: list[PlannedCommit] = []
        for start in range(0, len(commits), 500):
            batch = commits[start : start + 500]
            results = await self.stations.append_many(
                [
                    NewCommit(
                        p.station.station_id, p.version, p.events, p.station.model_dump(mode="json")
                    )
                    for p in batch
                ]
            )
            lost += [
                p for p, r in zip(batch, results, strict=True) if isinstance(r, ConcurrencyError)
            ]
        return lost

    # -- organisations, social workers, programmes
    async def organisation(self, org_id: str) -> Organisation | None:
        org, _ = await self.organisations.load_model(org_id, Organisation)
        return org

    async def list_organisations(
        self, *, within: str, kind: str | None, limit: int, offset: int
    ) -> tuple[list[Organisation], int]:
        filters = {"kind": kind} if kind else {}
        return await self._page(
            self.organisations,
            Organisation,
            within=within,
            filters=filters,
            limit=limit,
            offset=offset,
        )

    async def list_social_workers(
        self,
        *,
        within: str,
        station_id: str | None,
        certification: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[SocialWorker], int]:
        filters: dict[str, Any] = {}
        if station_id:
            filters["station_id"] = station_id
        if certification:
            filters["certification"] = certification
        return await self._page(
            self.social_workers,
            SocialWorker,
            within=within,
            filters=filters,
            limit=limit,
            offset=offset,
        )

    async def programmes_in(self, province: str) -> list[Programme]:
        """The programmes whose region lies in a province (at most 500)."""
        items, _ = await self._page(
            self.programmes, Programme, within=province, filters={}, limit=500, offset=0
        )
        return items

    async def _page(
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

    def tree_with(self, changes: Sequence[BoundaryChange], as_of: date) -> RegionTree:
        """The tree as of a date with these changes (a change being recorded decides on the
        log it read, not on the cache)."""
        return self.base.with_changes(changes, as_of) if changes else self.base

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
