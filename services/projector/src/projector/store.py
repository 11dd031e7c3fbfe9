"""The projector's only door to the database: the projection engine's collections and the
programmes' periods (state, not counters: set from the latest event, so replays converge)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from projector.domain import VIEWS
from wushe.contracts import Event
from wushe.contracts.events import registry as reg
from wushe.projection import Projector
from wushe.service import ServiceContext


def create_projector(ctx: ServiceContext) -> Projector:
    return Projector(ctx.db, VIEWS)


class Programmes:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.meta = db["programme_periods"]

    async def follow(self, event: Event) -> None:
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
        doc = await self.meta.find_one({"_id": programme_id})
        if doc is None:
            return None
        return (
            doc["name"],
            doc["region_code"],
            date.fromisoformat(doc["start"]),
            date.fromisoformat(doc["end"]),
        )
