"""The document store and the one way a state change and its events become one atomic write.

FerretDB v1 (the local store) has no transactions and no atomic read-modify-write; only a
single-document insert guarded by a unique index is atomic, on FerretDB and MongoDB alike.
So (docs/decisions/0002-atomic-write-and-outbox.md):

- `EventStore.append` writes one *commit* document per command: the events it caused, the
  aggregate's state after them, and `published: false`. Its `_id` is (stream id, version),
  so the insert is the optimistic-concurrency check: a second writer of the same version
  gets a duplicate-key error, never a lost update.
- The current state of every aggregate is cached in a queryable collection. The cache may
  lag a crash behind the commits; `load` catches it up by probing the next versions by `_id`.
- `Relay` publishes unpublished commits to Kafka in (stream, version) order and only then
  marks them published. A crash in between publishes them again with the same CloudEvents
  id, which consumers deduplicate (`Inbox`): at-least-once delivery, exactly-once effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opentelemetry import propagate
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from wushe.contracts import Envelope, Event

log = logging.getLogger("wushe.store")

Doc = dict[str, Any]
Publisher = Callable[[Sequence[Envelope]], Awaitable[None]]


def create_mongo_client(
    url: str, *, timeout_ms: int = 5000, app_name: str = "wushe"
) -> AsyncMongoClient[Doc]:
    """One client per process. Works on MongoDB and on FerretDB (directConnection, no
    retryable writes: FerretDB v1 has no sessions to retry them in)."""
    return AsyncMongoClient(
        url,
        tz_aware=True,
        appname=app_name,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 3, 15_000),
    )


class ConcurrencyError(RuntimeError):
    """Another writer appended to the stream first: reload and decide again (or 409)."""


@dataclass(frozen=True)
class Loaded:
    stream_id: str
    version: int  # 0: the stream does not exist yet
    state: Doc | None


@dataclass(frozen=True)
class Commit:
    id: str
    stream_id: str
    version: int
    envelopes: tuple[Envelope, ...]
    state: Doc


def commit_id(stream_id: str, version: int) -> str:
    # Zero-padded so that _id order is version order within a stream.
    return f"{stream_id}@{version:010d}"


class EventStore:
    """Append-only commits of one aggregate type, with the current states cached beside them.

    Collections: `<aggregate>` (current state, one document per stream, the state's fields at
    the top level plus `_v`, for the service's queries) and `<aggregate>_commits`.
    """

    def __init__(
        self,
        db: AsyncDatabase[Doc],
        aggregate: str,
        *,
        source: str,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.aggregate = aggregate
        self.source = source
        self.current: AsyncCollection[Doc] = db[aggregate]
        self.commits: AsyncCollection[Doc] = db[f"{aggregate}_commits"]
        self._on_commit = on_commit

    async def ensure_indexes(self) -> None:
        # The relay's scan; (stream_id, version) uniqueness is carried by _id itself.
        await self.commits.create_index([("published", ASCENDING)], name="by_published")

    async def load(self, stream_id: str) -> Loaded:
        doc = await self.current.find_one({"_id": stream_id})
        version = int(doc["_v"]) if doc else 0
        state = _strip(doc) if doc else None
        caught_up = False
        while True:  # the cache may lag the commits after a crash: probe forward by _id
            nxt = await self.commits.find_one({"_id": commit_id(stream_id, version + 1)})
            if nxt is None:
                break
            version, state, caught_up = int(nxt["version"]), nxt["state"], True
        if caught_up and state is not None:
            await self._cache(stream_id, version, state)
        return Loaded(stream_id, version, state)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Event],
        state: Doc,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        traceparent: str | None = None,
        now: datetime | None = None,
    ) -> Commit:
        """Record `events` and the resulting `state` as version `expected_version + 1`."""
        if not events:
            raise ValueError("a commit needs at least one event")
        if "_id" in state or "_v" in state:
            raise ValueError("state must not carry _id or _v")
        version = expected_version + 1
        at = now or datetime.now(UTC)
        if traceparent is None:  # the caller's trace travels with the events (W3C header)
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            traceparent = carrier.get("traceparent")
        envelopes = tuple(
            Envelope.wrap(
                e,
                source=self.source,
                subject=stream_id,
                time=at,
                correlation_id=correlation_id,
                causation_id=causation_id,
            ).model_copy(update={"traceparent": traceparent})
            for e in events
        )
        cid = commit_id(stream_id, version)
        doc = {
            "_id": cid,
            "stream_id": stream_id,
            "version": version,
            "recorded_at": at,
            "events": [env.model_dump(mode="json") for env in envelopes],
            "state": state,
            "published": False,
        }
        try:
            await self.commits.insert_one(doc)
        except DuplicateKeyError as exc:
            raise ConcurrencyError(f"{stream_id} is past version {expected_version}") from exc
        # The commit is durable: from here on a failure only delays the cache and the relay.
        with contextlib.suppress(PyMongoError):
            await self._cache(stream_id, version, state)
        if self._on_commit:
            self._on_commit()
        return Commit(cid, stream_id, version, envelopes, state)

    async def _cache(self, stream_id: str, version: int, state: Doc) -> None:
        # Upsert only over an older version. When a newer one is there the upsert turns into
        # an insert of an existing _id, i.e. a duplicate key: the cache is already ahead.
        with contextlib.suppress(DuplicateKeyError):
            await self.current.replace_one(
                {"_id": stream_id, "_v": {"$lt": version}}, {**state, "_v": version}, upsert=True
            )

    async def unpublished(self, limit: int) -> list[Doc]:
        cursor = (
            self.commits.find({"published": False})
            .sort([("stream_id", ASCENDING), ("version", ASCENDING)])
            .limit(limit)
        )
        return [doc async for doc in cursor]

    async def mark_published(self, ids: Iterable[str]) -> None:
        await self.commits.update_many(
            {"_id": {"$in": list(ids)}},
            {"$set": {"published": True, "published_at": datetime.now(UTC)}},
        )


def _strip(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if k not in ("_id", "_v")}


class Relay:
    """Publishes committed events to Kafka and marks them, retrying until it succeeds.

    Woken at once by `notify()` (wired to every store's `on_commit`) and by a periodic sweep
    that finds what no signal announced: commits of another replica, or of a process that
    crashed before its relay ran.
    """

    def __init__(
        self,
        stores: Sequence[EventStore],
        publish: Publisher,
        *,
        batch_size: int = 500,
        sweep_interval_s: float = 5.0,
        max_backoff_s: float = 10.0,
        after_publish: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        self.stores = list(stores)
        self.publish = publish
        self.batch_size = batch_size
        self.sweep_interval_s = sweep_interval_s
        self.max_backoff_s = max_backoff_s
        self._after_publish = after_publish  # fault-test hook: runs between publish and mark
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.published_total = 0
        self.failures_total = 0

    def notify(self) -> None:
        self._wake.set()

    async def publish_pending(self) -> int:
        """One pass over every store; returns how many events were published."""
        count = 0
        for store in self.stores:
            while True:
                docs = await store.unpublished(self.batch_size)
                if not docs:
                    break
                envelopes = [Envelope.model_validate(e) for d in docs for e in d["events"]]
                await self.publish(envelopes)
                ids = [d["_id"] for d in docs]
                if self._after_publish:
                    self._after_publish(ids)
                await store.mark_published(ids)
                count += len(envelopes)
                if len(docs) < self.batch_size:
                    break
        self.published_total += count
        return count

    async def oldest_unpublished_age_s(self) -> float:
        """Age of the oldest commit still waiting (0 when none): the relay's health gauge."""
        oldest: datetime | None = None
        for store in self.stores:
            for doc in await store.unpublished(self.batch_size):
                at = doc["recorded_at"]
                oldest = at if oldest is None or at < oldest else oldest
        return 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()

    async def run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            self._wake.clear()
            try:
                await self.publish_pending()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or store down: keep everything, try again
                self.failures_total += 1
                log.warning(
                    "relay pass failed, retrying in %.1fs: %s: %s", backoff, type(exc).__name__, exc
                )
                await asyncio.sleep(backoff)
                backoff = min(self.max_backoff_s, backoff * 2)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sweep_interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="wushe-relay")

    async def stop(self, timeout_s: float = 5.0) -> None:
        if self._task is None:
            return
        # A driver may absorb a cancellation while it waits for a server, so besides
        # cancelling, the loop checks a flag, and stop never waits more than `timeout_s`.
        self._stopping = True
        self._wake.set()
        self._task.cancel()
        done, _ = await asyncio.wait({self._task}, timeout=timeout_s)
        if not done:
            log.warning("relay did not stop within %.0fs; abandoning it", timeout_s)
        self._task = None


class Inbox:
    """Exactly-once effects for a consumer, by unique insert.

    `record_once` inserts the effect itself as a document whose `_id` is (consumer, event
    id): the insert is both the effect and the dedupe marker, so a redelivery, a replay or a
    crash before the offset commit can never apply it twice, on FerretDB as on MongoDB.
    Read models sum these documents (or fold them per partition, see the projector).
    """

    def __init__(self, db: AsyncDatabase[Doc], consumer: str, *, collection: str = "inbox") -> None:
        self.consumer = consumer
        self.collection: AsyncCollection[Doc] = db[collection]

    def key(self, event_id: str) -> str:
        return f"{self.consumer}|{event_id}"

    async def record_once(self, event_id: str, effect: Doc | None = None) -> bool:
        """True when this call applied the effect, False when it was already applied."""
        doc = {
            **(effect or {}),
            "_id": self.key(event_id),
            "consumer": self.consumer,
            "applied_at": datetime.now(UTC),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def seen(self, event_id: str) -> bool:
        return await self.collection.find_one({"_id": self.key(event_id)}, {"_id": 1}) is not None
