"""Delivery guarantees on the real Kafka and the real FerretDB (docs/architecture.md,
"Correctness without transactions"): the atomic write, the relay, idempotent consumers, the DLQ."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pymongo.errors import AutoReconnect

from wushe import bus
from wushe.contracts import Envelope
from wushe.store import ConcurrencyError, EventStore, Inbox, NewCommit, Relay
from wushe.topics import group_size
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import (
    create_topics,
    group_lag,
    headers_of,
    probe_event,
    publish_all,
    read_topic,
    wait_for,
)

WORKER = Path(__file__).with_name("worker.py")


class Thing(BaseModel):
    v: int


def consumer_cfg(
    stack: LocalStack, mongo_db: Any, topic: str, group: str, **extra: Any
) -> dict[str, Any]:
    return {
        "mode": "consumer",
        "bootstrap": stack.cfg.kafka_bootstrap,
        "mongo_url": stack.cfg.mongo_url,
        "db": mongo_db.name,
        "topic": topic,
        "group": group,
        **extra,
    }


def run_worker(cfg: dict[str, Any], timeout_s: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(WORKER), json.dumps(cfg)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


async def append_probes(store: EventStore, event_cls: Any, count: int, streams: int = 3) -> None:
    for n in range(count):
        stream = f"probe-{n % streams}"
        loaded = await store.load(stream)
        await store.append(stream, loaded.version, [event_cls(n=n)], {"last": n})


# --------------------------------------------------------------------------- event store


async def test_commit_is_the_concurrency_check(mongo_db: Any, unique: str) -> None:
    probe, _ = probe_event(f"t.{unique}")
    store = EventStore(mongo_db, "things", source="/wushe/test")
    await store.ensure_indexes()
    first = await store.append("s1", 0, [probe(n=1)], {"count": 1})
    assert first.version == 1
    with pytest.raises(ConcurrencyError):
        await store.append("s1", 0, [probe(n=2)], {"count": 99})
    loaded = await store.load("s1")
    assert (loaded.version, loaded.state) == (1, {"count": 1})


async def test_a_late_cache_write_never_puts_an_older_state_back(
    mongo_db: Any, unique: str
) -> None:
    """The writer of version 2 reaches the cache after the writer of version 3 (it was
    slower between its commit and its cache write): the cache keeps version 3."""
    probe, _ = probe_event(f"t.{unique}")
    store = EventStore(mongo_db, "things", source="/wushe/test")
    for n in (1, 2, 3):
        await store.append("s1", n - 1, [probe(n=n)], {"n": n})
    await store._cache("s1", 2, {"n": 2})  # the late write, as `append` makes it
    loaded = await store.load("s1")
    assert (loaded.version, loaded.state) == (3, {"n": 3})
    await store._cache("s1", 3, {"n": 3})  # the same version again: no change, no error
    assert (await store.load("s1")).state == {"n": 3}
    await store._cache("s1", 4, {"n": 4})  # a newer one still replaces it
    assert (await store.load("s1")).state == {"n": 4}


async def test_concurrent_writers_never_lose_an_update(mongo_db: Any, unique: str) -> None:
    """20 writers race read-modify-write on one counter: each increment lands exactly once."""
    probe, _ = probe_event(f"t.{unique}")
    store = EventStore(mongo_db, "counters", source="/wushe/test")
    conflicts = 0

    async def increment(n: int) -> None:
        nonlocal conflicts
        while True:
            loaded = await store.load("c")
            value = (loaded.state or {}).get("value", 0)
            try:
                await store.append("c", loaded.version, [probe(n=n)], {"value": value + 1})
                return
            except ConcurrencyError:
                conflicts += 1

    await asyncio.gather(*(increment(n) for n in range(20)))
    loaded = await store.load("c")
    assert loaded.state == {"value": 20}
    assert loaded.version == 20
    assert await store.commits.count_documents({"stream_id": "c"}) == 20
    assert conflicts > 0  # the race really happened


async def test_state_cache_catches_up_after_a_crash(
    mongo_db: Any, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe, _ = probe_event(f"t.{unique}")
    store = EventStore(mongo_db, "things", source="/wushe/test")
    await store.append("s", 0, [probe(n=1)], {"v": 1})

    async def crashed(*_: Any) -> None:
        raise AutoReconnect("store went away between the commit and the cache update")

    monkeypatch.setattr(store, "_cache", crashed)
    await store.append("s", 1, [probe(n=2)], {"v": 2})  # commit durable, cache stale
    monkeypatch.undo()
    assert (await store.current.find_one({"_id": "s"}))["_v"] == 1
    loaded = await store.load("s")
    assert (loaded.version, loaded.state) == (2, {"v": 2})
    assert (await store.current.find_one({"_id": "s"}))["_v"] == 2  # repaired on load
    with pytest.raises(ConcurrencyError):
        await store.append("s", 1, [probe(n=3)], {"v": 3})


async def test_restarted_writer_heals_a_stale_cache_on_its_first_conflict(
    mongo_db: Any, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process died between the commit and the cache write; a new process loads the stale
    cache (loads do not probe the commits), its write fails on the taken version, heals the
    cache, and the retry (as `update_model` does it) decides on the true state."""
    probe, _ = probe_event(f"t.{unique}")
    before = EventStore(mongo_db, "things", source="/wushe/test")
    await before.append("s", 0, [probe(n=1)], {"v": 1})

    async def crashed(*_: Any) -> None:
        raise AutoReconnect("the process died here")

    monkeypatch.setattr(before, "_cache", crashed)
    await before.append("s", 1, [probe(n=2)], {"v": 2})
    monkeypatch.undo()
    after = EventStore(mongo_db, "things", source="/wushe/test")  # a new process
    assert (await after.load("s")).version == 1  # stale, and nobody knows yet
    with pytest.raises(ConcurrencyError):
        await after.append("s", 1, [probe(n=3)], {"v": 3})
    assert (await after.load("s")).state == {"v": 2}  # healed by the conflict
    state = await after.update_model(
        "s", Thing, lambda t: (Thing(v=(t.v if t else 0) + 1), probe(n=4))
    )
    assert state.v == 3
    assert [d["version"] async for d in after.commits.find({"stream_id": "s"})] == [1, 2, 3]


