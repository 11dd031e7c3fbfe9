"""The projector's only door to the database: the engine's chunks and progress documents,
which generation is served, and the programmes' periods (state, not counters: set from the
latest event, so replays converge)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any, Generic, TypeVar

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from wushe.contracts import Event
from wushe.contracts.events import registry as reg

Doc = dict[str, Any]
Period = tuple[str, str, date, date]  # a programme's name, region code, start and end
T = TypeVar("T")
log = logging.getLogger("projector.store")


class KeptRead(Generic[T]):
    """A value read from the store and kept `ttl_s`; once older, it is still answered at
    once while one read behind it brings the new one. Only the first ask waits, and asks
    that come together share that one read.

    Under load a read is several trips through a busy event loop (~250 ms in P6): requests
    that each waited for one, or queued behind one, were the views API's p99 four times a
    second. `put` is this instance's own change: seen at once, and a read begun before it
    does not overwrite it."""

    def __init__(self, read: Callable[[], Awaitable[T]], ttl_s: float) -> None:
        self._read = read
        self.ttl_s = ttl_s
        self._value: tuple[float, T] | None = None  # (when its read began, value)
        self._reading: asyncio.Task[T] | None = None
        self._puts = 0

    async def get(self) -> T:
        kept = self._value
        if kept is not None and time.monotonic() - kept[0] < self.ttl_s:
            return kept[1]
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read_and_keep())
        if kept is not None:
            return kept[1]
        # The first ask waits (shielded: one caller's cancellation is not the others').
        return await asyncio.shield(self._reading)

    def put(self, value: T) -> None:
        self._puts += 1
        self._value = (time.monotonic(), value)

    async def _read_and_keep(self) -> T:
        puts, began = self._puts, time.monotonic()
        try:
            value = await self._read()
        except Exception as exc:
            if self._value is None:
                raise  # nothing to answer with: the waiting asks see the error
            log.warning("a read behind a kept value failed: %s: %s", type(exc).__name__, exc)
            return self._value[1]
        if puts == self._puts:
            self._value = (began, value)
        return value if self._value is None else self._value[1]


# Chunks a cursor fetches at a time: FerretDB v1 does not bound a reply by bytes, and a
# million events' chunks came back as one 54 MB reply, past the 48 MB a message may have.
CHUNKS_PER_BATCH = 32
# Up to this many chunks are read one `_id` at a time: a lone `_id` is pushed down to
# SQLite (no Go decoding); past it, one pass over the collection costs less.
CHUNKS_BY_ID = 16
DUPLICATE_KEY = 11000


class ChunkStore:
    """One generation's chunks and progress documents (`projector.engine` says what they
    hold). Counts its passes over the whole chunks collection in `scans`."""

    def __init__(self, db: AsyncDatabase[Doc], generation: str = "") -> None:
        suffix = f"_{generation}" if generation else ""
        self.chunks: AsyncCollection[Doc] = db[f"view_chunks{suffix}"]
        self.progress: AsyncCollection[Doc] = db[f"view_progress{suffix}"]
        self.scans = 0

    async def committed(self, parts: list[str]) -> dict[str, int]:
        """The last committed chunk of each of these partitions that has one."""
        found = self.progress.find({"_id": {"$in": parts}})
        return {d["_id"]: int(d["seqno"]) async for d in found}

    async def last_chunks(self) -> dict[str, int]:
        """The last committed chunk of every partition."""
        return {d["_id"]: int(d["seqno"]) async for d in self.progress.find({})}

    async def insert(self, chunks: list[Doc]) -> set[str]:
        """Insert the chunks (each its own atomic insert); returns the ids already taken."""
        taken: set[str] = set()
        try:
            await self.chunks.insert_many(chunks, ordered=False)
        except BulkWriteError as exc:
            for err in exc.details.get("writeErrors", []):
                if err.get("code") != DUPLICATE_KEY:
                    raise
                taken.add(chunks[int(err["index"])]["_id"])
        return taken

    async def mark(self, part: str, seqno: int) -> None:
        """Name a partition's last chunk (a small document: cheap to replace on FerretDB)."""
        topic, partition = part.rsplit("|", 1)
        await self.progress.replace_one(
            {"_id": part},
            {"topic": topic, "partition": int(partition), "seqno": seqno},
            upsert=True,
        )

    async def positions(self) -> AsyncIterator[Doc]:
        """Every chunk without its cells, in one pass (FerretDB v1 reads the whole collection
        for any filter but an exact `_id`)."""
        self.scans += 1
        cursor = self.chunks.find({}, {"deltas": 0, "cells": 0}, batch_size=CHUNKS_PER_BATCH)
        async for chunk in cursor:
            yield chunk

    async def chunks_by_id(self, ids: list[str]) -> list[Doc]:
        """The chunks of these ids that exist."""
        if len(ids) <= CHUNKS_BY_ID:
            return [c for cid in ids if (c := await self.chunks.find_one({"_id": cid}))]
        self.scans += 1  # catching up on many: one pass over the collection
        wanted = set(ids)
        cursor = self.chunks.find({}, batch_size=CHUNKS_PER_BATCH)
        return [c async for c in cursor if c["_id"] in wanted]


