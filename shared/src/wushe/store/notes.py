"""Notes: which streams of an aggregate a listing may find, where the local store could find
them only by reading every state.

FerretDB v1 filters in Go after a prefilter in SQLite that reads every row (decision 0021):
a filter it cannot narrow at all (into an array, `$exists`) decodes every state, and one it
can still parses every row, so a collection of large states is slow to list from however few
match. A note is a small document (`{_id, s: <stream id>, **fields}`) in a collection of its
own, written for the states a listing looks for (a station's sessions, the activities with a
correction pending): the listing reads the notes it wants, then only the states they name, by
`_id` from its index, checked against the listing's own filter.

A note is written before the commit it is for, never after: it may name a stream whose commit
then failed or lost a race, or no longer matches, never miss one; the listing's filter drops
the others. Notes are never removed. The streams committed before a kind of note existed are
noted once, from their states (one read of them all, by the first listing), then marked so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from wushe.store.client import Doc
from wushe.store.events import EventStore

NOTED_ALL = "~noted"  # the mark: the notes cover the streams committed before them
BATCH = 500


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
        self._all_noted = False
        self._noting = asyncio.Lock()

    async def note(self, stream_id: str, notes: Iterable[Doc]) -> None:
        """Note a stream, before its commit: each note's fields (string values)."""
        await self._insert([note_of(stream_id, n) for n in notes])

    async def streams(self, query: Doc) -> list[str]:
        """The streams the notes matching `query` name, in id order (a superset of those
        whose states the listing wants: filter them again)."""
        return sorted({str(d["s"]) for d in await self.found(query)})

    async def found(self, query: Doc) -> list[Doc]:
        """The notes matching `query`."""
        await self._ensure_noted()
        return [d async for d in self.collection.find({**query, "s": {"$exists": True}})]

    async def _insert(self, docs: list[Doc]) -> None:
        await insert_new(self.collection, docs)

    async def _ensure_noted(self) -> None:
        if self._all_noted:
            return
        async with self._noting:  # (another request may have noted them meanwhile)
            if not self._all_noted and await self.collection.find_one({"_id": NOTED_ALL}) is None:
                docs: list[Doc] = []
                async for d in self.store.current.find({}, {"_id": 1, **self.fields}):
                    docs += [note_of(str(d["_id"]), n) for n in self.of_state(d)]
                await self._insert(docs)
                with contextlib.suppress(DuplicateKeyError):  # marked meanwhile: the same
                    await self.collection.insert_one({"_id": NOTED_ALL})
            self._all_noted = True


async def insert_new(collection: AsyncCollection[Doc], docs: list[Doc]) -> None:
    """Insert the documents, in batches; one whose `_id` is there already is the same one
    (written before) and is left as it is."""
    for start in range(0, len(docs), BATCH):
        try:
            await collection.insert_many(docs[start : start + BATCH], ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise


def note_of(stream_id: str, fields: Doc) -> Doc:
    """A note's document: its id from the stream and the values, so a note written twice is
    one note."""
    key = "|".join(str(fields[k]) for k in sorted(fields))
    return {"_id": f"{stream_id}|{key}", "s": stream_id, **fields}
