"""The registry's only door to the database: event stores per aggregate and their queries."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TypeVar

from pydantic import BaseModel

from registry.domain import (
    BoundaryChange,
    ClosedMonths,
    Organisation,
    PlannedCommit,
    Programme,
    RegionTree,
    SocialWorker,
    Station,
    station_id_for,
)
from wushe.rekey import Sealed
from wushe.store import ConcurrencyError, EventStore, Loaded, NewCommit, in_region, page, versioned

AGGREGATES = (
    "stations",
    "boundaries",
    "organisations",
    "social_workers",
    "programmes",
    "closed_months",
)
# Personal data sealed by the vault, and what each value is bound to (`wushe.rekey`: re-sealed
# under the current key after a rotation). The contexts are those of domain.social_workers.
SEALED = (
    Sealed("social_workers", "name_enc", "social_worker:{worker_id}:name"),
    Sealed("social_workers", "phone_enc", "social_worker:{worker_id}:phone"),
    Sealed("social_workers", "id_number_enc", "social_worker:{worker_id}:id_number"),
)
M = TypeVar("M", bound=BaseModel)
BOUNDARY_STREAM = "boundary-changes"  # one stream: changes are rare and strictly ordered


class RegistryStore:
    def __init__(self, stores: Mapping[str, EventStore]) -> None:
        """`stores`: the service's event stores by aggregate (`ServiceContext.stores`)."""
        self.stations = stores["stations"]
        # A region's stations are listed from small summaries: the states decode slowly.
        self.stations.summarise(["region_code", "status", "kind", "name"])
        self.boundaries = stores["boundaries"]
        self.organisations = stores["organisations"]
        self.social_workers = stores["social_workers"]
        self.programmes = stores["programmes"]
        self.closed_months = stores["closed_months"]

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
        query = in_region(within, status=status, kind=kind)
        if name:
            query["name"] = {"$regex": re.escape(name)}
        return await page(self.stations, Station, query, limit=limit, offset=offset)

    async def stations_by_township(self, within: str) -> dict[str, tuple[Station, int]]:
        """Every station in a region, keyed by its current township code, with its version:
        one query, so a ledger import compares rows in memory instead of a lookup per row."""
        rows = versioned(self.stations, Station, in_region(within))
        return {station.region_code: (station, version) async for station, version in rows}

    async def stations_in(self, codes: list[str]) -> list[Station]:
        rows = versioned(self.stations, Station, {"region_code": {"$in": codes}})
        return [station async for station, _ in rows]

    async def save_planned(
        self, store: EventStore, commits: Sequence[PlannedCommit]
    ) -> list[PlannedCommit]:
        """Write an import's commits to `store` in bulk (one round trip per 500 instead of
        several per row); answer those a concurrent writer got to first (not written)."""
        lost: list[PlannedCommit] = []
        for start in range(0, len(commits), 500):
            batch = commits[start : start + 500]
            results = await store.append_many(
                [
                    NewCommit(p.stream_id, p.version, p.events, p.state.model_dump(mode="json"))
                    for p in batch
                ]
            )
            lost += [
                p for p, r in zip(batch, results, strict=True) if isinstance(r, ConcurrencyError)
            ]
        return lost

    async def workers_by_id(self, ids: Sequence[str]) -> dict[str, tuple[SocialWorker, int]]:
        """The workers among `ids` that are registered, with their versions (500 a query)."""
        found: dict[str, tuple[SocialWorker, int]] = {}
        for start in range(0, len(ids), 500):
            query = {"_id": {"$in": list(ids[start : start + 500])}}
            async for worker, version in versioned(self.social_workers, SocialWorker, query):
                found[worker.worker_id] = (worker, version)
        return found

    # -- organisations, social workers, programmes
    async def organisation(self, org_id: str) -> Organisation | None:
        org, _ = await self.organisations.load_model(org_id, Organisation)
        return org

    async def list_organisations(
        self, *, within: str, kind: str | None, limit: int, offset: int
    ) -> tuple[list[Organisation], int]:
        query = in_region(within, kind=kind)
        return _models(
            await page(self.organisations, Organisation, query, limit=limit, offset=offset)
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
        query = in_region(within, station_id=station_id, certification=certification)
        return _models(
            await page(self.social_workers, SocialWorker, query, limit=limit, offset=offset)
        )

    async def programmes_in(self, province: str) -> list[Programme]:
        """The programmes whose region lies in a province (at most 500)."""
        rows, _ = await page(self.programmes, Programme, in_region(province), limit=500, offset=0)
        return [programme for programme, _ in rows]

    async def list_closed_months(
        self, *, within: str, limit: int, offset: int
    ) -> tuple[list[tuple[ClosedMonths, int]], int]:
        """The counties in a region that ever closed a month, each with its version."""
        return await page(
            self.closed_months, ClosedMonths, in_region(within), limit=limit, offset=offset
        )

    # -- boundary changes
    async def boundary_changes(self) -> tuple[int, list[BoundaryChange]]:
        loaded: Loaded = await self.boundaries.load(BOUNDARY_STREAM)
        changes = (loaded.state or {}).get("changes", [])
        return loaded.version, [BoundaryChange.model_validate(c) for c in changes]


def _models(paged: tuple[list[tuple[M, int]], int]) -> tuple[list[M], int]:
    """A page without the versions."""
    rows, total = paged
    return [model for model, _ in rows], total


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
