"""Read models from event streams, exactly once in effect, without transactions.

A view turns an event into counter increments on buckets (a station and a day, say). The
projector writes them insert-only: one insert per partition and batch, and a numbered
`_id` that two writers cannot both take (docs/decisions/0011-insert-only-projection.md;
the scans that first motivated it were FerretDB's own, decision 0020):

- a batch becomes one *chunk* document per (topic, partition): the summed increments of the
  records it applied, the offset range, and the stream positions it moved. One insert per
  partition, so a partition's share of a batch is applied entirely or not at all;
- chunks of a partition are numbered; the number is in the `_id`, so two writers (a crashed
  owner, its successor) cannot both write chunk n: the second gets a duplicate key, reloads
  the partition's state from its chunks and decides again;
- a small *progress* document per partition names its last chunk: the commit point for
  readers, written after the chunk (a chunk without it is found and counted by the next
  writer of that partition, never applied twice);
- a record at or below the partition's applied offset is skipped (a redelivery), and a
  duplicate *copy* of an event (the relay republishing after a crash, at a later offset) is
  recognised by its stream position (`ce_sequence`), kept per stream in the chunks.

Reads are served from memory: a model of the totals per (view, key, region, day), loaded
from the chunks once, then kept current by this process's own writes and by reading the
chunks other instances committed (their progress documents say which). Totals are sums, so
two instances dividing the partitions give the same numbers as one. Day buckets answer
"as of day D" without replaying anything. An answer, once summed, is kept and moved by each
fold's deltas (`projector.answers`), so a read right after a write costs no more than one
before it. The collections are reached through `projector.store.ChunkStore`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Protocol

from pymongo.asynchronous.database import AsyncDatabase

from projector.answers import KeptTotals, Question, add_counters
from projector.store import ChunkStore
from wushe.bus import Delivery
from wushe.contracts import Envelope, Event

log = logging.getLogger("projector.engine")

Doc = dict[str, Any]
Delta = dict[str, int]


class AtStation(Protocol):
    """An event (or part of one) made at a station."""

    @property
    def station_id(self) -> str: ...

    @property
    def region_code(self) -> str: ...


@dataclass(frozen=True)
class Bucket:
    key: str  # what is counted, e.g. a station id
    region_code: str  # where, for region-scoped reads
    day: date  # when the fact happened (not when it was received)

    @classmethod
    def at(cls, event: AtStation, day: date) -> Bucket:
        """The bucket of the event's station on `day`."""
        return cls(event.station_id, event.region_code, day)


@dataclass(frozen=True)
class Record:
    delivery: Delivery
    envelope: Envelope
    event: Event


class View(Protocol):
    name: str
    topics: tuple[str, ...]
    # Every counter `deltas` can emit, name or pattern (`person_times:<group>`) → what it
    # counts: docs/views.md is rendered from these (`projector.catalogue`).
    counters: ClassVar[dict[str, str]]

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        """The counter increments an event causes (negative for corrections)."""
        ...


Cell = tuple[str, str, str, str]  # view, key, region code, day (ISO)
PLACEMENTS = "placements"  # the view of where each station is now (`views.placements`)


@dataclass
class PartitionState:
    """What has been applied from one partition: the last chunk, the offset, the streams."""

    seqno: int = 0
    offset: int = -1
    streams: dict[str, str] = field(default_factory=dict)  # subject -> last sequence applied


@dataclass
class KeyTotals:
    days: dict[str, Delta] = field(default_factory=dict)
    total: Delta = field(default_factory=dict)
    last_day: str = ""

    def add(self, day: str, delta: Delta) -> None:
        counters = self.days.setdefault(day, {})
        for name, n in delta.items():
            counters[name] = counters.get(name, 0) + n
            self.total[name] = self.total.get(name, 0) + n
        self.last_day = max(self.last_day, day)

    def as_of(self, limit: str | None) -> Delta:
        if limit is None or limit >= self.last_day:
            return self.total
        sums: Delta = {}
        for day, counters in self.days.items():
            if day <= limit:
                for name, n in counters.items():
                    sums[name] = sums.get(name, 0) + n
        return sums


