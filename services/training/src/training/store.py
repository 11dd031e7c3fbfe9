"""The training service's only door to the database."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar

from pydantic import BaseModel

from training.domain.sessions import Session
from training.domain.supervision import SupervisionVisit
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext
from wushe.store import Doc, EventStore, in_region, versioned

M = TypeVar("M", bound=BaseModel)

AGGREGATES = ("courses", "sessions", "supervision_visits", "evaluations")


class TrainingStore:
    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self.courses, self.sessions, self.visits, self.evaluations = map(ctx.store, AGGREGATES)
        self.registry = RegistryCopy(ctx.db)

    async def visits_in(self, within: str) -> list[SupervisionVisit]:
        return [v async for v, _ in versioned(self.visits, SupervisionVisit, in_region(within))]

    async def list_visits(
        self,
        *,
        within: str,
        station_id: str | None,
        stations: Collection[str] | None,
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[SupervisionVisit, int]], int]:
        """Visits in a region, of one station or (`stations`: station staff) of those only;
        newest month first."""
        query = in_region(within, station_id=station_id)
        if stations is not None and not station_id:
            query["station_id"] = {"$in": sorted(stations)}
        return await newest_first(
            self.visits, SupervisionVisit, query, "month", limit=limit, offset=offset
        )

    async def list_sessions(
        self, *, within: str | None, station_id: str | None, limit: int, offset: int
    ) -> tuple[list[tuple[Session, int]], int]:
        """Sessions held in a region (`within`), or attended by a station's people
        (`station_id`); the latest first."""
        query: Doc = in_region(within, "facts.region_code") if within is not None else {}
        if station_id:
            query["attendances.station_id"] = station_id
        return await newest_first(
            self.sessions, Session, query, "facts.session_date", limit=limit, offset=offset
        )

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


async def newest_first(
    store: EventStore, model: type[M], query: Doc, field: str, *, limit: int, offset: int
) -> tuple[list[tuple[M, int]], int]:
    """One page of current states, `field` descending (ISO dates and months sort as text)."""
    total = await store.current.count_documents(query)
    cursor = store.current.find(query).sort([(field, -1), ("_id", 1)]).skip(offset).limit(limit)
    rows = [
        (model.model_validate({k: v for k, v in d.items() if k not in ("_id", "_v")}), int(d["_v"]))
        async for d in cursor
    ]
    return rows, total
