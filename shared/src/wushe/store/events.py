"""Append-only commits per aggregate with the current states cached beside them: a state
change and its events are one insert (see the package docstring)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from opentelemetry import propagate
from pydantic import BaseModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from wushe.contracts import Envelope, Event
from wushe.store.client import Doc

if TYPE_CHECKING:
    from wushe.store.relay import Relay

log = logging.getLogger("wushe.store")

M = TypeVar("M", bound=BaseModel)


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


SUMMARISED_ALL = "~summarised"  # the mark: every state cached before the summaries has one


class Kept(Protocol):
    """What a store keeps beside its states with every commit (`wushe.store.waiting`,
    `wushe.store.notes`): entered before the commit, settled after it."""

    collection: AsyncCollection[Doc]
    states: AsyncCollection[Doc] | None

    async def enter(self, commits: Iterable[tuple[str, Doc]]) -> None: ...

    async def settle(self, commits: Iterable[tuple[str, Sequence[Event]]]) -> None: ...


K = TypeVar("K", bound=Kept)


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
        relay: Relay | None = None,
        on_commit: Callable[[EventStore, Doc], None] | None = None,
    ) -> None:
        """`relay` publishes what this store commits (it is told of each commit as it lands);
        `on_commit` is for a caller that watches commits itself (tests)."""
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
        if relay is not None:
            relay.track(self)
            self._on_commit = relay.notify
        # Streams whose cache write failed after their commit: `load` probes them until healed.
        self._stale: set[str] = set()
        self._waiting: list[Kept] = []
        # Small copies of the states' listed fields (`summarise`), None when not kept.
        self.summaries: AsyncCollection[Doc] | None = None
        self.summary_fields: tuple[str, ...] = ()
        self._copied: tuple[str, ...] = ()
        self._derived: dict[str, Callable[[Doc], Any]] = {}
        self._all_summarised = False

    def keep(self, kept: K) -> K:
        """Keep `kept`'s entries or notes with every commit: entered before it, settled after.
        One per collection: a second store object over the same aggregate gets the first's."""
        for already in self._waiting:
            if already.collection.name == kept.collection.name:
                return already  # type: ignore[return-value]  # the same kind, by its collection
        kept.states = self.current
        self._waiting.append(kept)
        return kept

    def summarise(
        self, fields: Sequence[str], derived: Mapping[str, Callable[[Doc], Any]] | None = None
    ) -> None:
        """Keep a summary of each state beside it (`{_id, _v, <fields>, <derived>}`: fields
        copied, and values derived from the whole state), written just before the state and
        healed with it: a listing of many large states reads the summaries to find its
        matches (`wushe.store.page`), where the local store would decode every state
        (decision 0038)."""
        self.summaries = self.db[f"{self.aggregate}_summaries"]
        self.summary_fields = (*fields, *(derived or {}))
        self._copied, self._derived = tuple(fields), dict(derived or {})

    def summary_of(self, stream_id: str, version: int, state: Doc) -> Doc:
        return {
            "_id": stream_id,
            "_v": version,
            **{f: state.get(f) for f in self._copied},
            **{f: derive(state) for f, derive in self._derived.items()},
        }

    async def summarised(self) -> AsyncCollection[Doc] | None:
        """The summaries, once every state has one: those cached before the summaries were
        kept get theirs from the states (once, by the first listing, then marked)."""
        if self.summaries is None or self._all_summarised:
            return self.summaries
        if await self.summaries.find_one({"_id": SUMMARISED_ALL}) is None:
            docs = [
                self.summary_of(str(d["_id"]), int(d["_v"]), d)
                async for d in self.current.find(
                    {}, None if self._derived else {"_v": 1, **dict.fromkeys(self._copied, 1)}
                )
            ]
            await insert_new(self.summaries, docs)
            await insert_new(self.summaries, [{"_id": SUMMARISED_ALL}])
        self._all_summarised = True
        return self.summaries

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
        self, commit: NewCommit, *, traceparent: str | None = None, now: datetime | None = None
    ) -> Doc:
        if not commit.events:
            raise ValueError("a commit needs at least one event")
        if "_id" in commit.state or "_v" in commit.state:
            raise ValueError("state must not carry _id or _v")
        version = commit.expected_version + 1
        at = now or datetime.now(UTC)
        if traceparent is None:  # the caller's trace travels with the events (W3C header)
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            traceparent = carrier.get("traceparent")
        envelopes = [
            Envelope.wrap(
                e,
                source=self.source,
                subject=commit.stream_id,
                time=at,
                causation_id=commit.causation_id,
            ).model_copy(update={"traceparent": traceparent, "sequence": f"{version:010d}.{i:04d}"})
            for i, e in enumerate(commit.events)
        ]
        return {
            "_id": commit_id(commit.stream_id, version),
            "stream_id": commit.stream_id,
            "version": version,
            "recorded_at": at,
            "events": [env.model_dump(mode="json") for env in envelopes],
            "state": commit.state,
        }

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Event],
        state: Doc,
        *,
        causation_id: str | None = None,
        traceparent: str | None = None,
        now: datetime | None = None,
    ) -> Commit:
        """Record `events` and the resulting `state` as version `expected_version + 1`."""
        commit = NewCommit(stream_id, expected_version, events, state, causation_id)
        doc = self._commit_doc(commit, traceparent=traceparent, now=now)
        for waiting in self._waiting:
            await waiting.enter([(stream_id, state)])
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
        for waiting in self._waiting:
            await waiting.settle([(stream_id, events)])
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
        docs = [self._commit_doc(c) for c in commits]
        for waiting in self._waiting:
            await waiting.enter((c.stream_id, c.state) for c in commits)
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
        for waiting in self._waiting:
            await waiting.settle(
                (c.stream_id, c.events) for i, c in enumerate(commits) if i not in failed
            )
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
        new = [d for d in docs if d["version"] == 1]
        if new and self.summaries is not None:
            summaries = [self.summary_of(d["stream_id"], 1, d["state"]) for d in new]
            await insert_new(self.summaries, summaries)
        # Duplicate keys: those caches are already ahead.
        await insert_new(
            self.current, [{**d["state"], "_id": d["stream_id"], "_v": 1} for d in new]
        )
        limit = asyncio.Semaphore(8)

        async def one(d: Doc) -> None:
            async with limit:
                await self._cache(d["stream_id"], d["version"], d["state"])

        await asyncio.gather(*(one(d) for d in docs if d["version"] > 1))

    async def _cache(self, stream_id: str, version: int, state: Doc) -> None:
        # The summary first: when it fails the state is not written either, and the stream
        # heals both (a summary ahead of its state is still a committed state's).
        if self.summaries is not None:
            await self._keep_newer(
                self.summaries, stream_id, version, self.summary_of(stream_id, version, state)
            )
        await self._keep_newer(
            self.current, stream_id, version, {**state, "_id": stream_id, "_v": version}
        )

    async def _keep_newer(
        self, collection: AsyncCollection[Doc], stream_id: str, version: int, doc: Doc
    ) -> None:
        """Write `doc` as the stream's document of `version` unless a newer one is there."""
        if version == 1:
            # A new stream: an insert, one call and no read of what is there. A duplicate
            # means a newer version is already there.
            with contextlib.suppress(DuplicateKeyError):
                await collection.insert_one(doc)
            return
        # Only over an older state, so a slower writer of an older version never puts its
        # state back over a newer one (the cache race, decision 0021). The `_id` is answered
        # from the index and the guard is checked on that one document; before 0021 the
        # guard made FerretDB decode every document of the collection. (On FerretDB the
        # check and the write are two steps, so the race is narrowed to one command, not
        # closed; the commits stay right either way, and a write at a stale version heals.)
        replacement = {k: v for k, v in doc.items() if k != "_id"}
        for attempt in range(3):
            try:
                await collection.replace_one(
                    {"_id": stream_id, "_v": {"$lt": version}}, replacement, upsert=True
                )
                return
            except DuplicateKeyError:
                # The guard did not match, so the upsert tried to insert: a state is there.
                # Newer or the same: nothing to do. Older (inserted by a racing writer since
                # the guard was read): replace it on the next try. Still racing after three:
                # a failed cache write, which its callers handle (the stream goes stale).
                there = await collection.find_one({"_id": stream_id}, {"_v": 1})
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
        await insert_new(self.published, [{"_id": cid, "at": at} for cid in ids])


@dataclass(frozen=True)
class NewCommit:
    """One commit for `EventStore.append_many`."""

    stream_id: str
    expected_version: int
    events: Sequence[Event]
    state: Doc
    causation_id: str | None = None


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


async def insert_new(collection: AsyncCollection[Doc], docs: Sequence[Doc]) -> None:
    """Insert the documents, in batches; one whose `_id` is there already is the same one
    (written before) and is left as it is."""
    for start in range(0, len(docs), SCAN_BATCH):
        try:
            await collection.insert_many(docs[start : start + SCAN_BATCH], ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
