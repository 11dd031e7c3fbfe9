"""The training service's only door to the database."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel

from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext
from wushe.store import EventStore

M = TypeVar("M", bound=BaseModel)


class TrainingStore:
    def __init__(self, ctx: ServiceContext) -> None:
        self.courses: EventStore = ctx.store("courses")
        self.sessions: EventStore = ctx.store("sessions")
        self.visits: EventStore = ctx.store("supervision_visits")
        self.evaluations: EventStore = ctx.store("evaluations")
        self.registry = RegistryCopy(ctx.db)

    async def visits_in(self, within: str, model: type[M]) -> list[M]:
        cursor = self.visits.current.find({"region_code": {"$regex": f"^{re.escape(within)}"}})
        return [
            model.model_validate({k: v for k, v in d.items() if k not in ("_id", "_v")})
            async for d in cursor
        ]

    async def find_state(self, store: EventStore, query: dict[str, Any]) -> list[dict[str, Any]]:
        return [d async for d in store.current.find(query)]
