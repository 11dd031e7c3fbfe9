"""Notes: which streams of an aggregate a listing may find, where the local store could find
them only by reading every state.

FerretDB v1 filters in Go after a prefilter in SQLite that reads every row (decision 0021):
a filter it cannot narrow at all (into an array, `$exists`) decodes every state, and one it
can still parses every row, so a collection of large states is slow to list from however few
match. A note is a small document (`{_id, s: <stream id>, **fields}`) in a collection of its
own, written for the states a listing looks for (a station's sessions, the activities with a
correction pending): the listing reads the notes it wants, then only the states they name, by
`_id` from its index, checked against the listing's own filter.

A note's id begins with its values (`st-360102008|ses-…`), so the notes of one value are a
range of the `_id` index (`of`): a station's notes are found without reading the others.

A note is written before the commit it is for, never after: it may name a stream whose commit
then failed or lost a race, or no longer matches, never miss one; the listing's filter drops
the others. Notes are never removed. The streams committed before a kind of note existed are
noted once, from their states (one read of them all, by the first listing), then marked so.
Notes kept by their store (`EventStore.keep`) are written before every commit; a process
remembers the notes it wrote, so a stream's later commits cost nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterable, Sequence

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from wushe.contracts import Event
from wushe.store.client import Doc
from wushe.store.events import EventStore, insert_new
from wushe.store.queries import value_at

NOTED_ALL = "~noted"  # the mark: the notes cover the streams committed before them
REMEMBERED = 100_000  # note ids a process remembers having written (then it forgets them all)


class Notes:
    """One kind of note: `of_state` gives the notes a state calls for (read with `fields`
    only), so that the states committed before the notes can be noted."""

    def __init__(
        self,
        collection: AsyncCollection[Doc],
        store: EventStore,
        of_state: Callable[[Doc], Iterable[Doc]],
        fields: Doc,
    ) -> None:
        self.collection = collection
        self.store = store
        self.of_state = of_state
        self.fields = fields
        self.states: AsyncCollection[Doc] | None = store.current  # (as `Kept`)
        self._all_noted = False
        self._noting = asyncio.Lock()
        self._written: set[str] = set()

    async def note(self, stream_id: str, notes: Iterable[Doc]) -> None:
        """Note a stream, before its commit: each note's fields (string values)."""
        await self._insert([note_of(stream_id, n) for n in notes])

    async def enter(self, commits: Iterable[tuple[str, Doc]]) -> None:
        """Before commits of (stream id, state), kept by the store: their states' notes."""
        await self._insert(
            [note_of(sid, n) for sid, state in commits for n in self.of_state(state)]
        )

    async def settle(self, commits: Iterable[tuple[str, Sequence[Event]]]) -> None:
        """After commits: nothing (notes are never removed)."""

    async def of(self, value: str) -> list[str]:
        """The streams noted with `value` (notes of one field), in id order: a range of the
        `_id` index."""
        return await self.streams({"_id": {"$regex": f"^{re.escape(value)}\\|"}})

    async def streams(self, query: Doc) -> list[str]:
        """The streams the notes matching `query` name, in id order (a superset of those
        whose states the listing wants: filter them again)."""
        return sorted({str(d["s"]) for d in await self.found(query)})

    async def found(self, query: Doc) -> list[Doc]:
        """The notes matching `query`."""
        await self._ensure_noted()
        return [d async for d in self.collection.find({**query, "s": {"$exists": True}})]

    async def _insert(self, docs: list[Doc]) -> None:
        docs = [d for d in docs if d["_id"] not in self._written]
        await insert_new(self.collection, docs)
        if len(self._written) > REMEMBERED:
            self._written.clear()
        self._written.update(d["_id"] for d in docs)

    async def _ensure_noted(self) -> None:
        if self._all_noted:
            return
        async with self._noting:  # (another request may have noted them meanwhile)
            if not self._all_noted and await self.collection.find_one({"_id": NOTED_ALL}) is None:
                docs: list[Doc] = []
                async for d in self.store.current.find({}, {"_id": 1, **self.fields}):
                    docs += [note_of(str(d["_id"]), n) for n in self.of_state(d)]
                await insert_new(self.collection, docs)  # whatever this process wrote before
                with contextlib.suppress(DuplicateKeyError):  # marked meanwhile: the same
                    await self.collection.insert_one({"_id": NOTED_ALL})
            self._all_noted = True


def note_of(stream_id: str, fields: Doc) -> Doc:
    """A note's document: its id from the values (first, so that one value's notes are a
    range of ids) and the stream, so a note written twice is one note."""
    key = "|".join(str(fields[k]) for k in sorted(fields))
    return {"_id": f"{key}|{stream_id}", "s": stream_id, **fields}


def station_notes(collection: AsyncCollection[Doc], store: EventStore, path: str) -> Notes:
    """Notes of the station each state names at `path` (dotted), kept by `store` with every
    commit: a station's states are then `Notes.of(station_id)`."""

    def of_state(state: Doc) -> list[Doc]:
        value = value_at(state, path)
        return [{"station_id": value}] if isinstance(value, str) and value else []

    return store.keep(Notes(collection, store, of_state, {path: 1}))
