"""What waits now: the items of an aggregate's states that wait for someone (an activity held
and not yet verified, hours recorded and not yet approved, a rectification item still open),
kept as small entries beside the states, so that a work queue reads a bounded few in the order
they began to wait.

On the local store a read decodes every document it matches (FerretDB v1; about 0.1 ms each
for a small one: bench/store_listing.py), so a province's queue read from its states, or even
from a note per item ever raised (`wushe.store.notes`), costs seconds and grows for ever. The
entries hold only what waits now, and a listing reads at most `bound` of them.

An entry is written before the commit whose state makes its item wait, and removed after the
commit whose events end the wait, never the other way round: an entry may name an item that
does not wait (its commit failed, or its removal did not happen), never miss one that does. A
listing checks the entries it shows against their states and removes the stale ones. The
items that waited before the entries existed are entered once, from the states.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from wushe.contracts import Event
from wushe.store.client import Doc
from wushe.store.events import insert_new
from wushe.store.queries import in_region

log = logging.getLogger(__name__)

ENTERED_ALL = "~entered"  # the mark: the states committed before the entries are entered
BATCH = 500
# Entries a work queue reads at the most: about 60 ms of small documents on the local store.
BOUND = 500

# A state's waiting items: each `{"key": <the item's id in its stream>, **string fields}`.
EntriesOf = Callable[[Doc], Iterable[Doc]]
# The items a commit's events end the wait of, by key.
EndedBy = Callable[[Sequence[Event]], Iterable[str]]


class Waiting:
    """One kind of waiting item of one aggregate; its `EventStore` calls `enter` before and
    `settle` after each commit (`EventStore.keep`)."""

    def __init__(self, collection: AsyncCollection[Doc], entries_of: EntriesOf, ended_by: EndedBy):
        self.collection = collection
        self.entries_of = entries_of
        self.ended_by = ended_by
        self.states: AsyncCollection[Doc] | None = None  # the store's states (`EventStore.keep`)
        self._all_entered = False
        self._entering = asyncio.Lock()

    async def enter(self, commits: Iterable[tuple[str, Doc]]) -> None:
        """Before the commits of (stream id, state): their waiting items (an item entered
        before is kept)."""
        await insert_new(
            self.collection,
            [entry_of(sid, e) for sid, state in commits for e in self.entries_of(state)],
        )

    async def settle(self, commits: Iterable[tuple[str, Sequence[Event]]]) -> None:
        """After commits of (stream id, events): the items their events ended leave. A
        failure leaves stale entries that a listing removes (logged, the commits stand)."""
        ended = [f"{sid}|{key}" for sid, events in commits for key in self.ended_by(events)]
        for start in range(0, len(ended), BATCH):
            try:
                await self.collection.delete_many({"_id": {"$in": ended[start : start + BATCH]}})
            except PyMongoError:
                log.warning("%d ended waits not removed", len(ended), exc_info=True)

    async def first(self, query: Doc, bound: int) -> list[Doc]:
        """At most `bound` entries matching `query`, in the order their items began to wait
        (the store's own order: it stops reading at the bound)."""
        await self._ensure_entered()
        found = self.collection.find({**query, "s": {"$exists": True}}).limit(bound)
        return [d async for d in found]

    async def page(
        self, query: Doc, *, order: str, limit: int, offset: int, bound: int = BOUND
    ) -> Found:
        """A page of the first `bound` entries matching `query`, the oldest by the entries'
        `order` field first (then by id); check them with `current` against their states."""
        entries = await self.first(query, bound)
        entries.sort(key=lambda e: (str(e.get(order) or ""), str(e["_id"])))
        end = offset + limit if limit > 0 else None
        return Found(entries[offset:end], len(entries), len(entries) < bound)

    async def read(self, entries: Sequence[Doc]) -> list[tuple[Doc, Doc, int]]:
        """The entries whose item still waits, each with its stream's state and version
        (read by `_id`); the stale ones are removed."""
        ids = sorted({str(e["s"]) for e in entries})
        if not ids or self.states is None:
            return []
        docs = {d["_id"]: d async for d in self.states.find({"_id": {"$in": ids}})}
        states = {
            i: {k: v for k, v in d.items() if k not in ("_id", "_v")} for i, d in docs.items()
        }
        return [
            (e, states[e["s"]], int(docs[e["s"]]["_v"]))
            for e in await self.current(entries, states)
        ]

    async def current(self, entries: Sequence[Doc], states: dict[str, Doc]) -> list[Doc]:
        """The entries whose item still waits in its stream's state (`states` by stream id);
        the others are removed."""
        kept: list[Doc] = []
        stale: list[Doc] = []
        for e in entries:
            state = states.get(str(e["s"]))
            waiting = {str(w["key"]) for w in self.entries_of(state)} if state else set()
            (kept if e["key"] in waiting else stale).append(e)
        if stale:
            with contextlib.suppress(PyMongoError):  # removed by the next listing instead
                await self.collection.delete_many({"_id": {"$in": [e["_id"] for e in stale]}})
        return kept

    async def enter_states(self, states: AsyncCollection[Doc]) -> None:
        """Enter the waiting items of every state (the first listing does, once)."""
        docs: list[Doc] = []
        async for d in states.find({}):
            docs += [entry_of(str(d["_id"]), e) for e in self.entries_of(d)]
        await insert_new(self.collection, docs)

    async def _ensure_entered(self) -> None:
        if self._all_entered:
            return
        async with self._entering:  # (another request may have entered them meanwhile)
            if (
                not self._all_entered
                and await self.collection.find_one({"_id": ENTERED_ALL}) is None
            ):
                if self.states is not None:
                    await self.enter_states(self.states)
                with contextlib.suppress(DuplicateKeyError):  # marked meanwhile: the same
                    await self.collection.insert_one({"_id": ENTERED_ALL})
            self._all_entered = True


def entry_of(stream_id: str, entry: Doc) -> Doc:
    """An entry's document: its id from the stream and the item's key, so an item entered
    twice is one entry."""
    return {"_id": f"{stream_id}|{entry['key']}", "s": stream_id, **entry}


@dataclass(frozen=True)
class Found:
    """A work queue's page of entries; `total` counts every item waiting when `complete`,
    else the first `total` to begin waiting (at least that many wait)."""

    entries: list[Doc]
    total: int
    complete: bool

    def less_stale(self, kept: Sequence[object]) -> int:
        """The total once the page's stale entries (those `read` did not keep) are gone."""
        return self.total - (len(self.entries) - len(kept))


def scope(within: str, station_id: str | None, stations: frozenset[str] | None) -> Doc:
    """Entries (`region_code`, `station_id`) of a region, of one station, or of the stations
    station staff are bound to (`wushe.web.station_filter`)."""
    query = in_region(within)
    if station_id:
        query["station_id"] = station_id
    elif stations is not None:
        query["station_id"] = {"$in": sorted(stations)}
    return query