class ServingModel:
    """The read models in memory: every committed chunk folded once, in chunk order, and the
    answers asked so far (`KeptTotals`), each kept current by the same folds (a fold adds its
    deltas to the answers that count them), so a read after a write does not sum every cell
    again."""

    def __init__(self) -> None:
        self.seqno: dict[str, int] = {}  # "topic|partition" -> last chunk folded
        self.views: dict[str, dict[tuple[str, str], KeyTotals]] = defaultdict(dict)
        self.kept = KeptTotals()
        self.folds = 0  # chunks folded: a version for what is derived from the answers
        self._placed: dict[str, str] = {}  # station -> its region now, as of `_placed_at`
        self._placed_at = -1

    @property
    def answers(self) -> dict[Question, dict[str, Delta]]:
        """The kept answers, least recently asked first."""
        return self.kept.answers

    def fold(self, chunk: Doc) -> bool:
        """Fold a chunk if it is the next one of its partition; False when it is not."""
        part = f"{chunk['topic']}|{chunk['partition']}"
        if chunk["seqno"] != self.seqno.get(part, 0) + 1:
            return False
        for view, key, region, day, delta in chunk_cells(chunk):
            cell = self.views[view].get((key, region))
            if cell is None:
                cell = self.views[view][(key, region)] = KeyTotals()
            cell.add(day, delta)
            self.kept.move(view, key, region, day, delta)
        self.seqno[part] = chunk["seqno"]
        self.folds += 1
        return True

    def answer(self, question: Question) -> dict[str, Delta]:
        """The answer to `question` (not to be changed by the caller): kept, or summed now
        and kept from here on (by where stations are now: summed now only)."""
        if question.current:
            return self.sum(question)
        return self.kept.get(question, self.sum)

    def current_regions(self) -> dict[str, str]:
        """Each station's region now (the `placements` view), by station id."""
        if self._placed_at != self.folds:
            placed = {}
            for (station, region), cell in self.views.get(PLACEMENTS, {}).items():
                if cell.total.get("placed", 0) > 0:
                    placed[station] = region
            self._placed, self._placed_at = placed, self.folds
        return self._placed

    def sum(self, question: Question) -> dict[str, Delta]:
        """Every cell the question counts, summed from the day buckets."""
        out: dict[str, Delta] = {}
        now = self.current_regions() if question.current else {}
        for (key, region), cell in self.views.get(question.view, {}).items():
            if now:
                region = now.get(key.rsplit("|", 1)[-1], region)
            group = question.group(key, region)
            if group is None:
                continue
            sums = out.setdefault(group, {})
            add_counters(sums, question.counted(cell.as_of(question.limit)))
        return out


def chunk_id(topic: str, partition: int, seqno: int) -> str:
    return f"{topic}|{partition}|{seqno:010d}"


