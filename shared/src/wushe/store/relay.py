"""The relay: publishes committed events to Kafka in (stream, version) order, then marks
them published; retries until it succeeds and sweeps for what no signal announced."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from wushe.contracts import Envelope
from wushe.store.client import Doc
from wushe.store.events import EventStore, commit_id

log = logging.getLogger("wushe.store")

Publisher = Callable[[Sequence[Envelope]], Awaitable[None]]


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

    def track(self, store: EventStore) -> None:
        """Publish what `store` commits (its constructor calls this when given the relay)."""
        if store not in self.stores:
            self.stores.append(store)

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