async def test_relay_sweep_caches_what_a_crashed_writer_left_uncached(
    mongo_db: Any, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe, _ = probe_event(f"t.{unique}")
    writer = EventStore(mongo_db, f"things_{unique}", source="/wushe/test")
    await writer.append("s", 0, [probe(n=1)], {"v": 1})

    async def crashed(*_: Any) -> None:
        raise AutoReconnect("the process died here")

    monkeypatch.setattr(writer, "_cache", crashed)
    await writer.append("s", 1, [probe(n=2)], {"v": 2})
    monkeypatch.undo()
    restarted = EventStore(mongo_db, f"things_{unique}", source="/wushe/test")
    published: list[Envelope] = []

    async def publish(envelopes: Sequence[Envelope]) -> None:
        assert (await restarted.load("s")).version == 2  # cached before it is published
        published.extend(envelopes)

    await Relay([restarted], publish).publish_pending()
    assert [e.sequence for e in published][-1].startswith("0000000002")
    doc = await restarted.current.find_one({"_id": "s"})
    assert (doc["_v"], doc["v"]) == (2, 2)


# --------------------------------------------------------------------------- relay


async def test_relay_crash_between_publish_and_mark_is_applied_once(
    stack: LocalStack, mongo_db: Any, unique: str
) -> None:
    topic = f"probe.{unique}"
    probe, registry = probe_event(topic)
    await create_topics(stack.cfg.kafka_bootstrap, topic)
    store = EventStore(mongo_db, "probes", source="/wushe/test")
    await store.ensure_indexes()
    await append_probes(store, probe, 12)
    cfg = {
        "bootstrap": stack.cfg.kafka_bootstrap,
        "mongo_url": stack.cfg.mongo_url,
        "db": mongo_db.name,
        "aggregate": "probes",
    }

    crashed = run_worker({**cfg, "mode": "relay", "crash_after_publish": True})
    assert crashed.returncode == -9, crashed.stderr[-2000:]  # SIGKILL: a real crash
    assert len(await read_topic(stack.cfg.kafka_bootstrap, topic, expect=12)) == 12
    assert await store.unpublished_count() == 12  # never marked

    clean = run_worker({**cfg, "mode": "relay"})
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert json.loads(clean.stdout)["published"] == 12
    assert await store.unpublished_count() == 0
    records = await read_topic(stack.cfg.kafka_bootstrap, topic, expect=24)
    assert len(records) == 24  # at-least-once: every event twice on the wire
    assert len({headers_of(r)["ce_id"] for r in records}) == 12

    # Per stream, the first occurrences are in version order.
    first_seen: dict[str, list[int]] = {}
    seen: set[str] = set()
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        h = headers_of(r)
        if h["ce_id"] not in seen:
            seen.add(h["ce_id"])
            first_seen.setdefault(h["ce_subject"], []).append(json.loads(r.value)["n"])
    assert all(ns == sorted(ns) for ns in first_seen.values()), first_seen

    # ... and an idempotent consumer applies each event exactly once.
    group = f"g.{unique}"
    result = run_worker(consumer_cfg(stack, mongo_db, topic, group, expect=12))
    assert result.returncode == 0, result.stderr[-2000:]
    inbox = Inbox(mongo_db, group)
    assert await inbox.collection.count_documents({"consumer": group}) == 12
    assert sorted([d["n"] async for d in inbox.collection.find({"consumer": group})]) == list(
        range(12)
    )
    await wait_for(lambda: _lag_is(stack, group, topic, 0), what="consumer lag 0")
    _ = registry


async def _lag_is(stack: LocalStack, group: str, topic: str, lag: int) -> bool:
    return await group_lag(stack.cfg.kafka_bootstrap, group, topic) == lag


async def test_relay_retries_after_the_broker_was_unreachable(
    mongo_db: Any, unique: str, stack: LocalStack
) -> None:
    """A failed publish leaves everything unpublished; the relay's loop retries it."""
    topic = f"probe.{unique}"
    probe, _ = probe_event(topic)
    await create_topics(stack.cfg.kafka_bootstrap, topic)
    store = EventStore(mongo_db, "probes", source="/wushe/test")
    await append_probes(store, probe, 5)
    broker = bus.create_broker(stack.cfg.kafka_bootstrap, client_id="t")
    attempts = 0

    async def flaky_publish(envs: Any) -> None:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            raise ConnectionError("broker unreachable")
        await bus.publish_envelopes(broker, envs)

    await broker.start()
    relay = Relay([store], flaky_publish, sweep_interval_s=0.2)
    relay.start()
    try:
        await wait_for(lambda: _none_waiting(store), what="relay catch-up")
    finally:
        await relay.stop()
        await broker.stop()
    assert len(await read_topic(stack.cfg.kafka_bootstrap, topic, expect=5)) == 5
    assert relay.failures_total == 2


async def _none_waiting(store: EventStore) -> bool:
    return await store.unpublished_count() == 0


# --------------------------------------------------------------------------- consumers


async def _publish_raw(
    stack: LocalStack, topic: str, records: list[tuple[bytes, dict[str, str]]]
) -> None:
    broker = bus.create_broker(stack.cfg.kafka_bootstrap, client_id="t-raw")
    await broker.start()
    try:
        for value, headers in records:
            await broker.publish(value, topic=topic, key=b"k", headers=headers)
    finally:
        await broker.stop()


async def test_consumer_fed_duplicates_applies_each_event_once(
    stack: LocalStack, mongo_db: Any, unique: str
) -> None:
    topic = f"probe.{unique}"
    probe, _ = probe_event(topic)
    await create_topics(stack.cfg.kafka_bootstrap, topic)
    envelopes = [
        Envelope.wrap(probe(n=n), source="/wushe/test", subject=f"s{n % 4}") for n in range(10)
    ]
    # Every event delivered three times, interleaved.
    await publish_all(stack.cfg.kafka_bootstrap, envelopes, times=3)

    group = f"g.{unique}"
    result = run_worker(consumer_cfg(stack, mongo_db, topic, group, expect=10))
    assert result.returncode == 0, result.stderr[-2000:]
    inbox = Inbox(mongo_db, group)
    assert await inbox.collection.count_documents({"consumer": group}) == 10
    # The worker stopped once all 10 were in; consume the rest of the duplicates too.
    await wait_for(
        lambda: _drain(stack, mongo_db, topic, group), timeout_s=60, what="duplicates drained"
    )
    assert await inbox.collection.count_documents({"consumer": group}) == 10


async def _drain(stack: LocalStack, mongo_db: Any, topic: str, group: str) -> bool:
    if await group_lag(stack.cfg.kafka_bootstrap, group, topic) == 0:
        return True
    run_worker(consumer_cfg(stack, mongo_db, topic, group, expect=10, timeout_s=3))
    return await group_lag(stack.cfg.kafka_bootstrap, group, topic) == 0


@pytest.mark.parametrize("kill_when", ["after_write", "before_write"])
async def test_consumer_killed_before_commit_resumes_without_loss(
    stack: LocalStack, mongo_db: Any, unique: str, kill_when: str
) -> None:
    topic = f"probe.{unique}"
    probe, _ = probe_event(topic)
    await create_topics(stack.cfg.kafka_bootstrap, topic, partitions=1)
    envelopes = [Envelope.wrap(probe(n=n), source="/wushe/test", subject="s") for n in range(30)]
    await publish_all(stack.cfg.kafka_bootstrap, envelopes)

    group = f"g.{unique}"
    cfg = consumer_cfg(stack, mongo_db, topic, group, expect=30)
    killed = run_worker({**cfg, "kill_at": 17, "kill_when": kill_when})
    assert killed.returncode == -9, killed.stderr[-2000:]
    inbox = Inbox(mongo_db, group)
    written = await inbox.collection.count_documents({"consumer": group})
    assert written == (17 if kill_when == "after_write" else 16)
    lag_after_crash = await group_lag(stack.cfg.kafka_bootstrap, group, topic)
    assert lag_after_crash >= 30 - 16  # the 17th delivery was never committed

    resumed = run_worker(cfg)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    docs = [d async for d in inbox.collection.find({"consumer": group})]
    assert sorted(d["n"] for d in docs) == list(range(30))  # nothing lost, nothing twice
    await wait_for(lambda: _lag_is(stack, group, topic, 0), what="consumer lag 0")


async def test_poison_messages_go_to_the_dlq_and_the_consumer_moves_on(
    stack: LocalStack, mongo_db: Any, unique: str
) -> None:
    topic = f"probe.{unique}"
    probe, registry = probe_event(topic)
    await create_topics(stack.cfg.kafka_bootstrap, topic, f"{topic}.dlq", partitions=1)
    ce = {
        "ce_id": "x",
        "ce_source": "/t",
        "ce_specversion": "1.0",
        "ce_subject": "s",
        "content-type": "application/json",
    }
    good = Envelope.wrap(probe(n=7), source="/wushe/test", subject="s")
    fails = Envelope.wrap(probe(n=13), source="/wushe/test", subject="s")  # handler rejects
    await _publish_raw(
        stack,
        topic,
        [
            (b"\x00\xffgarbage", {}),
            (b"{not json", {**ce, "ce_id": "bad-json", "ce_type": "testing.ProbeRecorded.v1"}),
            (
                b'{"n": "seven"}',
                {**ce, "ce_id": "bad-schema", "ce_type": "testing.ProbeRecorded.v1"},
            ),
            (b'{"n": 1}', {**ce, "ce_id": "unknown", "ce_type": "testing.Unknown.v1"}),
            (fails.body(), fails.headers()),
            (good.body(), good.headers()),
        ],
    )

    inbox = Inbox(mongo_db, f"g.{unique}")
    calls: dict[int, int] = {}

    async def handle(event: Any, envelope: Envelope, delivery: bus.Delivery) -> None:
        calls[event.n] = calls.get(event.n, 0) + 1
        if event.n == 13:
            raise ValueError("station 13 is unknown to this service")
        await inbox.record_once(envelope.id, {"n": event.n})

    group = f"g.{unique}"
    broker = bus.create_broker(stack.cfg.kafka_bootstrap, client_id="t-poison")
    bus.subscribe(
        broker,
        topic,
        group_id=group,
        handler=handle,
        registry=registry,
        retries=bus.Retries(max_attempts=3, retry_backoff_s=0.05),
    )
    await broker.start()
    try:
        await wait_for(lambda: _lag_is(stack, group, topic, 0), what="consumer lag 0")
    finally:
        await broker.stop()

    assert calls == {13: 3, 7: 1}  # bounded attempts, no hot loop; the good one applied
    assert await inbox.seen(good.id)
    dlq = await read_topic(stack.cfg.kafka_bootstrap, f"{topic}.dlq", expect=5)
    assert len(dlq) == 5
    by_offset = {int(headers_of(r)["dlq_origin_offset"]): headers_of(r) for r in dlq}
    assert sorted(by_offset) == [0, 1, 2, 3, 4]
    for h in by_offset.values():
        assert h["dlq_origin_topic"] == topic
        assert h["dlq_origin_partition"] == "0"
        assert h["dlq_consumer_group"] == group
    assert "missing ce_id" in by_offset[0]["dlq_error"]
    assert "not JSON" in by_offset[1]["dlq_error"]
    assert "testing.ProbeRecorded.v1 is invalid: n:" in by_offset[2]["dlq_error"]
    assert "unknown event type" in by_offset[3]["dlq_error"]
    assert by_offset[4]["dlq_attempts"] == "3"
    assert "unknown to this service" in by_offset[4]["dlq_error"]
    assert min(dlq, key=lambda r: r.offset).value == b"\x00\xffgarbage"


SLOW_S = 8.0  # the handler's time on a slow record...
POLL_INTERVAL_MS = 5_000  # ...longer than the consumer's max.poll.interval.ms


@pytest.mark.parametrize("shape", ["one_by_one", "batch"])
async def test_handler_slower_than_the_poll_interval_is_not_redelivered(
    stack: LocalStack, unique: str, shape: str
) -> None:
    """Past max.poll.interval.ms aiokafka leaves the group; the slow handler's commit is then
    refused and its record redelivered to the same slow handler, over and over. The
    consumer must stay in the group instead: every record handled once, lag back to 0."""
    topic = f"probe.{unique}"
    probe, registry = probe_event(topic)
    await create_topics(stack.cfg.kafka_bootstrap, topic, partitions=1)
    deliveries: Counter[int] = Counter()

    async def slowly(n: int) -> None:
        deliveries[n] += 1
        if n in (0, 1):
            await asyncio.sleep(SLOW_S)

    async def handle(event: Any, envelope: Envelope, delivery: bus.Delivery) -> None:
        await slowly(event.n)

    async def handle_batch(items: list[tuple[Any, Envelope, bus.Delivery]]) -> None:
        for event, _, _ in items:
            await slowly(event.n)

    group = f"g.{unique}"
    common: dict[str, Any] = {
        "group_id": group,
        "registry": registry,
        "max_poll_interval_ms": POLL_INTERVAL_MS,
    }
    replicas = [
        bus.create_broker(stack.cfg.kafka_bootstrap, client_id=f"t-slow-{i}") for i in range(2)
    ]
    for broker in replicas:
        if shape == "batch":
            bus.subscribe_batch(broker, topic, handler=handle_batch, max_records=2, **common)
        else:
            bus.subscribe(broker, topic, handler=handle, **common)
    try:
        await asyncio.gather(*(broker.start() for broker in replicas))
        # Records only once both replicas are members: a replica joining later moves the
        # partition mid-record, and that redelivery would be right (at least once).
        await wait_for(
            lambda: _members_are(stack, group, 2), timeout_s=60, what="both replicas joined"
        )
        await asyncio.sleep(1)  # the join's assignment reaches both
        await publish_all(
            stack.cfg.kafka_bootstrap,
            [Envelope.wrap(probe(n=n), source="/wushe/test", subject="s") for n in range(4)],
        )
        await wait_for(lambda: _lag_is(stack, group, topic, 0), timeout_s=60, what="consumer lag 0")
        await asyncio.sleep(POLL_INTERVAL_MS / 1000 + 1)  # a redelivery would come by now
    finally:
        for broker in replicas:
            await broker.stop()
    assert deliveries == {0: 1, 1: 1, 2: 1, 3: 1}


async def _members_are(stack: LocalStack, group: str, n: int) -> bool:
    return await group_size(stack.cfg.kafka_bootstrap, group) == n


async def test_fast_path_publishes_another_replicas_predecessor_first(
    stack: LocalStack, mongo_db: Any, unique: str
) -> None:
    """Replica A commits v1 and dies before its relay runs; replica B commits v2 and announces
    only v2. B's relay must publish v1 before v2 (order per aggregate), reading v1 by _id."""
    topic = f"probe.{unique}"
    probe, _ = probe_event(topic)
    await create_topics(stack.cfg.kafka_bootstrap, topic)
    replica_a = EventStore(mongo_db, "probes", source="/wushe/test")  # no relay: it died
    broker = bus.create_broker(stack.cfg.kafka_bootstrap, client_id="t-fast")
    await broker.start()
    relay = Relay([], lambda envs: bus.publish_envelopes(broker, envs))
    replica_b = EventStore(mongo_db, "probes", source="/wushe/test", relay=relay)
    try:
        await replica_a.append("s", 0, [probe(n=1)], {"n": 1})
        await replica_b.append("s", 1, [probe(n=2)], {"n": 2})
        assert await relay.publish_announced() == 2
    finally:
        await broker.stop()
    records = await read_topic(stack.cfg.kafka_bootstrap, topic, expect=2)
    assert [json.loads(r.value)["n"] for r in records] == [1, 2]
    assert await store_unpublished(replica_b) == 0


async def test_commit_announced_while_a_sweep_scanned_is_published_once(
    stack: LocalStack, mongo_db: Any, unique: str
) -> None:
    """Commits land while the sweep scans: the scan finds them and their announcements
    reach the relay too, during the sweep or just after it. The sweep publishes them; the
    fast path must not publish them a second time."""
    topic = f"probe.{unique}"
    probe, _ = probe_event(topic)
    await create_topics(stack.cfg.kafka_bootstrap, topic)
    announcements: list[Any] = []
    store = EventStore(
        mongo_db,
        "probes",
        source="/wushe/test",
        on_commit=lambda s, doc: announcements.append(doc),
    )
    broker = bus.create_broker(stack.cfg.kafka_bootstrap, client_id="t-sweep-race")
    await broker.start()
    relay = Relay([store], lambda envs: bus.publish_envelopes(broker, envs))
    scan = store.unpublished

    async def scan_then_announce_one(limit: int) -> list[Any]:
        found = await scan(limit)
        relay.notify(store, announcements[0])  # arrives while the sweep is still running
        return found

    try:
        await store.append("during", 0, [probe(n=1)], {"n": 1})
        store.unpublished = scan_then_announce_one  # type: ignore[method-assign]
        # A sweep publishes up to 100,000 commits, more than the relay remembers of its own
        # publishing: this one must hold without that memory.
        relay.recent_kept = 0
        assert await relay.publish_pending() == 1  # the sweep's scan saw the commit
        assert await relay.publish_announced() == 0
        relay.recent_kept = 10_000
        store.unpublished = scan  # type: ignore[method-assign]
        await store.append("after", 0, [probe(n=2)], {"n": 2})
        assert await relay.publish_pending() == 1
        relay.notify(store, announcements[1])  # arrives once the sweep is done
        assert await relay.publish_announced() == 0
        await store.append("after", 1, [probe(n=3)], {"n": 3})
        relay.notify(store, announcements[-1])
        assert await relay.publish_announced() == 1  # the fast path still publishes
    finally:
        await broker.stop()
    records = await read_topic(stack.cfg.kafka_bootstrap, topic, expect=3)
    assert sorted(json.loads(r.value)["n"] for r in records) == [1, 2, 3]


async def store_unpublished(store: EventStore) -> int:
    return await store.unpublished_count()


async def test_append_many_reports_each_conflict_in_place(mongo_db: Any, unique: str) -> None:
    probe, _ = probe_event(f"t.{unique}")
    store = EventStore(mongo_db, "things", source="/wushe/test")
    await store.append("b", 0, [probe(n=0)], {"v": 0})
    results = await store.append_many(
        [
            NewCommit("a", 0, [probe(n=1)], {"v": 1}),
            NewCommit("b", 0, [probe(n=2)], {"v": 2}),  # b is already at version 1
            NewCommit("a", 1, [probe(n=3)], {"v": 3}),
        ]
    )
    assert isinstance(results[1], ConcurrencyError)
    assert [r.version for r in (results[0], results[2])] == [1, 2]  # type: ignore[union-attr]
    assert (await store.load("a")).state == {"v": 3}
    assert (await store.load("b")).state == {"v": 0}
    assert (await store.current.find_one({"_id": "a"}))["_v"] == 2


async def test_relay_reports_the_age_of_its_oldest_waiting_commit(
    mongo_db: Any, unique: str
) -> None:
    from datetime import UTC, datetime, timedelta

    probe, _ = probe_event(f"t.{unique}")
    store = EventStore(mongo_db, "things", source="/wushe/test")
    relay = Relay([store], publish=_never)
    assert await relay.oldest_unpublished_age_s() == 0.0
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    await store.append("old", 0, [probe(n=1)], {"v": 1}, now=hour_ago)
    await store.append("new", 0, [probe(n=2)], {"v": 2})
    assert 3590 < await relay.oldest_unpublished_age_s() < 3700
    # The running relay keeps the figure for its gauge, also while publishing fails.
    relay.sweep_interval_s = 0.1
    relay.start()
    try:
        await wait_for(lambda: _age_over(relay, 3590), timeout_s=10, what="backlog gauge")
    finally:
        await relay.stop()


async def _age_over(relay: Relay, seconds: float) -> bool:
    return relay.oldest_waiting_s > seconds


async def _never(_: Any) -> None:
    raise ConnectionError("the broker is unreachable")


@pytest.mark.parametrize("shape", ["one_by_one", "batch"])
async def test_a_header_that_is_not_utf8_goes_to_the_dlq(
    stack: LocalStack, unique: str, shape: str
) -> None:
    """Kafka header values are bytes: one that is not UTF-8 must reach our parser (and the
    DLQ with its reason), not fail in the framework's, which would skip the record unseen."""
    from aiokafka import AIOKafkaProducer

    topic = f"probe.{unique}"
    probe, registry = probe_event(topic)
    await create_topics(stack.cfg.kafka_bootstrap, topic, f"{topic}.dlq", partitions=1)
    good = Envelope.wrap(probe(n=7), source="/wushe/test", subject="s")
    bad = [(k, v.encode()) for k, v in good.headers().items()]
    bad = [(k, b"\xff\xfe" if k == "ce_subject" else v) for k, v in bad]
    producer = AIOKafkaProducer(bootstrap_servers=stack.cfg.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, good.body(), key=b"s", headers=bad)
        headers = [(k, v.encode()) for k, v in good.headers().items()]
        await producer.send_and_wait(topic, good.body(), key=b"s", headers=headers)
    finally:
        await producer.stop()

    seen: list[int] = []

    async def one(event: Any, envelope: Envelope, delivery: bus.Delivery) -> None:
        seen.append(delivery.offset)

    async def many(batch: list[tuple[Any, Envelope, bus.Delivery]]) -> None:
        seen.extend(d.offset for _, _, d in batch)

    group = f"g.{unique}"
    broker = bus.create_broker(stack.cfg.kafka_bootstrap, client_id="t-header")
    if shape == "batch":
        bus.subscribe_batch(broker, topic, group_id=group, handler=many, registry=registry)
    else:
        bus.subscribe(broker, topic, group_id=group, handler=one, registry=registry)
    await broker.start()
    try:
        await wait_for(lambda: _lag_is(stack, group, topic, 0), what="consumer lag 0")
    finally:
        await broker.stop()
    assert seen == [1]
    dlq = await read_topic(stack.cfg.kafka_bootstrap, f"{topic}.dlq", expect=1)
    assert len(dlq) == 1
    h = headers_of(dlq[0])
    assert h["dlq_origin_offset"] == "0"
    assert "not UTF-8" in h["dlq_error"]
