"""The training service's only door to the database."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel

from training.domain.sessions import Session
from training.domain.supervision import SupervisionVisit
from wushe.contracts import Event
from wushe.contracts.events import training as ev
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext
from wushe.store import Doc, in_region, page
from wushe.store.notes import Notes, station_notes
from wushe.store.waiting import Waiting, scope

M = TypeVar("M", bound=BaseModel)

AGGREGATES = ("courses", "sessions", "supervision_visits", "evaluations")
# Which stations each session's and visit's people came from (`wushe.store.notes`, kept with
# every commit; ids beginning with the station's).
SESSION_NOTES = "sessions_by_station"
VISIT_NOTES = "visits_by_station"
# Rectification items still open (`wushe.store.waiting`), by deadline: the overdue are those
# due before the day asked about.
VISITS_WAITING = "visits_waiting"


def _open_items(visit: Doc) -> list[Doc]:
    """A visit's items not closed wait for their closure, since their deadline."""
    return [
        {
            "key": it["item_id"],
            "region_code": visit["region_code"],
            "station_id": visit["station_id"],
            "since": str(it["deadline"]),
        }
        for it in visit.get("items") or []
        if not it.get("closed_on")
    ]


def _closed(events: Sequence[Event]) -> list[str]:
    return [e.item_id for e in events if isinstance(e, ev.RectificationItemClosed)]


def _attending(session: Doc) -> Iterable[Doc]:
    stations = {a.get("station_id") for a in session.get("attendances") or []}
    return [{"station_id": sid} for sid in sorted(s for s in stations if s)]


class TrainingStore:
    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self.courses, self.sessions, self.visits, self.evaluations = map(ctx.store, AGGREGATES)
        self.registry = RegistryCopy(ctx.db)
        # A station's sessions and visits: a filter into the `attendances` array (or over
        # every visit) would read every state.
        # Sessions are large (every attendance): listed from summaries of their facts and
        # the stations they were attended from.
        self.sessions.summarise(["facts"], {"attendances": _attending})
        self.session_notes = self.sessions.keep(
            Notes(ctx.db[SESSION_NOTES], self.sessions, _attending, {"attendances": 1})
        )
        self.visit_notes = station_notes(ctx.db[VISIT_NOTES], self.visits, "station_id")
        self.open_items = self.visits.keep(Waiting(ctx.db[VISITS_WAITING], _open_items, _closed))

    async def overdue_candidates(
        self, within: str, day: date, limit: int = 0
    ) -> tuple[list[SupervisionVisit], int, bool]:
        """The visits in a region with an item still open and due before `day`, holding only
        those items (`wushe.store.waiting.BOUND` of them at the most; the caller applies the
        overdue rule to them), and whether that is all."""
        query = {**scope(within, None, None), "since": {"$lt": day.isoformat()}}
        found = await self.open_items.page(query, order="since", limit=limit, offset=0)
        waiting = await self.open_items.read(found.entries)
        keys = {str(e["key"]) for e, _, _ in waiting}
        states = {str(e["s"]): state for e, state, _ in waiting}
        visits = []
        for visit in (SupervisionVisit.model_validate(states[i]) for i in sorted(states)):
            items = [it for it in visit.items if it.item_id in keys]
            visits += [visit.model_copy(update={"items": items})]
        return visits, found.less_stale(waiting), found.complete

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
        return await newest_at(
            self.visit_notes, SupervisionVisit, query, "month", station_id, limit, offset
        )

    async def list_sessions(
        self, *, within: str | None, station_id: str | None, limit: int, offset: int
    ) -> tuple[list[tuple[Session, int]], int]:
        """Sessions held in a region (`within`), or attended by a station's people
        (`station_id`); the latest first."""
        query: Doc = in_region(within, "facts.region_code") if within is not None else {}
        if station_id:
            query["attendances.station_id"] = station_id
        return await newest_at(
            self.session_notes, Session, query, "facts.session_date", station_id, limit, offset
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


async def newest_at(
    notes: Notes,
    model: type[M],
    query: Doc,
    field: str,
    station_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[M, int]], int]:
    """A page of `notes`' store, `field` newest first; of one station's (`station_id`), among
    the streams its notes name."""
    among = await notes.of(station_id) if station_id else None
    return await page(
        notes.store, model, query, limit=limit, offset=offset, among=among, newest=field
    )
