"""Which generation of the read models is served, and its projector (a rebuild writes a new
generation beside the served one, then switches)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from projector.engine import Projector
from projector.store import ViewsState
from projector.views import TOPICS, VIEWS


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
        return TOPICS