class ViewsState:
    """Which generation of the read models is served (one document: switching is atomic).

    Read at most every `ttl_s` (every views request asks), behind the requests
    (`KeptRead`): another instance's switch is seen within that time and one read, this
    instance's own at once."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, ttl_s: float = 0.25) -> None:
        self.meta = db["view_meta"]
        self._known = KeptRead(self._read, ttl_s)

    async def _read(self) -> str:
        doc = await self.meta.find_one({"_id": "active"})
        return str(doc["generation"]) if doc else ""

    async def active(self) -> str:
        return await self._known.get()

    async def activate(self, generation: str) -> None:
        await self.meta.replace_one({"_id": "active"}, {"generation": generation}, upsert=True)
        self._known.put(generation)


class Programmes:
    """Programme periods, read at most every `ttl_s` per programme (every progress request
    asks), behind the requests (`KeptRead`); a period changes rarely, and this instance's
    own changes are seen at once."""

    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], *, ttl_s: float = 1.0, max_known: int = 10_000
    ) -> None:
        self.meta = db["programme_periods"]
        self.ttl_s = ttl_s
        # Bounded: callers name programme ids, and an unknown one is remembered too.
        self.max_known = max_known
        self._known: OrderedDict[str, KeptRead[Period | None]] = OrderedDict()

    async def follow(self, event: Event) -> None:
        if isinstance(event, reg.ProgrammeCreated):
            await self.meta.replace_one(
                {"_id": event.programme_id},
                {
                    "name": event.name,
                    "region_code": event.region_code,
                    "start": event.start_date.isoformat(),
                    "end": event.end_date.isoformat(),
                },
                upsert=True,
            )
        elif isinstance(event, reg.ProgrammeUpdated) and event.end_date is not None:
            await self.meta.update_one(
                {"_id": event.programme_id}, {"$set": {"end": event.end_date.isoformat()}}
            )
        if isinstance(event, reg.ProgrammeCreated | reg.ProgrammeUpdated):
            # Forgotten once written: the next ask reads the new period and waits for it
            # (a read begun before the write belongs to the forgotten entry).
            self._known.pop(event.programme_id, None)

    async def ids(self) -> list[str]:
        """Every programme with a period."""
        return [str(doc["_id"]) async for doc in self.meta.find({}, {"_id": 1})]

    async def get(self, programme_id: str) -> Period | None:
        """(name, region code, start, end) of the programme, or None if there is none."""
        kept = self._known.get(programme_id)
        if kept is None:
            kept = self._known[programme_id] = KeptRead(
                lambda: self._read(programme_id), self.ttl_s
            )
            while len(self._known) > self.max_known:
                self._known.popitem(last=False)
        else:
            self._known.move_to_end(programme_id)
        return await kept.get()

    async def _read(self, programme_id: str) -> Period | None:
        doc = await self.meta.find_one({"_id": programme_id})
        if doc is None:
            return None
        return (
            doc["name"],
            doc["region_code"],
            date.fromisoformat(doc["start"]),
            date.fromisoformat(doc["end"]),
        )
