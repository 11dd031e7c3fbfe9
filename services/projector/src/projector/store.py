"""The projector's only door to the database: the projection engine's collections and the
programmes' periods (state, not counters: set from the latest event, so replays converge)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from projector.domain import VIEWS
from wushe.contracts import Event
from wushe.contracts.events import registry as reg
from wushe.projection import Projector


class ViewsState:
    """Which generation of the read models is served (one document: switching is atomic).

    Read at most every `ttl_s` (every views request asks): another instance's switch is
    seen within that time, this instance's own at once."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, ttl_s: float = 0.25) -> None:
        self.meta = db["view_meta"]
        self.ttl_s = ttl_s
        self._known: tuple[float, str] | None = None

    async def active(self) -> str:
        if self._known is not None and time.monotonic() - self._known[0] < self.ttl_s:
            return self._known[1]
        doc = await self.meta.find_one({"_id": "active"})
        generation = str(doc["generation"]) if doc else ""
        self._known = (time.monotonic(), generation)
        return generation

    async def activate(self, generation: str) -> None:
        await self.meta.replace_one({"_id": "active"}, {"generation": generation}, upsert=True)
        self._known = (time.monotonic(), generation)


class Programmes:
    """Programme periods, read at most every `ttl_s` per programme (every progress request
    asks; a period changes rarely, and this instance's own changes are seen at once)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, ttl_s: float = 1.0) -> None:
        self.meta = db["programme_periods"]
        self.ttl_s = ttl_s
        self._known: dict[str, tuple[float, tuple[str, str, date, date] | None]] = {}

    async def follow(self, event: Event) -> None:
        if isinstance(event, reg.ProgrammeCreated | reg.ProgrammeUpdated):
            self._known.pop(event.programme_id, None)
        if isinstance(event, reg.ProgrammeCreated):
            await self.meta.replace_one(
                {"_id": event.programme_id},
                {
                    "name": event.name,
                    "region_code": event.region_code,
                    "start": event.start_date.isoformat(),
                    "end": event.end_date.isoformat(),
                },
                upsert=True,
            )
        elif isinstance(event, reg.ProgrammeUpdated) and event.end_date is not None:
            await self.meta.update_one(
                {"_id": event.programme_id}, {"$set": {"end": event.end_date.isoformat()}}
            )

    async def get(self, programme_id: str) -> tuple[str, str, date, date] | None:
        known = self._known.get(programme_id)
        if known is not None and time.monotonic() - known[0] < self.ttl_s:
            return known[1]
        doc = await self.meta.find_one({"_id": programme_id})
        period = (
            None
            if doc is None
            else (
                doc["name"],
                doc["region_code"],
                date.fromisoformat(doc["start"]),
                date.fromisoformat(doc["end"]),
            )
        )
        self._known[programme_id] = (time.monotonic(), period)
        return period


class Generations:
    """The projector of the generation being served, looked up once per batch or request."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db
        self.state = ViewsState(db)
        self._projectors: dict[str, Projector] = {}

    async def current(self) -> Projector:
        generation = await self.state.active()
        projector = self._projectors.get(generation)
        if projector is None:
            projector = self._projectors[generation] = Projector(
                self.db, VIEWS, generation=generation
            )
        return projector

    async def switch(self, projector: Projector) -> None:
        """Serve `projector`'s generation from now on, with that very projector: a rebuild's
        target already knows every partition it wrote and holds their totals, where a new
        one would start by reading every chunk, for the first batch and again for the first
        read (a minute or more at a million events). The old generation's projector is
        dropped with its model."""
        await self.state.activate(projector.generation)
        self._projectors = {projector.generation: projector}

    @property
    def topics(self) -> tuple[str, ...]:
        return Projector(self.db, VIEWS).topics
