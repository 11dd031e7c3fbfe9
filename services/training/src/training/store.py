"""The training service's only door to the database."""

from __future__ import annotations

from typing import Any

from training.domain.supervision import SupervisionVisit
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext
from wushe.store import in_region, versioned

AGGREGATES = ("courses", "sessions", "supervision_visits", "evaluations")


class TrainingStore:
    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self.courses, self.sessions, self.visits, self.evaluations = map(ctx.store, AGGREGATES)
        self.registry = RegistryCopy(ctx.db)

    async def visits_in(self, within: str) -> list[SupervisionVisit]:
        return [v async for v, _ in versioned(self.visits, SupervisionVisit, in_region(within))]

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
