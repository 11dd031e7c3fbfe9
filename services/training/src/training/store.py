"""The training service's only door to the database."""

from __future__ import annotations

import re
from typing import Any

from training.domain.supervision import SupervisionVisit
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext
from wushe.store import EventStore


class TrainingStore:
    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self.courses: EventStore = ctx.store("courses")
        self.sessions: EventStore = ctx.store("sessions")
        self.visits: EventStore = ctx.store("supervision_visits")
        self.evaluations: EventStore = ctx.store("evaluations")
        self.registry = RegistryCopy(ctx.db)

    async def visits_in(self, within: str) -> list[SupervisionVisit]:
        cursor = self.visits.current.find({"region_code": {"$regex": f"^{re.escape(within)}"}})
        return [
            SupervisionVisit.model_validate({k: v for k, v in d.items() if k not in ("_id", "_v")})
            async for d in cursor
        ]

    async def course_exists(self, course_id: str) -> bool:
        """In any region: a session may follow another province's course."""
        return (await self.courses.load(course_id)).state is not None

    async def known_worker_region(self, worker_id: str) -> str | None:
        """The region of a social worker the registry knows (None when it knows none)."""
        worker = await self.registry.social_worker(worker_id)
        return worker.get("region_code") if worker else None

    async def known_organisation_region(self, org_id: str) -> str | None:
        organisation = await self.registry.organisation(org_id)
        return organisation["region_code"] if organisation else None
