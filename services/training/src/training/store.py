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
from wushe.store import Doc, EventStore, in_region
from wushe.store.notes import Notes
from wushe.store.waiting import Waiting, scope

M = TypeVar("M", bound=BaseModel)

AGGREGATES = ("courses", "sessions", "supervision_visits", "evaluations")
# Which stations each session's and visit's people came from (`wushe.store.notes`).
SESSION_NOTES = "session_stations"
VISIT_NOTES = "visit_stations"
MAX_NOTED = 1000  # ids the store answers from its `_id` index in one `$in` (decision 0021)
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
        self.session_notes = Notes(
            ctx.db[SESSION_NOTES], self.sessions, _attending, {"attendances": 1}
        )
        self.visit_notes = Notes(
            ctx.db[VISIT_NOTES],
            self.visits,
            lambda v: [{"station_id": v["station_id"]}],
            {"station_id": 1},
        )
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


async def newest_first(
    store: EventStore, model: type[M], query: Doc, field: str, *, limit: int, offset: int
) -> tuple[list[tuple[M, int]], int]:
    """One page of current states, `field` descending (ISO dates and months sort as text),
    and how many match. As `wushe.store.page`: the matches' ids and `field` read once and
    ordered here (FerretDB reads every match for a count and again for a sorted find), then
    the page's states by `_id`, with the query again."""
    keys = [
        (_at(d, field), d["_id"]) async for d in store.current.find(query, {"_id": 1, field: 1})
    ]
    wanted = [i for _, i in _newest(keys)[offset : offset + limit]]
    if not wanted:
        return [], len(keys)
    # An `_id` never changes: the page's ids stand for any `_id` condition of the query.
    found = {d["_id"]: d async for d in store.current.find({**query, "_id": {"$in": wanted}})}
    rows = [
        (model.model_validate({k: v for k, v in d.items() if k not in ("_id", "_v")}), int(d["_v"]))
        for d in (found[i] for i in wanted if i in found)
    ]
    return rows, len(keys)


async def newest_at(
    notes: Notes,
    model: type[M],
    query: Doc,
    field: str,
    station_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[M, int]], int]:
    """`newest_first` of the states of `notes`' store; of one station's (`station_id`), among
    those its notes name."""
    if not station_id:
        return await newest_first(notes.store, model, query, field, limit=limit, offset=offset)
    ids = await notes.streams({"station_id": station_id})
    return await newest_of(notes.store, model, query, ids, field, limit=limit, offset=offset)


async def newest_of(
    store: EventStore,
    model: type[M],
    query: Doc,
    ids: list[str],
    field: str,
    *,
    limit: int,
    offset: int,
) -> tuple[list[tuple[M, int]], int]:
    """As `newest_first`, among the states `ids` names (a station's, from its notes): those
    few read whole at once, by `_id`, and checked against the query."""
    if not ids:
        return [], 0
    if len(ids) > MAX_NOTED:  # more than the index answers at once: the query alone
        return await newest_first(store, model, query, field, limit=limit, offset=offset)
    found = {d["_id"]: d async for d in store.current.find({**query, "_id": {"$in": ids}})}
    keys = _newest([(_at(d, field), i) for i, d in found.items()])
    rows = [
        (model.model_validate({k: v for k, v in d.items() if k not in ("_id", "_v")}), int(d["_v"]))
        for d in (found[i] for _, i in keys[offset : offset + limit])
    ]
    return rows, len(keys)


def _newest(keys: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """(value, id) pairs, value descending (missing last), then id ascending: the order of
    `sort([(field, -1), ("_id", 1)])`."""
    keys = sorted(keys, key=lambda k: k[1])
    return sorted(keys, key=lambda k: (k[0] is not None, k[0] or ""), reverse=True)


def _at(doc: Doc, path: str) -> Any:
    """The value at a dotted path (None where it is missing)."""
    value: Any = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
