"""The document store and the one way a state change and its events become one atomic write.

FerretDB v1 (the local store) has no transactions and no atomic read-modify-write; only a
single-document insert guarded by a unique index is atomic, on FerretDB and MongoDB alike.
So (docs/decisions/0002-atomic-write-and-outbox.md):

- `EventStore.append` writes one *commit* document per command: the events it caused, the
  aggregate's state after them. Its `_id` is (stream id, version),
  so the insert is the optimistic-concurrency check: a second writer of the same version
  gets a duplicate-key error, never a lost update.
- The current state of every aggregate is cached in a queryable collection, and `load` reads
  only the cache: one lookup, where probing the commits for a next version on every load
  was a second (and on FerretDB before decision 0020 a scan of every commit). The
  cache can lag its commits only after a crash or a failed cache write between the two
  inserts, and each way back is covered: the relay's sweep, which publishes every commit its
  process did not announce, caches the commit's state first; a write at a stale version
  fails on the commit's `_id` and heals the cache before it reports the conflict; and a
  stream whose cache write failed in this process is probed until healed.
- `Relay` publishes unpublished commits to Kafka in (stream, version) order and only then
  marks them published (an insert into `<aggregate>_published`). A crash in between publishes
  them again with the same CloudEvents
  id, which consumers deduplicate (`Inbox`): at-least-once delivery, exactly-once effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from opentelemetry import propagate
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from wushe.contracts import Envelope, Event

log = logging.getLogger("wushe.store")

Doc = dict[str, Any]
M = TypeVar("M", bound=BaseModel)
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


# Documents per batch of a whole-collection scan: each batch is one request, so one request
# never has to decode more than this many documents, however large the collection.
SCAN_BATCH = 500
# ... nor more than about this many bytes. FerretDB v1 bounds a batch by its count only and
# decodes about 5 MB of documents a second (idle): the 466 commits of the full scenario's
# fund (each carrying the fund's state, 259 KB with 462 allocations) were one 120 MB batch
# that took 22 s, past the 15 s socket timeout, so that sweep failed for ever. In batches of
# 4 and of 16 commits (1 and 4 MB) the same scan took 25 and 23 s in all, no request longer
# than 0.5 and 1.6 s.
SCAN_BATCH_BYTES = 2 * 1024 * 1024


async def scan_batch_size(collection: AsyncCollection[Doc]) -> int:
    """Documents per batch that keep a scan's requests near `SCAN_BATCH_BYTES`, from the
    collection's average document size (`SCAN_BATCH` when the store does not say)."""
    try:
        stats = await collection.database.command("collStats", collection.name)
    except PyMongoError:  # MongoDB refuses it for a collection that does not exist yet
        return SCAN_BATCH
    average = int(stats.get("avgObjSize") or 0)
    if average <= 0:
        return SCAN_BATCH
    return max(1, min(SCAN_BATCH, SCAN_BATCH_BYTES // average))


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
        on_commit: Callable[[EventStore, Doc], None] | None = None,
    ) -> None:
        self.db = db
        self.aggregate = aggregate
        self.source = source
        self.current: AsyncCollection[Doc] = db[aggregate]
        self.commits: AsyncCollection[Doc] = db[f"{aggregate}_commits"]
        # Published marks are inserts into their own collection, never updates of commits:
        # FerretDB v1 costs an update by _id in proportion to the collection's size (17 ms at
        # 5,000 commits here) while an insert or a lookup by _id stays about 1 ms.
        self.published: AsyncCollection[Doc] = db[f"{aggregate}_published"]
        self._on_commit = on_commit
        # Streams whose cache write failed after their commit: `load` probes them until healed.
        self._stale: set[str] = set()

    async def ensure_indexes(self) -> None:
        """(stream id, version) uniqueness is carried by `_id` itself; nothing else needed."""

    async def load(self, stream_id: str) -> Loaded:
        """The cached state (see the module docstring for why the commits are not probed)."""
        if stream_id in self._stale:
            return await self.catch_up(stream_id)
        doc = await self.current.find_one({"_id": stream_id})
        return Loaded(stream_id, int(doc["_v"]), _strip(doc)) if doc else Loaded(stream_id, 0, None)

    async def catch_up(self, stream_id: str) -> Loaded:
        """Read the cache, then the commits after it by `_id`, and cache what was missing."""
        doc = await self.current.find_one({"_id": stream_id})
        version = int(doc["_v"]) if doc else 0
        state = _strip(doc) if doc else None
        caught_up = False
        while True:
            nxt = await self.commits.find_one({"_id": commit_id(stream_id, version + 1)})
            if nxt is None:
                break
            version, state, caught_up = int(nxt["version"]), nxt["state"], True
        if caught_up and state is not None:
            await self._cache(stream_id, version, state)
        self._stale.discard(stream_id)
        return Loaded(stream_id, version, state)

    async def load_model(self, stream_id: str, model: type[M]) -> tuple[M | None, int]:
        """The stream's current state as `model` (None when it does not exist) and version."""
        loaded = await self.load(stream_id)
        return (model.model_validate(loaded.state) if loaded.state else None), loaded.version

    async def save_model(
        self, stream_id: str, version: int, state: BaseModel, events: Sequence[Event]
    ) -> int:
        """Append `events` with `state` after `version`; no events, no commit. Returns the new
        version. A concurrent writer raises `ConcurrencyError` (HTTP 409 in every service)."""
        if not events:
            return version
        commit = await self.append(stream_id, version, events, state.model_dump(mode="json"))
        return commit.version

    async def update_model(
        self,
        stream_id: str,
        model: type[M],
        decide: Callable[[M | None], tuple[M, Event | Sequence[Event]]],
        *,
        attempts: int = 30,
        causation_id: str | None = None,
    ) -> M:
        """Load, decide, append; when another writer got there first, decide again on the
        newer state (with jitter, so many racing writers do not retry in lockstep). This is
        how an invariant over one aggregate (a balance, a daily total) holds under concurrency
        on FerretDB: the loser of the version insert never acts on stale state."""
        for attempt in range(attempts):
            current, version = await self.load_model(stream_id, model)
            new, decided = decide(current)
            events = [decided] if isinstance(decided, Event) else list(decided)
            if not events:
                return new
            try:
                await self.append(
                    stream_id,
                    version,
                    events,
                    new.model_dump(mode="json"),
                    causation_id=causation_id,
                )
                return new
            except ConcurrencyError:
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise ConcurrencyError(f"{stream_id} kept changing")

    def _commit_doc(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Event],
        state: Doc,
        *,
        correlation_id: str | None,
        causation_id: str | None,
        traceparent: str | None,
        now: datetime | None,
    ) -> Doc:
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
        envelopes = [
            Envelope.wrap(
                e,
                source=self.source,
                subject=stream_id,
                time=at,
                correlation_id=correlation_id,
                causation_id=causation_id,
            ).model_copy(update={"traceparent": traceparent, "sequence": f"{version:010d}.{i:04d}"})
            for i, e in enumerate(events)
        ]
        return {
            "_id": commit_id(stream_id, version),
            "stream_id": stream_id,
            "version": version,
            "recorded_at": at,
            "events": [env.model_dump(mode="json") for env in envelopes],
            "state": state,
        }

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
        doc = self._commit_doc(
            stream_id,
            expected_version,
            events,
            state,
            correlation_id=correlation_id,
            causation_id=causation_id,
            traceparent=traceparent,
            now=now,
        )
        try:
            await self.commits.insert_one(doc)
        except DuplicateKeyError as exc:
            await self._heal_after_conflict(stream_id, expected_version)
            raise ConcurrencyError(f"{stream_id} is past version {expected_version}") from exc
        except PyMongoError:
            # No answer is not a no: the store may have written the commit and lost only the
            # reply. Until a load has looked at the commits, the cache cannot be trusted.
            self._stale.add(stream_id)
            raise
        # The commit is durable: from here on a failure only delays the cache and the relay.
        try:
            await self._cache(stream_id, doc["version"], state)
        except PyMongoError:
            # Not announced: the relay's sweep finds the commit, caches it, then publishes.
            self._stale.add(stream_id)
            return _commit_of(doc)
        if self._on_commit:
            self._on_commit(self, doc)
        return _commit_of(doc)

    async def _heal_after_conflict(self, stream_id: str, expected_version: int) -> None:
        """The version was taken. Usually by a concurrent writer whose cache is (or soon
        will be) ahead; when the cache still shows the version this writer read, it may be a
        cache left behind by a crash, so catch it up: the caller's retry then sees the truth."""
        try:
            doc = await self.current.find_one({"_id": stream_id}, {"_v": 1})
            if (int(doc["_v"]) if doc else 0) <= expected_version:
                await self.catch_up(stream_id)
        except PyMongoError:
            self._stale.add(stream_id)  # not healed: the next load catches up itself

    async def append_many(self, commits: Sequence[NewCommit]) -> list[Commit | ConcurrencyError]:
        """Many commits in one round trip (bulk imports). Each is still its own atomic
        insert: one that lost to a concurrent writer comes back as a `ConcurrencyError` in its
        place and the others stand. Commits of one stream must come in version order."""
        docs = [
            self._commit_doc(
                c.stream_id,
                c.expected_version,
                c.events,
                c.state,
                correlation_id=c.correlation_id,
                causation_id=None,
                traceparent=None,
                now=None,
            )
            for c in commits
        ]
        failed: set[int] = set()
        if docs:
            try:
                await self.commits.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                for err in exc.details.get("writeErrors", []):
                    if err.get("code") != 11000:
                        raise
                    failed.add(int(err["index"]))
        stored = [d for i, d in enumerate(docs) if i not in failed]
        latest: dict[str, Doc] = {}
        for d in stored:
            latest[d["stream_id"]] = d
        try:
            await self._cache_many(list(latest.values()))
        except PyMongoError:
            self._stale.update(latest)  # not announced: the relay's sweep caches them first
        else:
            if self._on_commit:
                for d in stored:
                    self._on_commit(self, d)
        return [
            ConcurrencyError(f"{d['stream_id']} is past version {d['version'] - 1}")
            if i in failed
            else _commit_of(d)
            for i, d in enumerate(docs)
        ]

    async def cache_commits(self, docs: Sequence[Doc]) -> None:
        """Make sure the cache holds at least these commits' states (the relay's sweep runs
        this before publishing what it found: a crashed writer may not have cached them)."""
        latest: dict[str, Doc] = {}
        for d in sorted(docs, key=lambda d: (d["stream_id"], d["version"])):
            latest[d["stream_id"]] = d
        await self._cache_many(list(latest.values()))
        self._stale.difference_update(latest)

    async def _cache_many(self, docs: list[Doc]) -> None:
        """Cache the latest state of many streams. New streams go in one bulk insert; the
        rest one by one, a few at a time: FerretDB v1 handles a multi-statement update
        command pathologically slowly (200 replace statements in one bulk_write took more
        than 15 s here, while 300 single replaces take 0.6 s)."""
        new = [
            {**d["state"], "_id": d["stream_id"], "_v": d["version"]}
            for d in docs
            if d["version"] == 1
        ]
        if new:
            try:
                await self.current.insert_many(new, ordered=False)
            except BulkWriteError as exc:  # duplicate keys: those caches are already ahead
                if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                    raise
        limit = asyncio.Semaphore(8)

        async def one(d: Doc) -> None:
            async with limit:
                await self._cache(d["stream_id"], d["version"], d["state"])

        await asyncio.gather(*(one(d) for d in docs if d["version"] > 1))

    async def _cache(self, stream_id: str, version: int, state: Doc) -> None:
        if version == 1:
            # A new stream: an insert, one call and no read of what is there. A duplicate
            # means a newer version is already there.
            with contextlib.suppress(DuplicateKeyError):
                await self.current.insert_one({**state, "_id": stream_id, "_v": 1})
            return
        # Only over an older state, so a slower writer of an older version never puts its
        # state back over a newer one (the cache race, decision 0021). The `_id` is answered
        # from the index and the guard is checked on that one document; before 0021 the
        # guard made FerretDB decode every document of the collection. (On FerretDB the
        # check and the write are two steps, so the race is narrowed to one command, not
        # closed; the commits stay right either way, and a write at a stale version heals.)
        replacement = {**state, "_v": version}
        for attempt in range(3):
            try:
                await self.current.replace_one(
                    {"_id": stream_id, "_v": {"$lt": version}}, replacement, upsert=True
                )
                return
            except DuplicateKeyError:
                # The guard did not match, so the upsert tried to insert: a state is there.
                # Newer or the same: nothing to do. Older (inserted by a racing writer since
                # the guard was read): replace it on the next try. Still racing after three:
                # a failed cache write, which its callers handle (the stream goes stale).
                there = await self.current.find_one({"_id": stream_id}, {"_v": 1})
                if there is not None and int(there["_v"]) >= version:
                    return
                if attempt == 2:
                    raise

    async def unpublished(self, limit: int) -> list[Doc]:
        """Commits without a published mark, in (stream, version) order: the sweep's scan
        (reads both collections; run rarely, see Relay).

        Sorted here, not by the store: FerretDB sorts by decoding the whole collection before
        it answers the first batch, so a sorted scan of a grown collection on a busy store
        outlasts the socket timeout, fails, and is retried for ever (a full `./dev up` had
        an idle service's sweep fail that way every two minutes, each attempt a two-minute
        read). Unsorted, every batch is a short read of its own, and small in bytes (commits
        carry their stream's state, which grows with it)."""
        done = {d["_id"] async for d in self.published.find({}, {"_id": 1}, batch_size=SCAN_BATCH)}
        batch = await scan_batch_size(self.commits)
        out = [
            doc async for doc in self.commits.find({}, batch_size=batch) if doc["_id"] not in done
        ]
        out.sort(key=lambda d: (d["stream_id"], d["version"]))
        return out[:limit]

    async def unpublished_count(self) -> int:
        return await self.commits.count_documents({}) - await self.published.count_documents({})

    async def is_published(self, cid: str) -> bool:
        return await self.published.find_one({"_id": cid}, {"_id": 1}) is not None

    async def mark_published(self, ids: Iterable[str]) -> None:
        """Insert a mark per commit (a mark already there is fine: published twice)."""
        at = datetime.now(UTC)
        marks = [{"_id": cid, "at": at} for cid in ids]
        if not marks:
            return
        try:
            await self.published.insert_many(marks, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise


@dataclass(frozen=True)
class NewCommit:
    """One commit for `EventStore.append_many`."""

    stream_id: str
    expected_version: int
    events: Sequence[Event]
    state: Doc
    correlation_id: str | None = None


def _commit_of(doc: Doc) -> Commit:
    return Commit(
        doc["_id"],
        doc["stream_id"],
        doc["version"],
        tuple(Envelope.model_validate(e) for e in doc["events"]),
        doc["state"],
    )


def _strip(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if k not in ("_id", "_v")}


# A sweep reads every commit and mark of a store; the relay waits at least this many times
# as long as the last sweep took before the next periodic one.
SWEEP_SPACING = 10


class Relay:
    """Publishes committed events to Kafka and marks them, retrying until it succeeds.

    Two paths. The fast one: `notify(store, doc)` (wired to every store's `on_commit`)
    hands over each new commit document as it was inserted; the relay publishes them in
    (stream, version) order, first reading by `_id` any unpublished predecessor it did not
    publish itself (another replica's commit), so order per aggregate holds; no scan. The
    sweep, at start, after a failure and when idle for `sweep_interval_s` (or ten times as
    long as the last sweep took, if longer), scans for commits without a published mark and
    finds what no signal announced: commits of another replica, or of a process that
    crashed before its relay ran. On FerretDB that scan reads the whole collection, so it
    stays rare (docs/decisions/0016-sweeps-spaced-by-their-cost.md).
    """

    def __init__(
        self,
        stores: Sequence[EventStore],
        publish: Publisher,
        *,
        batch_size: int = 500,
        sweep_interval_s: float = 5.0,
        max_backoff_s: float = 10.0,
        linger_s: float = 0.005,
        after_publish: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        self.stores = list(stores)
        self.publish = publish
        self.batch_size = batch_size
        self.sweep_interval_s = sweep_interval_s
        self.max_backoff_s = max_backoff_s
        self.linger_s = linger_s
        self.max_per_sweep = 100_000  # a sweep publishes at most this many; the next one more
        self.recent_kept = 10_000  # how many ids of its own publishing the relay remembers
        self._after_publish = after_publish  # fault-test hook: runs between publish and mark
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.published_total = 0
        self.failures_total = 0
        self.oldest_waiting_s = 0.0
        self.waiting_commits = 0
        self._announced: dict[EventStore, dict[str, Doc]] = {}
        self._sweep_due = True
        self._swept_everything = False  # the last sweep published all it found
        # Ids this relay published lately: a new commit whose predecessor is here needs no
        # read to know that order holds.
        self._recent: OrderedDict[str, None] = OrderedDict()

    def notify(self, store: EventStore | None = None, doc: Doc | None = None) -> None:
        """A store committed `doc` (or, with no arguments, something changed: sweep)."""
        if store is not None and doc is not None:
            self._announced.setdefault(store, {})[doc["_id"]] = doc
        else:
            self._sweep_due = True
        self._wake.set()

    async def publish_announced(self) -> int:
        """Publish the commits `notify` handed over, in memory: no scan, and a read only for
        a predecessor this relay has not published itself (another replica's commit)."""
        if self.linger_s:
            await asyncio.sleep(self.linger_s)  # let a burst of commits share one batch
        announced, self._announced = self._announced, {}
        count = 0
        try:
            for store, docs in list(announced.items()):
                for cid in [cid for cid in docs if cid in self._recent]:
                    del docs[cid]  # a sweep published it after its announcement was made
                for doc in list(docs.values()):
                    await self._add_unpublished_predecessors(store, doc, docs)
                ordered = sorted(docs.values(), key=lambda d: (d["stream_id"], d["version"]))
                for start in range(0, len(ordered), self.batch_size):
                    batch = ordered[start : start + self.batch_size]
                    count += await self._publish_and_mark(store, batch)
                    for d in batch:
                        docs.pop(d["_id"], None)
        except BaseException:
            for store, docs in announced.items():  # keep what is left for the next pass
                self._announced.setdefault(store, {}).update(docs)
            raise
        self.published_total += count
        return count

    async def _add_unpublished_predecessors(
        self, store: EventStore, doc: Doc, docs: dict[str, Doc]
    ) -> None:
        version = doc["version"]
        while version > 1:
            prev_id = commit_id(doc["stream_id"], version - 1)
            if prev_id in docs or prev_id in self._recent:
                return
            prev = await store.commits.find_one({"_id": prev_id})
            if prev is None or await store.is_published(prev_id):
                return
            docs[prev_id] = prev
            version -= 1

    async def _publish_and_mark(self, store: EventStore, docs: list[Doc]) -> int:
        envelopes = [Envelope.model_validate(e) for d in docs for e in d["events"]]
        await self.publish(envelopes)
        ids = [d["_id"] for d in docs]
        if self._after_publish:
            self._after_publish(ids)
        await store.mark_published(ids)
        for cid in ids:
            self._recent[cid] = None
        while len(self._recent) > self.recent_kept:
            self._recent.popitem(last=False)
        return len(envelopes)

    async def publish_pending(self) -> int:
        """A sweep over every store (one scan each); returns how many events were published."""
        count, capped = 0, False
        for store in self.stores:
            docs = await store.unpublished(self.max_per_sweep)
            capped = capped or len(docs) >= self.max_per_sweep
            if docs:
                await store.cache_commits(docs)  # their writer may have died before caching
            for start in range(0, len(docs), self.batch_size):
                count += await self._publish_and_mark(store, docs[start : start + self.batch_size])
            # A commit made while the scan ran is both in the scan and announced: the sweep
            # published it, so the fast path must not publish it again (a registry test
            # counting one stream's events once found a fifth copy of its fourth).
            announced = self._announced.get(store)
            if announced:
                for doc in docs:
                    announced.pop(doc["_id"], None)
        self.published_total += count
        # Nothing found was left behind: the backlog as of this sweep is empty, known
        # without a second scan.
        self._swept_everything = not capped
        return count

    async def _measure_backlog(self) -> None:
        """What is still waiting after a sweep, failed or not (a scan on FerretDB, so only
        then): the age the relay-backlog alert watches."""
        with contextlib.suppress(Exception):
            self.oldest_waiting_s, self.waiting_commits = await self.backlog()

    async def oldest_unpublished_age_s(self) -> float:
        """Age of the oldest commit still waiting (0 when none): the relay's health gauge."""
        return (await self.backlog())[0]

    async def backlog(self) -> tuple[float, int]:
        """The age of the oldest commit still waiting (0 when none) and how many wait."""
        oldest: datetime | None = None
        waiting = 0
        for store in self.stores:
            for doc in await store.unpublished(10_000_000):
                waiting += 1
                at = doc["recorded_at"]
                oldest = at if oldest is None or at < oldest else oldest
        age = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
        return age, waiting

    async def run(self) -> None:
        backoff = 0.2
        last_sweep_s = 0.0
        clock = asyncio.get_running_loop().time
        while not self._stopping:
            self._wake.clear()
            started, sweeping = clock(), self._sweep_due
            try:
                if self._sweep_due:
                    self._sweep_due = False
                    self._announced.clear()  # the sweep sees them too
                    self._swept_everything = False
                    try:
                        await self.publish_pending()
                    finally:
                        if self._swept_everything:
                            self.oldest_waiting_s, self.waiting_commits = 0.0, 0
                        else:
                            await self._measure_backlog()
                else:
                    await self.publish_announced()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or store down: keep everything, try again
                self.failures_total += 1
                # A read that timed out may still be running in the store (FerretDB does not
                # stop it), so wait at least as long as the pass took before adding another.
                wait_s = max(backoff, clock() - started)
                log.warning(
                    "relay pass failed, retrying in %.1fs: %s: %s", wait_s, type(exc).__name__, exc
                )
                self._sweep_due = True  # after a failure, trust only the scan
                await asyncio.sleep(wait_s)
                backoff = min(self.max_backoff_s, backoff * 2)
                continue
            if sweeping:
                last_sweep_s = clock() - started
            if self._announced:
                continue  # more arrived during the pass
            try:
                # A sweep reads whole collections: as they grow, sweep less often, so this
                # relay's scans never take more than a tenth of its time.
                idle_s = max(self.sweep_interval_s, SWEEP_SPACING * last_sweep_s)
                await asyncio.wait_for(self._wake.wait(), idle_s)
            except TimeoutError:
                self._sweep_due = True

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