# A chunk's cells and stream positions are each one compact JSON string, not thousands of
# nested objects: FerretDB v1 encodes every nested object (and its type schema) in Go, and a
# batch's chunk of 700 cells and 500 positions took 19 ms to insert and 34 ms to read as
# objects, 2.3 ms each packed (decision 0022). Only this module reads them.
def _pack(rows: list[list[Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


Cell5 = tuple[str, str, str, str, Delta]  # view, key, region, day, counters


def chunk_cells(chunk: Doc) -> Iterable[Cell5]:
    """The (view, key, region, day, counters) a chunk adds (either format: chunks written
    before decision 0022 hold `deltas` objects)."""
    if "cells" in chunk:
        return ((v, k, r, d, c) for v, k, r, d, c in json.loads(chunk["cells"]))
    return ((d["v"], d["k"], d["r"], d["d"], d["c"]) for d in chunk["deltas"])


def chunk_streams(chunk: Doc) -> Iterable[tuple[str, str]]:
    """The (stream, position) pairs a chunk moved (either format, as `chunk_cells`)."""
    if isinstance(chunk["streams"], str):
        return ((s, q) for s, q in json.loads(chunk["streams"]))
    return ((m["s"], m["q"]) for m in chunk["streams"])


class Projector:
    """One generation of the read models: writes batches as chunks, reads from memory."""

    def __init__(
        self,
        db: AsyncDatabase[Doc],
        views: Sequence[View],
        *,
        after_write: Callable[[str, str], None] | None = None,
        generation: str = "",
        refresh_s: float = 0.25,
    ) -> None:
        """`generation` names a set of read models (a rebuild writes a new one beside the
        one being served, see `projector.rebuild`). Reads see this instance's own writes at
        once, and other instances' within `refresh_s` and one look at the store: a read that
        finds the model older than that is answered from it and starts a look in the
        background. With `refresh_s=0` every read waits for its own look (strict)."""
        self.views = list(views)
        self.generation = generation
        self.store = ChunkStore(db, generation)
        self.refresh_s = refresh_s
        # Fault-test hook: runs after each chunk insert ("chunk", id) and each progress
        # write ("progress", id), i.e. where a crash would leave the store.
        self._after_write = after_write
        self._parts: dict[str, PartitionState] = {}
        self._model: ServingModel | None = None  # loaded by the first read
        self._refreshed = 0.0
        self._look_began = 0.0  # when the last look at the progress documents began
        self._refresh_lock = asyncio.Lock()
        self._look_behind: asyncio.Task[ServingModel] | None = None
        self._started_empty = False

    @property
    def scans(self) -> int:
        """Passes over the whole chunks collection (on FerretDB each decodes all of it: a
        cold start's cost, about 1 GB at a million events)."""
        return self.store.scans

    def start_empty(self) -> None:
        """Declare the generation empty and this projector its first writer (a rebuild's
        target): partitions and the model start empty and follow this projector's own
        writes, so serving it after the switch needs no scan of the chunks it wrote. A chunk
        another writer commits later is still seen: by its duplicate number when writing,
        by the progress documents when reading."""
        self._model = ServingModel()
        self._refreshed = time.monotonic()
        self._started_empty = True

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(sorted({t for v in self.views for t in v.topics}))

    # -- writes
    async def apply(self, records: Sequence[Record]) -> int:
        """Apply a batch (records of any partitions, in their partition order); returns how
        many records had an effect. Safe to call again with the same records."""
        by_part: dict[str, list[Record]] = defaultdict(list)
        for r in records:
            by_part[f"{r.delivery.topic}|{r.delivery.partition}"].append(r)
        if not by_part:
            return 0
        committed = await self.store.committed(sorted(by_part))
        if self._started_empty:  # no progress document: nothing committed before this writer
            for part in by_part:
                if part not in committed:
                    self._parts.setdefault(part, PartitionState())
        stale = [
            part
            for part in by_part
            if part not in self._parts or self._parts[part].seqno != committed.get(part, 0)
        ]
        if stale:  # new to us, or another writer moved them: one scan for all of them
            await self._load_partitions(stale, every=not self._parts)
        effective = 0
        pending = dict(by_part)
        for _attempt in range(5):
            plans = {part: self._plan(part, recs) for part, recs in pending.items()}
            chunks = [c for c, _ in plans.values() if c is not None]
            taken = await self._insert(chunks)
            for part, (chunk, count) in plans.items():
                if chunk is None or chunk["_id"] not in taken:
                    effective += count
                    if chunk is not None:
                        self._commit_state(part, chunk)
            # A chunk number already taken: another writer of this partition got there first
            # (or a crashed one left it); learn what it applied and decide again.
            pending = {}
            for part, (chunk, _) in plans.items():
                if chunk is not None and chunk["_id"] in taken:
                    pending[part] = by_part[part]
            if pending:
                await self._load_partitions(list(pending))
            if not pending:
                break
        else:
            raise RuntimeError(f"partitions {sorted(pending)} kept changing under this writer")
        await self._commit_progress(
            [p for p in sorted(by_part) if self._parts[p].seqno != committed.get(p, 0)]
        )
        return effective

    def _plan(self, part: str, records: list[Record]) -> tuple[Doc | None, int]:
        """The chunk a partition's records make (None when nothing applies) and how many
        records had an effect."""
        state = self._parts[part]
        sums: dict[Cell, Delta] = {}
        moved: dict[str, str] = {}
        effective, first, last = 0, None, state.offset
        for r in sorted(records, key=lambda r: r.delivery.offset):
            if r.delivery.offset <= state.offset:
                continue  # applied before a crash, redelivered now
            last = max(last, r.delivery.offset)
            seq, subject = r.envelope.sequence, r.envelope.subject
            if seq is not None and seq <= moved.get(subject, state.streams.get(subject, "")):
                continue  # a duplicate copy of an event already applied
            touched = False
            for view in self.views:
                if r.delivery.topic not in view.topics:
                    continue
                for bucket, delta in view.deltas(r.event, r.envelope):
                    cell = (view.name, bucket.key, bucket.region_code, bucket.day.isoformat())
                    counters = sums.setdefault(cell, {})
                    for name, n in delta.items():
                        counters[name] = counters.get(name, 0) + n
                    touched = True
            if touched:
                effective += 1
                first = r.delivery.offset if first is None else first
                if seq is not None:
                    moved[subject] = seq
        if not sums:
            return None, 0
        topic, partition = part.rsplit("|", 1)
        return {
            "_id": chunk_id(topic, int(partition), state.seqno + 1),
            "topic": topic,
            "partition": int(partition),
            "seqno": state.seqno + 1,
            "first_offset": first,
            "last_offset": last,
            # Packed (see `_pack`); stream ids as values, not keys (keys may not hold dots).
            "cells": _pack([[*cell, delta] for cell, delta in sums.items()]),
            "streams": _pack([[subject, seq] for subject, seq in moved.items()]),
        }, effective

    async def _insert(self, chunks: list[Doc]) -> set[str]:
        """Insert the chunks (each its own atomic insert); returns the ids already taken."""
        if not chunks:
            return set()
        taken = await self.store.insert(chunks)
        if self._after_write:
            for chunk in chunks:
                if chunk["_id"] not in taken:
                    self._after_write("chunk", chunk["_id"])
        return taken

    def _commit_state(self, part: str, chunk: Doc) -> None:
        state = self._parts[part]
        state.seqno = chunk["seqno"]
        state.offset = max(state.offset, chunk["last_offset"])
        state.streams.update(chunk_streams(chunk))
        if self._model is not None:
            self._model.fold(chunk)  # a gap (another writer's chunk) is left to `refresh`

    async def _commit_progress(self, parts: list[str]) -> None:
        """Name each partition's last chunk (small documents, one per partition, so the
        replace is cheap even on FerretDB): from here readers count the chunks."""
        for part in parts:
            state = self._parts[part]
            await self.store.mark(part, state.seqno)
            if self._after_write:
                self._after_write("progress", part)

    async def _load_partitions(self, parts: list[str], *, every: bool = False) -> None:
        """Rebuild partitions' states from their chunks (with `every`, of all partitions in
        the chunks as well), in one scan: FerretDB v1 reads the whole collection for any
        filter but an exact `_id`, so this runs on first sight, after a rebalance and after
        a conflict, not per batch."""
        states: dict[str, PartitionState] = {part: PartitionState() for part in parts}
        async for chunk in self.store.positions():
            part = f"{chunk['topic']}|{chunk['partition']}"
            if not every and part not in states:
                continue
            state = states.setdefault(part, PartitionState())
            state.seqno = max(state.seqno, int(chunk["seqno"]))
            state.offset = max(state.offset, int(chunk["last_offset"]))
            for stream, position in chunk_streams(chunk):
                if position > state.streams.get(stream, ""):
                    state.streams[stream] = position
        self._parts.update(states)

    # -- reads
    async def refresh(self, *, force: bool = False) -> ServingModel:
        """Fold the chunks committed since the last look (by any instance)."""
        if not force and (fresh := self._fresh()) is not None:
            return fresh
        if not force and self.refresh_s > 0 and self._model is not None:
            # Answer from the model and look behind it: under load a look is several trips
            # through a busy event loop (~250 ms in P6), and every read that waited for it
            # was the p99, four times a second.
            if self._look_behind is None or self._look_behind.done():
                self._look_behind = asyncio.create_task(self._look_in_background())
            return self._model
        asked = time.monotonic()
        async with self._refresh_lock:
            # Requests that queued behind a look begun after they asked take its result
            # instead of each looking again in turn (32 waiting requests were 32 store round
            # trips one after the other: P6's p99).
            if self._model is not None and self._look_began >= asked:
                return self._model
            if not force and (fresh := self._fresh()) is not None:
                return fresh
            began = time.monotonic()
            model = self._model or ServingModel()
            wanted: list[str] = []
            for part, last in (await self.store.last_chunks()).items():
                have = model.seqno.get(part, 0)
                topic, partition = part.rsplit("|", 1)
                wanted += [chunk_id(topic, int(partition), n) for n in range(have + 1, last + 1)]
            found = await self.store.chunks_by_id(wanted)
            for chunk in sorted(found, key=lambda c: (c["topic"], c["partition"], c["seqno"])):
                model.fold(chunk)
            self._model = model
            self._refreshed = time.monotonic()
            self._look_began = began
            return model

    async def _look_in_background(self) -> ServingModel:
        try:
            return await self.refresh(force=True)
        except Exception as exc:  # the store is away: the next read past refresh_s tries again
            log.warning("views: a look at the store failed: %s: %s", type(exc).__name__, exc)
            return self._model or ServingModel()

    def _fresh(self) -> ServingModel | None:
        if self._model is not None and time.monotonic() - self._refreshed < self.refresh_s:
            return self._model
        return None

    async def totals(
        self,
        view: str,
        *,
        region_prefix: str = "",
        key: str | None = None,
        key_prefix: str | None = None,
        as_of: date | None = None,
        group_len: int | None = None,
        by_key: bool = False,
        only: tuple[str, ...] = (),
        current: bool = False,
    ) -> dict[str, Delta]:
        """Counters summed over partitions and days up to `as_of`, grouped by the first
        `group_len` digits of the region code, or by bucket key (`by_key`), or by both
        (`<digits>|<key>`), or not (""); only those named with a prefix in `only`, if any;
        `current`: each station's counters under the region it lies in now (`placements`)."""
        model = await self.refresh()
        question = Question(
            view,
            region_prefix,
            key,
            key_prefix,
            as_of.isoformat() if as_of else None,
            group_len,
            by_key,
            only,
            current,
        )
        return {g: dict(sums) for g, sums in model.answer(question).items()}

    async def has_key(self, view: str, key: str) -> bool:
        """Whether any committed fold counted something under `key` in `view`."""
        model = await self.refresh()
        return any(k == key for k, _ in model.views.get(view, {}))

    async def checksum(self) -> str:
        """A digest of every view's totals per key: equal for equal read models."""
        model = await self.refresh(force=True)
        per_key: dict[tuple[str, str], Delta] = defaultdict(dict)
        for view, cells in model.views.items():
            for (k, _), cell in cells.items():
                sums = per_key[(view, k)]
                for name, n in cell.total.items():
                    sums[name] = sums.get(name, 0) + n
        canonical = sorted(
            (v, k, sorted((n, c) for n, c in sums.items() if c)) for (v, k), sums in per_key.items()
        )
        return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()
