"""The training service's only door to the database."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel
from pymongo.errors import PyMongoError

from training.domain.sessions import Session
from training.domain.supervision import SupervisionVisit
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext
from wushe.store import Doc, EventStore, in_region
from wushe.store.notes import Notes

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("training.store")

AGGREGATES = ("courses", "sessions", "supervision_visits", "evaluations")
# Which stations each session's and visit's people came from (`wushe.store.notes`).
SESSION_NOTES = "session_stations"
VISIT_NOTES = "visit_stations"
# Every rectification item ever raised, with its region and deadline (noted before the
# completion that raises it); and those closed (noted after the closure's commit, so never
# one that is still open): the overdue are among the first and not the second.
ITEM_NOTES = "rectification_items"
CLOSED_NOTES = "rectification_items_closed"
MAX_NOTED = 1000  # ids the store answers from its `_id` index in one `$in` (decision 0021)


def item_notes(visit: Doc) -> list[Doc]:
    """The notes of a visit's items (a visit's state, or one read with `items` and
    `region_code` only)."""
    return [
        {"region_code": visit["region_code"], "item": it["item_id"], "due": str(it["deadline"])}
        for it in visit.get("items") or []
    ]


def _closed(visit: Doc) -> list[Doc]:
    return [{"item": it["item_id"]} for it in visit.get("items") or [] if it.get("closed_on")]


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
        # The items overdue: the visits of a region hold every item ever raised.
        self.item_notes = Notes(
            ctx.db[ITEM_NOTES], self.visits, item_notes, {"region_code": 1, "items": 1}
        )
        self.closed_notes = Notes(ctx.db[CLOSED_NOTES], self.visits, _closed, {"items": 1})

    async def note_closure(self, visit_id: str, item_id: str) -> None:
        """After an item's closure committed, never before: a closure noted is one made. A
        note not written leaves the item among the overdue list's candidates, where its state
        says it is closed: logged, not failed (the closure stands)."""
        try:
            await self.closed_notes.note(visit_id, [{"item": item_id}])
        except PyMongoError:
            log.warning("closure of %s not noted", item_id, exc_info=True)

    async def overdue_candidates(self, within: str, day: date) -> list[SupervisionVisit]:
        """The visits in a region that may hold an item open past its deadline on `day`:
        those with an item due before it whose closure is not noted (a superset: the caller
        applies the rule to their states)."""
        due = await self.item_notes.found({**in_region(within), "due": {"$lt": day.isoformat()}})
        closed: set[str] = set()
        ids = [f"{d['s']}|{d['item']}" for d in due]
        for start in range(0, len(ids), MAX_NOTED):
            chunk = {"_id": {"$in": ids[start : start + MAX_NOTED]}}
            closed |= {f"{d['s']}|{d['item']}" for d in await self.closed_notes.found(chunk)}
        wanted = sorted({str(d["s"]) for d in due if f"{d['s']}|{d['item']}" not in closed})
        visits = []
        for start in range(0, len(wanted), MAX_NOTED):
            query = {**in_region(within), "_id": {"$in": wanted[start : start + MAX_NOTED]}}
            found = {d["_id"]: d async for d in self.visits.current.find(query)}
            visits += [
                SupervisionVisit.model_validate(
                    {k: v for k, v in found[i].items() if k not in ("_id", "_v")}
                )
                for i in wanted[start : start + MAX_NOTED]
                if i in found
            ]
        return visits

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
