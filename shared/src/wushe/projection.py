"""Read models from event streams, exactly once in effect, without transactions.

A view turns an event into counter increments on buckets (a station and a day, say). The
projector keeps, per view, one document per (topic, partition, bucket key, month) holding
day-by-day counters and the offset of the last record applied to it:

- one consumer owns a partition, so each document has a single writer;
- a record at or below a document's offset is skipped, so a redelivery after a crash
  between the database write and the offset commit (even half-way through a batch, some
  documents written and others not) changes nothing;
- a duplicate *copy* of an event (the relay republishing after a crash, at a later offset)
  is recognised by its stream position (`ce_sequence`): the projector remembers the last
  sequence applied per stream, written after the counters, and skips anything not newer.

Totals are sums over documents, so two instances dividing the partitions give the same
numbers as one. Day buckets answer "as of day D" without replaying anything.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from wushe.bus import Delivery
from wushe.contracts import Envelope, Event

log = logging.getLogger("wushe.projection")

Doc = dict[str, Any]
Delta = dict[str, int]


@dataclass(frozen=True)
class Bucket:
    key: str  # what is counted, e.g. a station id
    region_code: str  # where, for region-scoped reads
    day: date  # when the fact happened (not when it was received)


@dataclass(frozen=True)
class Record:
    delivery: Delivery
    envelope: Envelope
    event: Event


class View(Protocol):
    name: str
    topics: tuple[str, ...]

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        """The counter increments an event causes (negative for corrections)."""
        ...


def doc_id(view: str, d: Delivery, bucket: Bucket) -> str:
    return f"{view}|{d.topic}|{d.partition}|{bucket.key}|{bucket.day:%Y-%m}"


class Projector:
    def __init__(
        self,
        db: AsyncDatabase[Doc],
        views: Sequence[View],
        *,
        after_write: Callable[[str], None] | None = None,
        generation: str = "",
    ) -> None:
        """`generation` names a set of read models (a rebuild writes a new one beside the
        one being served, see `projector.rebuild`)."""
        self.views = list(views)
        self.generation = generation
        suffix = f"_{generation}" if generation else ""
        self.buckets: AsyncCollection[Doc] = db[f"view_buckets{suffix}"]
        self.positions: AsyncCollection[Doc] = db[f"view_positions{suffix}"]
        self._after_write = after_write  # fault-test hook: runs after each bucket write

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(sorted({t for v in self.views for t in v.topics}))

    async def apply(self, records: Sequence[Record]) -> int:
        """Apply a batch (records of any partitions, in their partition order); returns how
        many records had an effect. Safe to call again with the same records."""
        keys = {_stream_key(r) for r in records if r.envelope.sequence}
        known: dict[str, str] = {}
        if keys:
            async for doc in self.positions.find({"_id": {"$in": sorted(keys)}}):
                known[doc["_id"]] = doc["sequence"]
        known_before = set(known)
        plans: dict[str, list[tuple[int, Bucket, Delta]]] = defaultdict(list)
        meta: dict[str, tuple[str, Delivery, Bucket]] = {}
        moved: dict[str, str] = {}
        effective = 0
        for r in sorted(
            records, key=lambda r: (r.delivery.topic, r.delivery.partition, r.delivery.offset)
        ):
            seq, key = r.envelope.sequence, _stream_key(r)
            if seq is not None:
                if key in known and seq <= known[key]:
                    continue  # a duplicate copy of an event already applied
                known[key] = moved[key] = seq
            touched = False
            for view in self.views:
                if r.delivery.topic not in view.topics:
                    continue
                for bucket, delta in view.deltas(r.event, r.envelope):
                    did = doc_id(view.name, r.delivery, bucket)
                    plans[did].append((r.delivery.offset, bucket, delta))
                    meta[did] = (view.name, r.delivery, bucket)
                    touched = True
            effective += touched
        existing = {}
        if plans:  # one read for the whole batch, not one per bucket
            async for doc in self.buckets.find({"_id": {"$in": sorted(plans)}}):
                existing[doc["_id"]] = doc
        fresh: list[Doc] = []
        updated: list[Doc] = []
        for did, items in plans.items():
            doc = existing.get(did) or _new_bucket(did, meta[did])
            if _fold(doc, items):
                (updated if did in existing else fresh).append(doc)
        await self._write(self.buckets, fresh, updated)
        # After the counters: see the module docstring.
        await self._write(
            self.positions,
            [{"_id": k, "sequence": v} for k, v in moved.items() if k not in known_before],
            [{"_id": k, "sequence": v} for k, v in moved.items() if k in known_before],
        )
        return effective

    async def _write(
        self, collection: AsyncCollection[Doc], fresh: list[Doc], updated: list[Doc]
    ) -> None:
        """Changed documents replaced a few at a time (FerretDB v1 handles multi-statement
        updates very slowly, see decision 0004), then new ones in one insert. One writer per
        document (its partition's owner), so nothing else writes these ids meanwhile."""
        limit = asyncio.Semaphore(8)
        hook = self._after_write if collection is self.buckets else None

        async def replace(doc: Doc) -> None:
            async with limit:
                await collection.replace_one({"_id": doc["_id"]}, doc)
                if hook:
                    hook(doc["_id"])

        for start in range(0, len(updated), 64):
            await asyncio.gather(*(replace(d) for d in updated[start : start + 64]))
        if fresh:
            await collection.insert_many(fresh, ordered=True)
            for doc in fresh:
                if hook:
                    hook(doc["_id"])

    # -- reads
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
    ) -> dict[str, Delta]:
        """Counters summed over partitions and days up to `as_of`, grouped by the first
        `group_len` digits of the region code, or by bucket key (`by_key`), or not ("")."""
        query: Doc = {"view": view}
        if region_prefix:
            query["region_code"] = {"$regex": f"^{region_prefix}"}
        if key is not None:
            query["key"] = key
        elif key_prefix is not None:
            query["key"] = {"$regex": f"^{re.escape(key_prefix)}"}
        limit = as_of.isoformat() if as_of else None
        out: dict[str, Delta] = defaultdict(dict)
        async for doc in self.buckets.find(query):
            group = doc["key"] if by_key else (doc["region_code"][:group_len] if group_len else "")
            sums = out[group]
            for day, counters in doc["days"].items():
                if limit is not None and day > limit:
                    continue
                for name, n in counters.items():
                    sums[name] = sums.get(name, 0) + n
        return {g: {k: v for k, v in sums.items() if v} for g, sums in out.items()}

    async def checksum(self) -> str:
        """A digest of every view's totals per key: equal for equal read models."""
        import hashlib
        import json

        per_key: dict[tuple[str, str], Delta] = defaultdict(dict)
        async for doc in self.buckets.find({}):
            sums = per_key[(doc["view"], doc["key"])]
            for counters in doc["days"].values():
                for name, n in counters.items():
                    sums[name] = sums.get(name, 0) + n
        canonical = sorted((v, k, sorted(c.items())) for (v, k), c in per_key.items())
        return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


def _new_bucket(did: str, meta: tuple[str, Delivery, Bucket]) -> Doc:
    view, d, bucket = meta
    return {
        "_id": did,
        "view": view,
        "topic": d.topic,
        "partition": d.partition,
        "key": bucket.key,
        "region_code": bucket.region_code,
        "month": f"{bucket.day:%Y-%m}",
        "days": {},
        "offset": -1,
    }


def _fold(doc: Doc, items: list[tuple[int, Bucket, Delta]]) -> bool:
    """Add the increments of records past the document's offset; True when any applied."""
    changed = False
    for offset, bucket, delta in items:
        if offset <= doc["offset"]:
            continue  # applied before a crash, redelivered now
        day = doc["days"].setdefault(bucket.day.isoformat(), {})
        for name, n in delta.items():
            day[name] = day.get(name, 0) + n
        doc["region_code"] = bucket.region_code
        doc["offset"] = max(doc["offset"], offset)
        changed = True
    return changed


def _stream_key(r: Record) -> str:
    return f"{r.delivery.topic}|{r.envelope.subject}"
